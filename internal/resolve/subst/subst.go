// Package subst expands the ${VARIABLE} expressions that Tasks and Functions
// use, with the semantics of gomodules.xyz/envsubst v0.1.0 as Stash uses it
// (see reference §3.2), minus a few behaviours that hurt users:
//
//   - Defaults and operator arguments are expanded lazily, only when they are
//     used. Stash expanded them before looking the variable up, so
//     ${A:=${B}} failed whenever B was unset even though A had a value.
//   - A "$$" that does not start "$${" is kept as "$$". Stash collapsed it to
//     "$", which broke the shell's $$ (PID) in container args.
//   - Backslashes are ordinary characters. Stash collapsed "\\" because it
//     substituted into serialized JSON; we substitute into single string
//     fields, so there is nothing to escape.
//   - Values are inserted verbatim and never rescanned, so a value cannot
//     smuggle in further expressions, quotes or arguments.
//   - ${VAR:?message} is an addition; ${VAR-d}, ${VAR+d} and ${VAR:+d} are
//     rejected outright instead of behaving unlike bash.
//
// Only "${" opens an expression: $VAR is left alone and so is $(VAR), which
// Kubernetes expands itself.
package subst

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Lookup reports a variable's value and whether it is present (present-but-empty is present).
type Lookup func(name string) (value string, ok bool)

// SyntaxError reports a malformed expression. Offset is a byte offset into Input.
type SyntaxError struct {
	Input  string
	Offset int
	Reason string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("bad substitution at offset %d in %q: %s", e.Offset, e.Input, e.Reason)
}

// UnresolvedError reports a variable that is absent and has no default.
type UnresolvedError struct {
	Variable string
}

func (e *UnresolvedError) Error() string {
	return "variable ${" + e.Variable + "} has no value and no default"
}

// RequiredError reports an absent variable written as ${VAR:?message}.
// Message is the expanded message as written, possibly empty.
type RequiredError struct {
	Variable, Message string
}

func (e *RequiredError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = "is required"
	}
	return "variable ${" + e.Variable + "}: " + msg
}

// Eval substitutes every ${...} expression in s. On failure it returns a non-nil error:
// either a *SyntaxError (malformed expression; substitution stops), or an error joining
// (errors.Join semantics, i.e. Unwrap() []error) one *UnresolvedError / *RequiredError per
// problem found in s — report ALL unresolved variables in the string, not just the first.
//
// The same problem (same kind, variable and message) is reported once even if
// s repeats it. A nil lookup treats every variable as absent.
func Eval(s string, lookup Lookup) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	if lookup == nil {
		lookup = func(string) (string, bool) { return "", false }
	}
	p := parser{in: s, lookup: lookup}
	out, err := p.word(false, false, true)
	if err != nil {
		return "", err
	}
	if len(p.errs) > 0 {
		return "", errors.Join(p.errs...)
	}
	return out, nil
}

// References returns the names of all variables referenced in s (in order, deduplicated),
// including those inside default values; a syntax error is returned as *SyntaxError.
func References(s string) ([]string, error) {
	if !strings.Contains(s, "${") {
		return nil, nil
	}
	p := parser{in: s, collect: true}
	if _, err := p.word(false, false, false); err != nil {
		return nil, err
	}
	return p.refs, nil
}

// parser is a single-pass recursive-descent scanner that expands as it parses.
// Every part of the input is parsed, even branches that are not expanded, so
// a syntax error is reported whatever the variables hold.
type parser struct {
	in      string
	pos     int
	lookup  Lookup
	collect bool // References mode: record names, look nothing up
	refs    []string
	errs    []error
}

