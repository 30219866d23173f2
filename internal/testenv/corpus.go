package testenv

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// V09Corpus is where the Stash v0.9 compatibility corpus is:
// $STASH_V09_CORPUS, or ../shared/reference/upstream-v0.9/corpus beside the
// checkout. Without it the test fails in CI and is skipped elsewhere.
func V09Corpus(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("STASH_V09_CORPUS")
	if dir == "" {
		dir = filepath.Join(RepoRoot(), "..", "shared", "reference", "upstream-v0.9", "corpus")
	}
	if _, err := os.Stat(filepath.Join(dir, "RESOLVE-CASES.tsv")); err != nil {
		if InfraRequired() {
			t.Fatalf("the v0.9 corpus is missing (%v): put ../shared beside the checkout or set STASH_V09_CORPUS", err)
		}
		t.Skipf("the v0.9 corpus is missing (%v); set STASH_V09_CORPUS", err)
	}
	return dir
}

// ReadTSV reads the rows of one of the corpus's tables, without blank lines
// and # comments.
func ReadTSV(t testing.TB, file string) [][]string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows [][]string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if line := sc.Text(); line != "" && !strings.HasPrefix(line, "#") {
			rows = append(rows, strings.Split(line, "\t"))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}
