package function

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stash-operator/stash/api/stash/v1beta1"
)

// TestOutputContract pins output.json's keys to reference §5.4, which
// update-status (and Stash-era tooling) reads.
func TestOutputContract(t *testing.T) {
	i := func(n int64) *int64 { return &n }
	yes := true
	tests := map[string]struct {
		out  any
		want string
	}{
		"backup succeeded": {
			out: BackupOutput{
				HostBackupStats: []v1beta1.HostBackupStats{{
					Hostname: "host-0", Phase: v1beta1.HostBackupSucceeded, Duration: "1m2.3s",
					Snapshots: []v1beta1.SnapshotStats{{
						Name: "acd889cd", Path: "dumpfile.sql", TotalSize: "109.2 MiB", Uploaded: "1.2 MiB", ProcessingTime: "0h0m40s",
						FileStats: v1beta1.FileStats{TotalFiles: i(1), NewFiles: i(0), ModifiedFiles: i(1), UnmodifiedFiles: i(0)},
					}},
				}},
				Repository: &RepositoryStats{Integrity: &yes, Size: "1.1 GiB", SnapshotCount: 5, SnapshotsRemovedOnLastCleanup: 1},
			},
			want: `{"hostBackupStats":[{"hostname":"host-0","phase":"Succeeded","snapshots":[{"name":"acd889cd","path":"dumpfile.sql",` +
				`"totalSize":"109.2 MiB","uploaded":"1.2 MiB","processingTime":"0h0m40s","fileStats":{"totalFiles":1,"newFiles":0,` +
				`"modifiedFiles":1,"unmodifiedFiles":0}}],"duration":"1m2.3s"}],"repository":{"integrity":true,"size":"1.1 GiB",` +
				`"snapshotCount":5,"snapshotsRemovedOnLastCleanup":1}}`,
		},
		"backup failed": {
			out:  BackupOutput{HostBackupStats: []v1beta1.HostBackupStats{{Hostname: "host-0", Phase: v1beta1.HostBackupFailed, Error: "boom"}}},
			want: `{"hostBackupStats":[{"hostname":"host-0","phase":"Failed","error":"boom"}]}`,
		},
		"integrity false is kept": {
			out:  BackupOutput{Repository: &RepositoryStats{Integrity: new(bool)}},
			want: `{"repository":{"integrity":false}}`,
		},
		"restore": {
			out:  RestoreOutput{HostRestoreStats: []v1beta1.HostRestoreStats{{Hostname: "host-0", Phase: v1beta1.HostRestoreSucceeded, Duration: "3s"}}},
			want: `{"hostRestoreStats":[{"hostname":"host-0","phase":"Succeeded","duration":"3s"}]}`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "nested", "output")
			var err error
			switch o := tc.out.(type) {
			case BackupOutput:
				err = WriteBackupOutput(dir, o)
			case RestoreOutput:
				err = WriteRestoreOutput(dir, o)
			}
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(filepath.Join(dir, OutputFileName))
			if err != nil {
				t.Fatal(err)
			}
			// Compare as values: key order and indentation are not the contract.
			var got any
			if err := json.Unmarshal(data, &got); err != nil {
				t.Fatal(err)
			}
			var want any
			if err := json.Unmarshal([]byte(tc.want), &want); err != nil {
				t.Fatal(err)
			}
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			if string(g) != string(w) {
				t.Fatalf("output.json = %s\nwant          %s", g, w)
			}
			// Nothing but output.json is left behind.
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 {
				t.Fatalf("output dir holds %d entries, want only %s", len(entries), OutputFileName)
			}
			if st, _ := os.Stat(filepath.Join(dir, OutputFileName)); st.Mode().Perm()&0o044 != 0o044 {
				t.Fatalf("output.json mode %v is not readable by the next step", st.Mode())
			}
			// And it reads back to the same value.
			switch o := tc.out.(type) {
			case BackupOutput:
				back, err := ReadBackupOutput(dir)
				if err != nil {
					t.Fatal(err)
				}
				b1, _ := json.Marshal(back)
				b2, _ := json.Marshal(o)
				if string(b1) != string(b2) {
					t.Fatalf("read back %s, wrote %s", b1, b2)
				}
			case RestoreOutput:
				back, err := ReadRestoreOutput(dir)
				if err != nil {
					t.Fatal(err)
				}
				if back.HostRestoreStats[0] != o.HostRestoreStats[0] {
					t.Fatalf("read back %+v", back)
				}
			}
		})
	}
}

func TestReadOutputMissing(t *testing.T) {
	_, err := ReadBackupOutput(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "did not write it") {
		t.Fatalf("error = %v", err)
	}
}

// TestWriteOutputReplaces: a second write replaces the file whole.
func TestWriteOutputReplaces(t *testing.T) {
	dir := t.TempDir()
	long := BackupOutput{HostBackupStats: []v1beta1.HostBackupStats{{Hostname: "h", Error: strings.Repeat("x", 10000)}}}
	if err := WriteBackupOutput(dir, long); err != nil {
		t.Fatal(err)
	}
	short := BackupOutput{HostBackupStats: []v1beta1.HostBackupStats{{Hostname: "h", Phase: v1beta1.HostBackupSucceeded}}}
	if err := WriteBackupOutput(dir, short); err != nil {
		t.Fatal(err)
	}
	back, err := ReadBackupOutput(dir)
	if err != nil || back.HostBackupStats[0].Error != "" || back.Failed() {
		t.Fatalf("read back %+v, %v", back, err)
	}
}

// The output directory a step creates lets every later step write in it,
// whatever its user (a restore step runs as root, its post hooks as 65532),
// and output.json lets every later step read it.
func TestOutputDirWritableByEveryStep(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "output")
	if err := WriteBackupOutput(dir, BackupOutput{}); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{dir: os.ModeDir | 0o777, filepath.Join(dir, OutputFileName): 0o644} {
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode() != want {
			t.Errorf("%s: mode %v, want %v", path, info.Mode(), want)
		}
	}
}