// word scans literal text and nested expressions and, when eval is set,
// returns their expansion. At top level only the end of input stops it;
// inside an expression (nested) a '}' at brace depth 0 stops it, and so does
// a '/' when slash is set. Plain braces are counted so that a default such as
// ${A:={}} or ${A:={"k":1}} means what it looks like.
func (p *parser) word(nested, slash, eval bool) (string, error) {
	in := p.in
	start, lit := p.pos, p.pos
	var b strings.Builder
	built := false // b holds the expansion of in[start:lit]
	flush := func(end int) {
		if !built {
			if !nested {
				b.Grow(len(in) + 16)
			}
			built = true
		}
		b.WriteString(in[lit:end])
	}
	depth := 0
scan:
	for p.pos < len(in) {
		c := in[p.pos]
		if c == '$' && p.pos+1 < len(in) {
			switch in[p.pos+1] {
			case '{':
				if eval {
					flush(p.pos)
				}
				v, err := p.expr(eval)
				if err != nil {
					return "", err
				}
				if eval {
					b.WriteString(v)
				}
				lit = p.pos
				continue
			case '$':
				if p.pos+2 < len(in) && in[p.pos+2] == '{' {
					// "$${" is an escaped "${": drop one '$' and keep
					// the brace, which still pairs with a later '}'.
					if eval {
						flush(p.pos)
					}
					lit = p.pos + 1
					p.pos += 3
					if nested {
						depth++
					}
					continue
				}
				// Consumed as a pair so that "$$${X}" is the shell's
				// "$$" followed by an expression.
				p.pos += 2
				continue
			}
		}
		if nested {
			switch c {
			case '{':
				depth++
			case '}':
				if depth == 0 {
					break scan
				}
				depth--
			case '/':
				if slash && depth == 0 {
					break scan
				}
			}
		}
		p.pos++
	}
	if !eval {
		return "", nil
	}
	if !built {
		return in[start:p.pos], nil
	}
	flush(p.pos)
	return b.String(), nil
}

// expr parses one expression starting at "${" and returns its expansion
// (meaningful only when eval is set).
func (p *parser) expr(eval bool) (string, error) {
	start := p.pos
	p.pos += 2
	if p.pos < len(p.in) && p.in[p.pos] == '#' {
		p.pos++
		name, err := p.name(start)
		if err != nil {
			return "", err
		}
		if err := p.close(start, "the length form ${#"+name+"} takes no operator"); err != nil {
			return "", err
		}
		v, ok := p.get(name, eval)
		if !ok {
			return "", nil
		}
		return strconv.Itoa(utf8.RuneCountInString(v)), nil
	}

	name, err := p.name(start)
	if err != nil {
		return "", err
	}
	var val string
	var ok bool
	if eval {
		val, ok = p.lookup(name)
	}
	if p.pos >= len(p.in) {
		return "", p.unterminated(start)
	}
	switch p.in[p.pos] {
	case '}':
		p.pos++
		if eval && !ok {
			p.report(&UnresolvedError{Variable: name})
		}
		return val, nil
	case '=':
		p.pos++
		return p.fallback(start, val, ok, eval)
	case '-', '+':
		return "", p.unsupported(p.in[p.pos:p.pos+1], name)
	case '?':
		return "", p.errAt(p.pos, "operator \"?\" is not supported (use ${"+name+":?message} to require a value)")
	case ':':
		return p.colon(start, name, val, ok, eval)
	case '^', ',':
		return p.caseOp(start, name, val, ok, eval)
	case '#', '%':
		return p.trim(start, name, val, ok, eval)
	case '/':
		return p.replace(start, name, val, ok, eval)
	}
	r, _ := utf8.DecodeRuneInString(p.in[p.pos:])
	return "", p.errAt(p.pos, fmt.Sprintf("unexpected %q after variable name %q", r, name))
}

// colon handles every operator that starts with ':'.
func (p *parser) colon(start int, name, val string, ok, eval bool) (string, error) {
	p.pos++
	if p.pos >= len(p.in) {
		return "", p.unterminated(start)
	}
	switch c := p.in[p.pos]; {
	case c == '=' || c == '-':
		p.pos++
		return p.fallback(start, val, ok, eval)
	case c == '?':
		p.pos++
		// Like a default, the message is expanded only when it is shown.
		msg, err := p.word(true, false, eval && !ok)
		if err != nil {
			return "", err
		}
		if err := p.close(start, ""); err != nil {
			return "", err
		}
		if eval && !ok {
			p.report(&RequiredError{Variable: name, Message: msg})
		}
		return val, nil
	case c == '+':
		return "", p.unsupported(":+", name)
	case isDigit(c):
		return p.substring(start, name, val, ok, eval)
	case c == ' ' || c == '(':
		if rest := strings.TrimLeft(p.in[p.pos:], " ("); strings.HasPrefix(rest, "-") {
			return "", p.errAt(p.pos, "negative substring offsets are not supported")
		}
	case c == '}':
		return "", p.errAt(p.pos, "missing substring offset after ':'")
	}
	r, _ := utf8.DecodeRuneInString(p.in[p.pos:])
	return "", p.errAt(p.pos, fmt.Sprintf("unexpected %q after \"${%s:\": expected an operator or a substring offset", r, name))
}

