package subst

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// testEnv holds A (present), E (present but empty) and a few values for the
// operators; anything else (X, Y, MISSING...) is absent.
var testEnv = map[string]string{
	"A":      "a",
	"E":      "",
	"B":      "b",
	"WORD":   "hello World",
	"UNI":    "élan ÿes ñ",
	"GREEK":  "αβγδε",
	"PATH":   "/usr/local/bin/tool.tar.gz",
	"BUCKET": "my-bucket",
	"PAT":    "*.gz",
	"UPPER":  "HELLO World",
	"DOLLAR": "${A}",
}

func testLookup(name string) (string, bool) {
	v, ok := testEnv[name]
	return v, ok
}

func TestEval(t *testing.T) {
	tests := map[string]struct {
		in, want string
	}{
		// Text without expressions.
		"empty":               {"", ""},
		"no dollar":           {"--bucket=plain", "--bucket=plain"},
		"shell var untouched": {"$A and $E", "$A and $E"},
		"k8s var untouched":   {"$(A) $(POD_NAME)", "$(A) $(POD_NAME)"},
		"lone dollar":         {"cost: 5$", "cost: 5$"},
		"dollar before brace": {"$ {A}", "$ {A}"},
		"closing brace alone": {"} {A} {", "} {A} {"},
		"backslashes kept":    {`\\d+ \${A} \n`, `\\d+ \a \n`},

		// ${VAR}
		"plain present":       {"${A}", "a"},
		"plain present empty": {"x${E}y", "xy"},
		"plain in text":       {"--bucket=${BUCKET}/x", "--bucket=my-bucket/x"},
		"adjacent":            {"${A}${B}${A}", "aba"},

		// Defaults: a present value wins even when empty (Stash, not bash).
		":= present":        {"${A:=d}", "a"},
		":= present empty":  {"${E:=d}", ""},
		":= absent":         {"${X:=d}", "d"},
		":= absent empty":   {"${X:=}", ""},
		"= present":         {"${A=d}", "a"},
		"= present empty":   {"${E=d}", ""},
		"= absent":          {"${X=d}", "d"},
		":- present":        {"${A:-d}", "a"},
		":- present empty":  {"${E:-d}", ""},
		":- absent":         {"${X:-d}", "d"},
		":- absent empty":   {"${X:-}", ""},
		"default with ops":  {"${X:=a:b/c#d%e^f,g}", "a:b/c#d%e^f,g"},
		"default braces":    {`${X:={"k":{}}}`, `{"k":{}}`},
		"default spaces":    {"${X:= two words }", " two words "},
		"default digit":     {"${X:-1}", "1"},
		"typical arg":       {"--bucket=${BUCKET:=}", "--bucket=my-bucket"},
		"typical arg empty": {"--bucket=${X:=}", "--bucket="},

		// ${VAR:?msg} when present.
		":? present":       {"${A:?need A}", "a"},
		":? present empty": {"${E:?need E}", ""},

		// Nesting, evaluated lazily.
		"nested absent absent":  {"${X:=${Y:=x}}", "x"},
		"nested absent present": {"${X:=${A:=x}}", "a"},
		"nested present":        {"${A:=${Y:=x}}", "a"},
		"lazy default":          {"${A:=${Y}}", "a"},
		"lazy default deep":     {"${A:=${Y:=${Z}}}", "a"},
		"nested in text":        {"[${X:=<${A}>}]", "[<a>]"},
		"lazy message":          {"${A:?${Y}}", "a"},
		"nested pattern":        {"${PATH##${X:=*/}}", "tool.tar.gz"},
		"nested replacement":    {"${WORD/World/${A}}", "hello a"},

		// Case.
		"^ first upper":        {"${WORD^}", "Hello World"},
		"^^ all upper":         {"${WORD^^}", "HELLO WORLD"},
		", first lower":        {"${UPPER,}", "hELLO World"},
		",, all lower":         {"${UPPER,,}", "hello world"},
		"^ unicode":            {"${UNI^}", "Élan ÿes ñ"},
		"^^ unicode":           {"${UNI^^}", "ÉLAN ŸES Ñ"},
		"case present empty":   {"${E^^}", ""},
		"case already done":    {"${UPPER^}", "HELLO World"},
		",, already done":      {"${A,,}", "a"},
		"^ then text":          {"${A^}-${B^}", "A-B"},
		"length":               {"${#WORD}", "11"},
		"length unicode":       {"${#GREEK}", "5"},
		"length present empty": {"${#E}", "0"},

		// Substring, in runes, clamped.
		"substr pos":             {"${WORD:6}", "World"},
		"substr pos len":         {"${WORD:0:5}", "hello"},
		"substr unicode":         {"${GREEK:1:3}", "βγδ"},
		"substr pos past end":    {"${WORD:99}", ""},
		"substr len past end":    {"${WORD:6:99}", "World"},
		"substr len zero":        {"${WORD:3:0}", ""},
		"substr huge":            {"${WORD:99999999999999999999:1}", ""},
		"substr present empty":   {"${E:1:2}", ""},
		"substr at end":          {"${GREEK:5}", ""},
		"substr leading zeros":   {"${WORD:06:02}", "Wo"},
		"colon dash is default":  {"${A:-1}", "a"},
		"colon dash default abs": {"${X:-1}", "1"},

		// Trims with shell patterns.
		"# shortest prefix":     {"${PATH#*/}", "usr/local/bin/tool.tar.gz"},
		"## longest prefix":     {"${PATH##*/}", "tool.tar.gz"},
		"% shortest suffix":     {"${PATH%.*}", "/usr/local/bin/tool.tar"},
		"%% longest suffix":     {"${PATH%%.*}", "/usr/local/bin/tool"},
		"% dir":                 {"${PATH%/*}", "/usr/local/bin"},
		"# literal":             {"${BUCKET#my-}", "bucket"},
		"% literal no match":    {"${BUCKET%xyz}", "my-bucket"},
		"# no match":            {"${BUCKET#x*}", "my-bucket"},
		"# question mark":       {"${BUCKET#??}", "-bucket"},
		"# class":               {"${BUCKET#[a-m]}", "y-bucket"},
		"# negated class":       {"${BUCKET#[!-]}", "y-bucket"},
		"## negated class star": {"${BUCKET##[!-]*[!t]}", "t"},
		"%% class star":         {"${BUCKET%%[-]*}", "my"},
		"# caret negation":      {"${BUCKET#[^x]}", "y-bucket"},
		"# unclosed bracket":    {"${BUCKET#[my}", "my-bucket"},
		"# empty pattern":       {"${BUCKET#}", "my-bucket"},
		"## star only":          {"${BUCKET##*}", ""},
		"# star only":           {"${BUCKET#*}", "my-bucket"},
		"%% unicode":            {"${GREEK%%γ*}", "αβ"},
		"# unicode question":    {"${GREEK#??}", "γδε"},
		"# pattern from value":  {"${PATH%${PAT}}", "/usr/local/bin/tool.tar"},
		"trim present empty":    {"${E##*}", ""},
		"backslash is literal":  {`${X:=a\}b`, `a\b`},
		"# literal star class":  {"${PAT#[*]}", ".gz"},

		// Replace, literal.
		"/ first":               {"${PATH/o/0}", "/usr/l0cal/bin/tool.tar.gz"},
		"// all":                {"${PATH//o/0}", "/usr/l0cal/bin/t00l.tar.gz"},
		"backslash not escape":  {`${PATH/#\/usr/~}`, "/usr/local/bin/tool.tar.gz"},
		"/# prefix match":       {"${BUCKET/#my/your}", "your-bucket"},
		"/# prefix no match":    {"${BUCKET/#bucket/x}", "my-bucket"},
		"/% suffix":             {"${BUCKET/%bucket/pail}", "my-pail"},
		"/% suffix no match":    {"${BUCKET/%my/x}", "my-bucket"},
		"/ delete":              {"${BUCKET/-}", "mybucket"},
		"// delete all":         {"${PATH//o}", "/usr/lcal/bin/tl.tar.gz"},
		"/ star is literal":     {"${BUCKET/*/x}", "my-bucket"},
		"/ slash in repl":       {"${BUCKET/-/ / }", "my / bucket"},
		"/# empty prepends":     {"${BUCKET/#/s3:}", "s3:my-bucket"},
		"/% empty appends":      {"${BUCKET/%/.tgz}", "my-bucket.tgz"},
		"// empty unchanged":    {"${BUCKET//}", "my-bucket"},
		"/ empty unchanged":     {"${BUCKET/}", "my-bucket"},
		"replace present empty": {"${E//a/b}", ""},
		"replace unicode":       {"${GREEK/γ/-}", "αβ-δε"},

		// Escapes.
		"$${ escape":          {"$${A}", "${A}"},
		"$${ escape absent":   {"$${X}", "${X}"},
		"$$ kept":             {"echo $$", "echo $$"},
		"$$ kept mid":         {"kill -9 $$; echo $$x", "kill -9 $$; echo $$x"},
		"$$ then expr":        {"$$${A}", "$$a"},
		"$$$$ kept":           {"$$$$", "$$$$"},
		"escape in default":   {"${X:=$${Y}}", "${Y}"},
		"escape then expr":    {"$${A}${A}", "${A}a"},
		"value not rescanned": {"${DOLLAR}", "${A}"},
		"value as default":    {"${X:=${DOLLAR}}", "${A}"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Eval(tc.in, testLookup)
			if err != nil {
				t.Fatalf("Eval(%q) error: %v", tc.in, err)
			}
			if got != tc.want {
				t.Errorf("Eval(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestEvalUnresolved(t *testing.T) {
	unresolved := func(v string) error { return &UnresolvedError{Variable: v} }
	required := func(v, msg string) error { return &RequiredError{Variable: v, Message: msg} }
	tests := map[string]struct {
		in   string
		want []error
	}{
		"plain":                   {"${X}", []error{unresolved("X")}},
		"plain in text":           {"--out=${outputDir}/dump", []error{unresolved("outputDir")}},
		"two absent":              {"${X} and ${Y}", []error{unresolved("X"), unresolved("Y")}},
		"absent and present":      {"${A}${X}${B}${Y}${E}", []error{unresolved("X"), unresolved("Y")}},
		"repeated once":           {"${X}${X:?}${X}${X^}", []error{unresolved("X"), required("X", "")}},
		"required":                {"${X:?set X to the bucket}", []error{required("X", "set X to the bucket")}},
		"required empty msg":      {"${X:?}", []error{required("X", "")}},
		"required msg expanded":   {"${X:?need ${A}}", []error{required("X", "need a")}},
		"required msg unresolved": {"${X:?need ${Y}}", []error{unresolved("Y"), required("X", "need ")}},
		"nested default absent":   {"${X:=${Y}}", []error{unresolved("Y")}},
		"nested two deep":         {"${X:=${Y:=${Z}}}-${W}", []error{unresolved("Z"), unresolved("W")}},
		"case ^":                  {"${X^}", []error{unresolved("X")}},
		"case ^^":                 {"${X^^}", []error{unresolved("X")}},
		"case ,":                  {"${X,}", []error{unresolved("X")}},
		"case ,,":                 {"${X,,}", []error{unresolved("X")}},
		"length":                  {"${#X}", []error{unresolved("X")}},
		"substring":               {"${X:1}", []error{unresolved("X")}},
		"substring len":           {"${X:1:2}", []error{unresolved("X")}},
		"trim #":                  {"${X#a}", []error{unresolved("X")}},
		"trim ##":                 {"${X##a}", []error{unresolved("X")}},
		"trim %":                  {"${X%a}", []error{unresolved("X")}},
		"trim %%":                 {"${X%%a}", []error{unresolved("X")}},
		"replace":                 {"${X/a/b}", []error{unresolved("X")}},
		"replace all":             {"${X//a/b}", []error{unresolved("X")}},
		"replace prefix":          {"${X/#a/b}", []error{unresolved("X")}},
		"replace suffix":          {"${X/%a/b}", []error{unresolved("X")}},
		"absent var, lazy args":   {"${X/${Y}/${Z}}", []error{unresolved("X")}},
		"present var, bad args":   {"${A/${Y}/${Z}}", []error{unresolved("Y"), unresolved("Z")}},
		"pattern nested absent":   {"${A#${Y}}", []error{unresolved("Y")}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Eval(tc.in, testLookup)
			if err == nil {
				t.Fatalf("Eval(%q) = %q, want an error", tc.in, got)
			}
			if got != "" {
				t.Errorf("Eval(%q) returned %q with an error, want \"\"", tc.in, got)
			}
			var se *SyntaxError
			if errors.As(err, &se) {
				t.Fatalf("Eval(%q): unexpected syntax error %v", tc.in, err)
			}
			joined, ok := err.(interface{ Unwrap() []error })
			if !ok {
				t.Fatalf("Eval(%q) error %T does not unwrap to a list", tc.in, err)
			}
			if errs := joined.Unwrap(); !reflect.DeepEqual(errs, tc.want) {
				t.Errorf("Eval(%q) errors:\n got %v\nwant %v", tc.in, errs, tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w.Error()) {
					t.Errorf("error text %q lacks %q", err.Error(), w.Error())
				}
			}
		})
	}
}

func TestErrorKindsAndMessages(t *testing.T) {
	_, err := Eval("--out=${outputDir} --in=${inputDir}", testLookup)
	var ue *UnresolvedError
	if !errors.As(err, &ue) || ue.Variable != "outputDir" {
		t.Fatalf("errors.As(*UnresolvedError) = %v, %v", ue, err)
	}
	if got, want := ue.Error(), "variable ${outputDir} has no value and no default"; got != want {
		t.Errorf("UnresolvedError text = %q, want %q", got, want)
	}
	if got, want := err.Error(), "variable ${outputDir} has no value and no default\n"+
		"variable ${inputDir} has no value and no default"; got != want {
		t.Errorf("joined text = %q, want %q", got, want)
	}

	_, err = Eval("${BUCKET_NAME:?must name a bucket}", testLookup)
	var re *RequiredError
	if !errors.As(err, &re) {
		t.Fatalf("errors.As(*RequiredError) failed: %v", err)
	}
	if got, want := re.Error(), "variable ${BUCKET_NAME}: must name a bucket"; got != want {
		t.Errorf("RequiredError text = %q, want %q", got, want)
	}
	_, err = Eval("${BUCKET_NAME:?}", testLookup)
	if !errors.As(err, &re) || re.Error() != "variable ${BUCKET_NAME}: is required" {
		t.Errorf("RequiredError with empty message = %v", err)
	}

	_, err = Eval("--dir=${a b}", testLookup)
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("errors.As(*SyntaxError) failed: %v", err)
	}
	if got, want := se.Error(), `bad substitution at offset 9 in "--dir=${a b}": unexpected ' ' after variable name "a"`; got != want {
		t.Errorf("SyntaxError text = %q, want %q", got, want)
	}
}

func TestEvalSyntaxError(t *testing.T) {
	tests := map[string]struct {
		in     string
		offset int
		reason string // substring of Reason
	}{
		"open only":               {"${", 0, "unterminated"},
		"open at end":             {"abc${", 3, "unterminated"},
		"empty":                   {"x${}", 3, "missing variable name"},
		"space in name":           {"${a b}", 3, `unexpected ' ' after variable name "a"`},
		"unterminated name":       {"${A", 0, "unterminated"},
		"unterminated default":    {"x ${A:=abc", 2, "unterminated"},
		"unterminated nested":     {"${A:=${B}", 0, "unterminated"},
		"unterminated inner":      {"${A:=${B", 5, "unterminated"},
		"unbalanced brace arg":    {"${X:={}", 0, "unterminated"},
		"digit first":             {"${1}", 2, "invalid character '1' at the start"},
		"dash first":              {"${-A}", 2, "invalid character '-'"},
		"dot in name":             {"${a.b}", 3, `unexpected '.' after variable name "a"`},
		"unicode in name":         {"${aé}", 3, `unexpected 'é'`},
		"unicode first":           {"${éa}", 2, `invalid character 'é'`},
		"dash unsupported":        {"${VAR-d}", 5, `operator "-" is not supported (use ${VAR:=default}`},
		"plus unsupported":        {"${VAR+d}", 5, `operator "+" is not supported (use ${VAR:=default}`},
		"colon plus":              {"${VAR:+d}", 6, `operator ":+" is not supported (use ${VAR:=default}`},
		"question unsupported":    {"${VAR?d}", 5, "use ${VAR:?message}"},
		"dash on present":         {"${A-d}", 3, `operator "-" is not supported`},
		"negative offset space":   {"${A: -1}", 4, "negative substring offsets"},
		"negative offset paren":   {"${A:(-1)}", 4, "negative substring offsets"},
		"negative length":         {"${A:1:-1}", 6, "negative substring lengths"},
		"missing length":          {"${A:1:}", 6, "substring length"},
		"bad length":              {"${A:1:x}", 6, "substring length"},
		"bad offset tail":         {"${A:1x}", 5, "decimal integers"},
		"missing offset":          {"${A:}", 4, "missing substring offset"},
		"bad colon op":            {"${A:x}", 4, "expected an operator or a substring offset"},
		"case pattern":            {"${A^a}", 4, "case modification patterns"},
		"case triple":             {"${A^^^}", 5, "case modification patterns"},
		"length with op":          {"${#A:=x}", 4, "takes no operator"},
		"length no name":          {"${#}", 3, "missing variable name"},
		"length unterminated":     {"${#A", 0, "unterminated"},
		"error after unresolved":  {"${X} ${", 5, "unterminated"},
		"error in unused default": {"${A:=${}}", 7, "missing variable name"},
		"error in replacement":    {"${A/a/${1}}", 8, "invalid character '1'"},
		"unterminated replace":    {"${A/a", 0, "unterminated"},
		"escape then error":       {"$${A} ${!}", 8, "invalid character '!'"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Eval(tc.in, testLookup)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Eval(%q) = %q, %v; want a *SyntaxError", tc.in, got, err)
			}
			if se.Input != tc.in || se.Offset != tc.offset || !strings.Contains(se.Reason, tc.reason) {
				t.Errorf("Eval(%q) = %+v, want offset %d and reason containing %q", tc.in, *se, tc.offset, tc.reason)
			}
			if _, rerr := References(tc.in); !reflect.DeepEqual(rerr, err) {
				t.Errorf("References(%q) error = %v, want %v", tc.in, rerr, err)
			}
		})
	}
}

