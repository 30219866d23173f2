package process

import (
	"slices"
	"strings"
)

// inherited are the parent's variables a child may see: what a process needs
// to run and reach the network. Everything else, including any credential
// the parent happens to have (AWS_*, RESTIC_*, PGPASSWORD, MYSQL_PWD), is
// left out, so that only what the caller sets decides what a child
// authenticates with.
var inherited = []string{
	"PATH", "HOME", "USER", "LANG", "LC_ALL", "TZ",
	"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
	"SSL_CERT_FILE", "SSL_CERT_DIR", "GOMAXPROCS", "GOMEMLIMIT",
}

// Env is a child's whole environment: the inherited variables of parent (in
// os.Environ's form), and those with one of the prefixes passPrefixes (a
// client's own settings, e.g. "PG" for PGSSLMODE), then set, which wins
// over the parent. set is the only way a secret reaches a child: a caller
// that passes a prefix sets that client's password variable itself.
func Env(parent []string, set map[string]string, passPrefixes ...string) []string {
	var env []string
	for _, kv := range parent {
		k, _, _ := strings.Cut(kv, "=")
		if _, overridden := set[k]; !overridden && (slices.Contains(inherited, k) || hasPrefix(k, passPrefixes)) {
			env = append(env, kv)
		}
	}
	// Sorted, so that the same inputs give the same environment.
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		env = append(env, k+"="+set[k])
	}
	return env
}

func hasPrefix(k string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}
