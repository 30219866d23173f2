// Package naming builds Kubernetes names and label values of at most 63
// characters. Every object the operator names goes through Join, so that a
// long invoker name can never break an object (Stash #924, #1012).
package naming

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
)

// MaxLength is the limit of a DNS-1123 label, a label value and a container name.
const MaxLength = 63

// hashLength hex characters of sha256 keep shortened names unique in practice.
const hashLength = 8

// Join joins parts with "-". When the result is longer than MaxLength it is
// cut and ends in "-" plus a hash of the whole, so two long names that share a
// prefix still differ, and the same input always gives the same name.
func Join(parts ...string) string {
	name := strings.Join(parts, "-")
	if len(name) <= MaxLength {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	suffix := hex.EncodeToString(sum[:])[:hashLength]
	head := strings.TrimRight(name[:MaxLength-hashLength-1], "-.")
	return head + "-" + suffix
}

// DNSLabel replaces the dots of an object name (allowed in DNS-1123
// subdomains, not in labels or container names) with dashes.
func DNSLabel(name string) string { return strings.ReplaceAll(name, ".", "-") }

// SessionName is the name of the BackupSession of the tick at t:
// <invoker>-<unix seconds>. The same tick always gives the same name, so
// creating it twice is harmless (AlreadyExists).
func SessionName(invoker string, t interface{ Unix() int64 }) string {
	return Join(invoker, strconv.FormatInt(t.Unix(), 10))
}
