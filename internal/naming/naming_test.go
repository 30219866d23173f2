package naming

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"
)

func TestJoin(t *testing.T) {
	tests := map[string]struct {
		parts      []string
		want       string // exact result, for names that fit
		wantPrefix string // kept head, for shortened names
	}{
		"short stays":      {parts: []string{"stash-backup", "daily-1581836400", "0"}, want: "stash-backup-daily-1581836400-0"},
		"exactly 63 stays": {parts: []string{strings.Repeat("x", 63)}, want: strings.Repeat("x", 63)},
		"long is cut":      {parts: []string{"stash-backup", strings.Repeat("a", 70)}, wantPrefix: "stash-backup-" + strings.Repeat("a", 41)},
		"no dash before the hash": {
			parts:      []string{strings.Repeat("b", 53) + "-", "tail-that-is-long"},
			wantPrefix: strings.Repeat("b", 53),
		},
	}
	shortened := regexp.MustCompile(`^(.*[^-.])-([0-9a-f]{8})$`)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := Join(tc.parts...)
			if len(got) > MaxLength {
				t.Fatalf("Join = %q (%d chars), longer than %d", got, len(got), MaxLength)
			}
			if tc.want != "" {
				if got != tc.want {
					t.Fatalf("Join = %q, want %q", got, tc.want)
				}
				return
			}
			m := shortened.FindStringSubmatch(got)
			if m == nil {
				t.Fatalf("Join = %q, want <head>-<8 hex>", got)
			}
			if m[1] != tc.wantPrefix {
				t.Fatalf("head = %q, want %q", m[1], tc.wantPrefix)
			}
			full := sha256.Sum256([]byte(strings.Join(tc.parts, "-")))
			if m[2] != hex.EncodeToString(full[:])[:8] {
				t.Fatalf("suffix %q is not the hash of the full name", m[2])
			}
		})
	}
}

func TestJoinKeepsLongNamesApart(t *testing.T) {
	a := Join("stash-backup", strings.Repeat("n", 60)+"-1")
	b := Join("stash-backup", strings.Repeat("n", 60)+"-2")
	if a == b {
		t.Fatalf("two different long names shortened to the same %q", a)
	}
	if a != Join("stash-backup", strings.Repeat("n", 60)+"-1") {
		t.Fatal("Join is not deterministic")
	}
}