func TestReferences(t *testing.T) {
	tests := map[string]struct {
		in   string
		want []string
	}{
		"none":            {"plain $A $(B) $$", nil},
		"escaped":         {"$${A}", nil},
		"one":             {"${A}", []string{"A"}},
		"ordered deduped": {"${B}${A:=x}${B^^}${#A}", []string{"B", "A"}},
		"in defaults":     {"${A:=${B:=${C}}}", []string{"A", "B", "C"}},
		"in message":      {"${A:?set ${B}}", []string{"A", "B"}},
		"in trim":         {"${P##${S:=*/}}", []string{"P", "S"}},
		"in replace":      {"${A/${B}/${C}}${D/%x}", []string{"A", "B", "C", "D"}},
		"all forms":       {"${A^}${B,,}${C:1:2}${D%x}${E=y}${F:-}", []string{"A", "B", "C", "D", "E", "F"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := References(tc.in)
			if err != nil {
				t.Fatalf("References(%q) error: %v", tc.in, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("References(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestInjection checks that values are inserted verbatim, exactly once, and
// never rescanned for expressions.
func TestInjection(t *testing.T) {
	values := map[string]string{
		"quote":     `a"b`,
		"backslash": `C:\dir\\x`,
		"newline":   "line1\nline2",
		"evil":      `", "--evil`,
		"expr":      "${A}",
		"escaped":   "$${A} $$ $(A)",
		"unclosed":  "${",
		"all":       "\"\\\n${X}\", \"--evil",
	}
	lookup := func(name string) (string, bool) {
		if name == "A" {
			return "SHOULD-NOT-APPEAR", true
		}
		v, ok := values[name]
		return v, ok
	}
	for name, v := range values {
		for _, form := range []string{"${%s}", "${%s:=d}", "${X:=${%s}}", "${%s:0}", "${%s//zzz/y}", "${%s#zzz}"} {
			in := "[" + strings.ReplaceAll(form, "%s", name) + "]"
			t.Run(name+"/"+in, func(t *testing.T) {
				got, err := Eval(in, lookup)
				if err != nil {
					t.Fatalf("Eval(%q): %v", in, err)
				}
				if want := "[" + v + "]"; got != want {
					t.Errorf("Eval(%q) = %q, want %q", in, got, want)
				}
				if strings.Count(got, v) != 1 {
					t.Errorf("value %q appears %d times in %q", v, strings.Count(got, v), got)
				}
			})
		}
	}
}

func TestNilLookup(t *testing.T) {
	if got, err := Eval("${A:=x}", nil); err != nil || got != "x" {
		t.Errorf("Eval with nil lookup = %q, %v", got, err)
	}
	var ue *UnresolvedError
	if _, err := Eval("${A}", nil); !errors.As(err, &ue) {
		t.Errorf("Eval(${A}, nil) error = %v, want *UnresolvedError", err)
	}
}

func TestNoDollarDoesNotAllocate(t *testing.T) {
	s := "--pgArgs=--clean --if-exists /tmp/output"
	allocs := testing.AllocsPerRun(100, func() {
		if got, _ := Eval(s, testLookup); got != s {
			t.Fatal("changed")
		}
		if refs, _ := References(s); refs != nil {
			t.Fatal("refs")
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations, want 0", allocs)
	}
}

func TestMatch(t *testing.T) {
	tests := map[string]struct {
		pat, s string
		want   bool
	}{
		"empty both":          {"", "", true},
		"empty pat":           {"", "a", false},
		"literal":             {"abc", "abc", true},
		"literal prefix only": {"ab", "abc", false},
		"star empty":          {"*", "", true},
		"star all":            {"*", "a/b/c", true},
		"star middle":         {"a*c", "abbbc", true},
		"star middle fail":    {"a*c", "abbbd", false},
		"stars":               {"*a*b*", "xxaxxbxx", true},
		"stars backtrack":     {"*ab*ab", "abxabab", true},
		"question":            {"a?c", "abc", true},
		"question unicode":    {"?", "é", true},
		"question short":      {"a?", "a", false},
		"class":               {"[abc]", "b", true},
		"class range":         {"[a-c]x", "bx", true},
		"class range miss":    {"[a-c]", "d", false},
		"class negated":       {"[!a-c]", "d", true},
		"class negated miss":  {"[^a-c]", "a", false},
		"class bracket first": {"[]]", "]", true},
		"class dash last":     {"[a-]", "-", true},
		"class unicode range": {"[α-γ]", "β", true},
		"unclosed class":      {"[ab", "[ab", true},
		"unclosed class miss": {"[ab", "a", false},
		"backslash literal":   {`\*`, `\x`, true},
		"many stars":          {strings.Repeat("*a", 30) + "b", strings.Repeat("a", 60), false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := match(tc.pat, tc.s); got != tc.want {
				t.Errorf("match(%q, %q) = %v, want %v", tc.pat, tc.s, got, tc.want)
			}
		})
	}
}

var benchEnv = map[string]string{
	"REPOSITORY_BUCKET": "stash-backups-prod",
	"REPOSITORY_PREFIX": "demo/postgres",
}

func benchLookup(name string) (string, bool) {
	v, ok := benchEnv[name]
	return v, ok
}

var sink string

func BenchmarkEval(b *testing.B) {
	cases := map[string]string{
		"typical":  "--bucket=${REPOSITORY_BUCKET:=}",
		"noDollar": "--pgArgs=--clean --if-exists /tmp/output",
		"mixed":    "--prefix=${REPOSITORY_PREFIX:=}/${TARGET_NAME:=default}/${REPOSITORY_BUCKET##*-}",
	}
	for name, s := range cases {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				out, err := Eval(s, benchLookup)
				if err != nil {
					b.Fatal(err)
				}
				sink = out
			}
		})
	}
}
