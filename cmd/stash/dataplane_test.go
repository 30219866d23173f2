package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Stash's convention, as a user of the binary sees it: a logical failure is
// recorded in output.json and exits 0; failing to write output.json exits 1.
func TestDataPlaneExitStatus(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	_, _, code := runStash(t, "backup-pvc", "--provider=dropbox", "--bucket=x", "--backup-paths=/tmp", "--output-dir="+out, "--secret-dir="+t.TempDir())
	if code != 0 {
		t.Fatalf("a logical failure exited %d, want 0", code)
	}
	report, err := os.ReadFile(filepath.Join(out, "output.json"))
	if err != nil || !strings.Contains(string(report), `"phase": "Failed"`) || !strings.Contains(string(report), `unknown storage provider \"dropbox\"`) {
		t.Fatalf("output.json = %s (%v)", report, err)
	}

	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runStash(t, "backup-pvc", "--provider=local", "--bucket=x", "--backup-paths=/tmp", "--output-dir="+filepath.Join(blocker, "out"))
	if code != 1 || !strings.Contains(stderr, "output") {
		t.Fatalf("an unwritable output dir exited %d (stderr %q), want 1", code, stderr)
	}

	_, _, code = runStash(t, "restore-pg", "--no-such-flag")
	if code != 2 {
		t.Fatalf("an unknown flag exited %d, want 2", code)
	}
}
