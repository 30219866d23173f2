package subst

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode"
)

// fuzzValues is the fixed set a fuzz lookup draws values from; one slot past
// the end means "absent".
var fuzzValues = []string{
	"",
	"a",
	"value",
	`"quoted" \back\slash`,
	"line1\nline2",
	`", "--evil`,
	"${X}",
	"$${Y} $$ $(Z)",
	"Ünïcødé ßtraße αβγ",
	"/usr/local/bin/tool.tar.gz",
	"*?[a-z]",
}

func fuzzLookup(name string) (string, bool) {
	h := uint32(2166136261)
	for i := 0; i < len(name); i++ {
		h = (h ^ uint32(name[i])) * 16777619
	}
	k := int(h % uint32(len(fuzzValues)+1))
	if k == len(fuzzValues) {
		return "", false
	}
	return fuzzValues[k], true
}

func addSeeds(f *testing.F) {
	for _, s := range []string{
		"", "plain", "$", "$$", "$$$", "$$${A}", "$${A}", "$A $(A) ${A}",
		"${", "${}", "${a b}", "${A", "${1}", "${-}", "${é}", "${#}", "${#A}", "${#A:=x}",
		"${A}", "${E}", "${X}", "${X}${Y}${X}",
		"${A:=d}", "${A=d}", "${A:-d}", "${A:=}", "${A:-}", "${A:?msg}", "${A:?}", "${A:?${B}}",
		"${A-d}", "${A+d}", "${A:+d}", "${A?d}",
		"${A^}", "${A^^}", "${A,}", "${A,,}", "${A^x}", "${A^^^}",
		"${A:1}", "${A:1:2}", "${A:0:0}", "${A:99999999999999999999}", "${A: -1}", "${A:(-1)}", "${A:1:-1}", "${A:}", "${A:x}",
		"${A#a}", "${A##*/}", "${A%.*}", "${A%%.*}", "${A#[a-z]}", "${A##[!a]*}", "${A#[}", "${A#?}", "${A#*a*b*c}",
		"${A/a/b}", "${A//a/b}", "${A/#a/b}", "${A/%a/b}", "${A/a}", "${A/#/p}", "${A/%/s}", "${A//}", "${A/}",
		"${A:=${B:=${C}}}", "${A:={}}", `${A:={"k":1}}`, "${A:=$${B}}", "${A/${B}/${C}}", "${A##${B:=*/}}",
		`\\ \${A} \n`, "--bucket=${REPOSITORY_BUCKET:=}", "--prefix=${P:=}/${T:=x}/${B##*-}",
		"Ünï${A^^}cødé", "${GREEK:1:3}", "}{}{${A}}}",
	} {
		f.Add(s)
	}
}

// FuzzEval checks that Eval never panics, agrees with References on syntax
// errors and on the names it looks up, and never produces a rune that is
// neither in the input nor in a value. Case operators and ${#VAR} are the only
// legitimate sources of other runes, so the alphabet also holds the values'
// upper and lower case forms and the decimal digits.
func FuzzEval(f *testing.F) {
	addSeeds(f)
	alphabet := map[rune]bool{}
	for _, v := range fuzzValues {
		for _, r := range v {
			alphabet[r] = true
			alphabet[unicode.ToUpper(r)] = true
			alphabet[unicode.ToLower(r)] = true
		}
	}
	for r := '0'; r <= '9'; r++ {
		alphabet[r] = true
	}
	f.Fuzz(func(t *testing.T, in string) {
		var looked []string
		lookup := func(name string) (string, bool) {
			looked = append(looked, name)
			return fuzzLookup(name)
		}
		out, err := Eval(in, lookup)
		refs, rerr := References(in)

		var se *SyntaxError
		if errors.As(err, &se) != (rerr != nil) {
			t.Fatalf("Eval error %v but References error %v", err, rerr)
		}
		if se != nil {
			if !reflect.DeepEqual(error(se), rerr) {
				t.Fatalf("Eval syntax error %v, References %v", se, rerr)
			}
			if se.Offset < 0 || se.Offset > len(in) {
				t.Fatalf("offset %d out of range for %q", se.Offset, in)
			}
			return
		}
		for _, name := range looked {
			if !contains(refs, name) {
				t.Fatalf("Eval looked up %q, not in References %q", name, refs)
			}
		}
		if err != nil {
			if _, ok := err.(interface{ Unwrap() []error }); !ok {
				t.Fatalf("error %T is not a joined list", err)
			}
			return
		}
		if !strings.Contains(in, "${") && out != in {
			t.Fatalf("Eval(%q) = %q, want it unchanged", in, out)
		}
		for _, r := range out {
			if !alphabet[r] && !strings.ContainsRune(in, r) {
				t.Fatalf("Eval(%q) = %q: rune %q comes from nowhere", in, out, r)
			}
		}
	})
}

// FuzzReferences checks References alone for panics and for well-formed results.
func FuzzReferences(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, in string) {
		refs, err := References(in)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("References error %T, want *SyntaxError", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, r := range refs {
			if seen[r] || !strings.Contains(in, r) {
				t.Fatalf("References(%q) = %q: duplicate or foreign name %q", in, refs, r)
			}
			seen[r] = true
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
