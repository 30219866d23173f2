package function

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stash-operator/stash/internal/restic"
)

func TestWipeRepositoryRemovesEverySnapshotAndItsData(t *testing.T) {
	s := localSetup(t, "wipe-password")
	ctx := context.Background()
	src := t.TempDir()
	data := make([]byte, 2<<20) // incompressible, so that its size shows in the repository
	_, _ = rand.NewChaCha8([32]byte{1}).Read(data)
	if err := os.WriteFile(filepath.Join(src, "data"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"host-0", "host-1"} {
		o := BackupPVCOptions{Setup: s, BackupPaths: []string{src}}
		o.Hostname = host
		if out := BackupPVC(ctx, o); out.Failed() {
			t.Fatalf("backup %s: %+v", host, out.HostBackupStats)
		}
	}
	repo, err := s.NewRepo()
	if err != nil {
		t.Fatal(err)
	}
	sizeBefore := dirSize(t, s.Bucket)

	var stdout bytes.Buffer
	if err := WipeRepository(ctx, s, &stdout); err != nil {
		t.Fatal(err)
	}
	snaps, err := repo.Snapshots(ctx, restic.SnapshotFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) != 0 {
		t.Fatalf("%d snapshots left after the wipe", len(snaps))
	}
	if after := dirSize(t, s.Bucket); after > sizeBefore/10 {
		t.Fatalf("repository is %d bytes after the wipe, %d before: the data was not pruned", after, sizeBefore)
	}
	if !strings.Contains(stdout.String(), "forgot 2 snapshots") {
		t.Fatalf("stdout: %s", stdout.String())
	}
}

func TestWipeRepositoryWithoutRepositoryIsANoOp(t *testing.T) {
	s := localSetup(t, "pw")
	s.Bucket = filepath.Join(t.TempDir(), "never-created")
	var stdout bytes.Buffer
	if err := WipeRepository(context.Background(), s, &stdout); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "nothing to wipe") {
		t.Fatalf("stdout: %s", stdout.String())
	}
}

func dirSize(t *testing.T, dir string) int64 {
	t.Helper()
	var total int64
	err := filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			total += info.Size()
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return total
}