// fallback handles ${VAR:=d}, ${VAR=d} and ${VAR:-d}. As in Stash, a present
// but empty variable wins over the default (unlike bash's ':=' and ':-').
func (p *parser) fallback(start int, val string, ok, eval bool) (string, error) {
	// Lazy on purpose: the default is expanded only when it is used, so an
	// unset variable inside an unused default is not an error (Stash
	// expanded it eagerly and failed).
	d, err := p.word(true, false, eval && !ok)
	if err != nil {
		return "", err
	}
	if err := p.close(start, ""); err != nil {
		return "", err
	}
	if ok {
		return val, nil
	}
	return d, nil
}

func (p *parser) caseOp(start int, name, val string, ok, eval bool) (string, error) {
	op := p.in[p.pos]
	p.pos++
	all := p.pos < len(p.in) && p.in[p.pos] == op
	if all {
		p.pos++
	}
	if err := p.close(start, "case modification patterns are not supported"); err != nil {
		return "", err
	}
	if !eval {
		return "", nil
	}
	if !ok {
		p.report(&UnresolvedError{Variable: name})
		return "", nil
	}
	conv, convRune := strings.ToUpper, unicode.ToUpper
	if op == ',' {
		conv, convRune = strings.ToLower, unicode.ToLower
	}
	if all {
		return conv(val), nil
	}
	r, n := utf8.DecodeRuneInString(val)
	if n == 0 || (r == utf8.RuneError && n == 1) || convRune(r) == r {
		return val, nil
	}
	return string(convRune(r)) + val[n:], nil
}

// substring handles ${VAR:pos} and ${VAR:pos:len}, counting runes and
// clamping out-of-range values as bash does.
func (p *parser) substring(start int, name, val string, ok, eval bool) (string, error) {
	off := p.number()
	n, hasLen := 0, false
	if p.pos < len(p.in) && p.in[p.pos] == ':' {
		p.pos++
		if p.pos < len(p.in) && !isDigit(p.in[p.pos]) {
			if strings.HasPrefix(strings.TrimLeft(p.in[p.pos:], " ("), "-") {
				return "", p.errAt(p.pos, "negative substring lengths are not supported")
			}
			return "", p.errAt(p.pos, "substring length must be a decimal integer")
		}
		n, hasLen = p.number(), true
	}
	if err := p.close(start, "substring offset and length must be decimal integers"); err != nil {
		return "", err
	}
	if !eval {
		return "", nil
	}
	if !ok {
		p.report(&UnresolvedError{Variable: name})
		return "", nil
	}
	i := runeOffset(val, off)
	if !hasLen {
		return val[i:], nil
	}
	return val[i : i+runeOffset(val[i:], n)], nil
}

// trim handles ${VAR#pat}, ${VAR##pat}, ${VAR%pat} and ${VAR%%pat}.
func (p *parser) trim(start int, name, val string, ok, eval bool) (string, error) {
	op := p.in[p.pos]
	p.pos++
	longest := p.pos < len(p.in) && p.in[p.pos] == op
	if longest {
		p.pos++
	}
	pat, err := p.word(true, false, eval && ok)
	if err != nil {
		return "", err
	}
	if err := p.close(start, ""); err != nil {
		return "", err
	}
	if !eval {
		return "", nil
	}
	if !ok {
		p.report(&UnresolvedError{Variable: name})
		return "", nil
	}
	if op == '#' {
		return trimPrefix(val, pat, longest), nil
	}
	return trimSuffix(val, pat, longest), nil
}

