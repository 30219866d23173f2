package resolve

import (
	"fmt"
	"sort"
	"strings"
)

// FieldError is one problem found while resolving, located as precisely as
// possible: the object, the step and its Function, the field path and the
// variable, so that the user knows exactly what to change.
type FieldError struct {
	Object     string // e.g. `task "pg-backup"` or `BackupConfiguration "demo/daily"`
	Step       int    // index in spec.steps, or -1 when the problem is not in a step
	Function   string // the step's Function
	Field      string // e.g. spec.args[4]
	Variable   string // the variable concerned, if any
	Suggestion string // a close known name, for "did you mean"
	Err        error
}

func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.Object)
	if e.Step >= 0 {
		fmt.Fprintf(&b, " step %d", e.Step)
		if e.Function != "" {
			fmt.Fprintf(&b, " (function %q)", e.Function)
		}
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	if e.Suggestion != "" {
		fmt.Fprintf(&b, " (did you mean %s?)", e.Suggestion)
	}
	return b.String()
}

func (e *FieldError) Unwrap() error { return e.Err }

// NotFoundError says that a named object the resolution needs does not exist.
type NotFoundError struct {
	Kind string // Task, Function, Repository, BackupConfiguration, ...
	Name string
}

func (e *NotFoundError) Error() string { return fmt.Sprintf("%s %q not found", e.Kind, e.Name) }

// Errors is every problem of one resolution, in the order found.
type Errors []error

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Unwrap lets errors.Is and errors.As look at each problem.
func (es Errors) Unwrap() []error { return es }

// closest returns the candidate nearest to name (ignoring case), if it is near
// enough to be a plausible typo.
func closest(name string, candidates []string) string {
	best, bestDist := "", -1
	lname := strings.ToLower(name)
	sorted := append([]string(nil), candidates...)
	sort.Strings(sorted) // deterministic among equal distances
	for _, c := range sorted {
		if c == name {
			continue
		}
		d := levenshtein(lname, strings.ToLower(c))
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	limit := len(name) / 3
	if limit < 2 {
		limit = 2
	}
	if bestDist < 0 || bestDist > limit {
		return ""
	}
	return best
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
