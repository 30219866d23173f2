package subst

import (
	"strings"
	"unicode/utf8"
)

// trimPrefix removes the shortest (or longest) prefix of s that matches the
// shell pattern pat. Cuts fall only on rune boundaries.
func trimPrefix(s, pat string, longest bool) string {
	if !hasMeta(pat) {
		return strings.TrimPrefix(s, pat)
	}
	if longest {
		for i := len(s); ; {
			if match(pat, s[:i]) {
				return s[i:]
			}
			if i == 0 {
				return s
			}
			_, n := utf8.DecodeLastRuneInString(s[:i])
			i -= n
		}
	}
	for i := 0; ; {
		if match(pat, s[:i]) {
			return s[i:]
		}
		if i == len(s) {
			return s
		}
		_, n := utf8.DecodeRuneInString(s[i:])
		i += n
	}
}

// trimSuffix removes the shortest (or longest) suffix of s that matches pat.
func trimSuffix(s, pat string, longest bool) string {
	if !hasMeta(pat) {
		return strings.TrimSuffix(s, pat)
	}
	if longest {
		for i := 0; ; {
			if match(pat, s[i:]) {
				return s[:i]
			}
			if i == len(s) {
				return s
			}
			_, n := utf8.DecodeRuneInString(s[i:])
			i += n
		}
	}
	for i := len(s); ; {
		if match(pat, s[i:]) {
			return s[:i]
		}
		if i == 0 {
			return s
		}
		_, n := utf8.DecodeLastRuneInString(s[:i])
		i -= n
	}
}

func hasMeta(pat string) bool { return strings.ContainsAny(pat, "*?[") }

// match reports whether the whole of s matches the shell pattern pat:
// '*' matches any run of characters ('/' included, unlike path.Match, so
// ${P##*/} works), '?' one character, and [...] a class with ranges and '!'
// or '^' negation. A '[' without a closing ']' is an ordinary character, as
// in the shell. Backslash is an ordinary character, as everywhere in this
// package; write [*] for a literal '*'.
//
// Only the most recent '*' is ever retried, which is enough for globs and
// keeps matching O(len(pat)·len(s)) instead of exponential.
func match(pat, s string) bool {
	px, sx := 0, 0
	starPx, starSx := -1, 0
	for px < len(pat) || sx < len(s) {
		if px < len(pat) {
			switch c := pat[px]; c {
			case '*':
				starPx, starSx = px, sx
				px++
				continue
			case '?':
				if sx < len(s) {
					_, n := utf8.DecodeRuneInString(s[sx:])
					px++
					sx += n
					continue
				}
			case '[':
				if sx < len(s) {
					r, n := utf8.DecodeRuneInString(s[sx:])
					if width, ok := matchClass(pat[px:], r); width > 0 {
						if ok {
							px += width
							sx += n
							continue
						}
						break
					}
				}
				// An unclosed '[' is literal.
				if sx < len(s) && s[sx] == '[' {
					px++
					sx++
					continue
				}
			default:
				if sx < len(s) && s[sx] == c {
					px++
					sx++
					continue
				}
			}
		}
		// Mismatch: let the last '*' swallow one more character.
		if starPx >= 0 && starSx < len(s) {
			_, n := utf8.DecodeRuneInString(s[starSx:])
			starSx += n
			px, sx = starPx+1, starSx
			continue
		}
		return false
	}
	return true
}

// matchClass matches r against the class at the start of pat ("[...]").
// It returns the class's width in bytes, or 0 if the class is not closed.
func matchClass(pat string, r rune) (width int, ok bool) {
	i := 1
	negate := false
	if i < len(pat) && (pat[i] == '!' || pat[i] == '^') {
		negate = true
		i++
	}
	matched := false
	for first := true; i < len(pat); first = false {
		if pat[i] == ']' && !first {
			return i + 1, matched != negate
		}
		lo, n := utf8.DecodeRuneInString(pat[i:])
		i += n
		hi := lo
		// A '-' is a range unless it is last before ']'.
		if i+1 < len(pat) && pat[i] == '-' && pat[i+1] != ']' {
			hi, n = utf8.DecodeRuneInString(pat[i+1:])
			i += 1 + n
		}
		if lo <= r && r <= hi {
			matched = true
		}
	}
	return 0, false
}