// replace handles ${VAR/a/b}, ${VAR//a/b}, ${VAR/#a/b} and ${VAR/%a/b}.
// Patterns are literal strings, not globs.
func (p *parser) replace(start int, name, val string, ok, eval bool) (string, error) {
	p.pos++
	var mode byte
	if p.pos < len(p.in) {
		switch c := p.in[p.pos]; c {
		case '/', '#', '%':
			mode = c
			p.pos++
		}
	}
	use := eval && ok
	old, err := p.word(true, true, use)
	if err != nil {
		return "", err
	}
	var repl string
	if p.pos < len(p.in) && p.in[p.pos] == '/' {
		p.pos++
		if repl, err = p.word(true, false, use); err != nil {
			return "", err
		}
	}
	if err := p.close(start, ""); err != nil {
		return "", err
	}
	if !eval {
		return "", nil
	}
	if !ok {
		p.report(&UnresolvedError{Variable: name})
		return "", nil
	}
	switch mode {
	case '#':
		// An empty pattern matches at the start, so ${V/#/x} prepends x as in bash.
		if strings.HasPrefix(val, old) {
			return repl + val[len(old):], nil
		}
	case '%':
		if strings.HasSuffix(val, old) {
			return val[:len(val)-len(old)] + repl, nil
		}
	case '/':
		if old != "" {
			return strings.ReplaceAll(val, old, repl), nil
		}
	default:
		if old != "" {
			return strings.Replace(val, old, repl, 1), nil
		}
	}
	return val, nil
}

// name parses a variable name at p.pos.
func (p *parser) name(start int) (string, error) {
	i := p.pos
	if i >= len(p.in) {
		return "", p.unterminated(start)
	}
	if !isNameStart(p.in[i]) {
		if p.in[i] == '}' {
			return "", p.errAt(i, "missing variable name")
		}
		r, _ := utf8.DecodeRuneInString(p.in[i:])
		return "", p.errAt(i, fmt.Sprintf("invalid character %q at the start of a variable name", r))
	}
	for i < len(p.in) && isNameChar(p.in[i]) {
		i++
	}
	name := p.in[p.pos:i]
	p.pos = i
	if p.collect {
		p.addRef(name)
	}
	return name, nil
}

// get looks name up when eval is set and reports it if absent.
func (p *parser) get(name string, eval bool) (string, bool) {
	if !eval {
		return "", false
	}
	v, ok := p.lookup(name)
	if !ok {
		p.report(&UnresolvedError{Variable: name})
	}
	return v, ok
}

// close consumes the '}' that ends the expression opened at start. reason
// explains a stray character; an empty reason means the caller's scan can
// stop only at '}' or the end of input.
func (p *parser) close(start int, reason string) error {
	if p.pos >= len(p.in) {
		return p.unterminated(start)
	}
	if p.in[p.pos] != '}' {
		if reason == "" {
			reason = "expected '}'"
		}
		return p.errAt(p.pos, reason)
	}
	p.pos++
	return nil
}

// number parses a decimal integer, saturating so that huge offsets clamp
// like any other out-of-range offset.
func (p *parser) number() int {
	const limit = 1 << 30
	n := 0
	for p.pos < len(p.in) && isDigit(p.in[p.pos]) {
		if n > limit/10 {
			n = limit
		} else {
			n = n*10 + int(p.in[p.pos]-'0')
		}
		p.pos++
	}
	return n
}

func (p *parser) unsupported(op, name string) error {
	return p.errAt(p.pos, fmt.Sprintf("operator %q is not supported (use ${%s:=default} for a default value)", op, name))
}

func (p *parser) unterminated(start int) error {
	return p.errAt(start, "unterminated expression, missing '}'")
}

func (p *parser) errAt(off int, reason string) error {
	return &SyntaxError{Input: p.in, Offset: off, Reason: reason}
}

// report records a resolution problem once, however often s repeats it.
func (p *parser) report(err error) {
	for _, e := range p.errs {
		if sameProblem(e, err) {
			return
		}
	}
	p.errs = append(p.errs, err)
}

func sameProblem(a, b error) bool {
	switch a := a.(type) {
	case *UnresolvedError:
		b, ok := b.(*UnresolvedError)
		return ok && *a == *b
	case *RequiredError:
		b, ok := b.(*RequiredError)
		return ok && *a == *b
	}
	return false
}

func (p *parser) addRef(name string) {
	for _, r := range p.refs {
		if r == name {
			return
		}
	}
	p.refs = append(p.refs, name)
}

// runeOffset returns the byte offset of the n-th rune of s, or len(s).
func runeOffset(s string, n int) int {
	i := 0
	for ; n > 0 && i < len(s); n-- {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return i
}

func isDigit(c byte) bool     { return '0' <= c && c <= '9' }
func isNameStart(c byte) bool { return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isNameChar(c byte) bool  { return isNameStart(c) || isDigit(c) }
