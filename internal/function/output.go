// Package function holds the data-plane Functions (backup-pvc, restore-pvc,
// and the plumbing the database Functions share): their common flags, the
// restic sequence after a backup, and the output.json contract with
// update-status.
package function

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/stash-operator/stash/api/stash/v1beta1"
)

// OutputFileName is the file a data Function leaves in --output-dir for the
// update-status step (reference §5.4).
const OutputFileName = "output.json"

// BackupOutput is output.json after a backup.
type BackupOutput struct {
	HostBackupStats []v1beta1.HostBackupStats `json:"hostBackupStats,omitempty"`
	// Repository is absent when the backup failed: update-status then
	// leaves the Repository's status alone.
	Repository *RepositoryStats `json:"repository,omitempty"`
}

// RepositoryStats is output.json's "repository" object.
type RepositoryStats struct {
	// Integrity is the result of restic check; absent if check did not run.
	Integrity                     *bool  `json:"integrity,omitempty"`
	Size                          string `json:"size,omitempty"`
	SnapshotCount                 int64  `json:"snapshotCount,omitempty"`
	SnapshotsRemovedOnLastCleanup int64  `json:"snapshotsRemovedOnLastCleanup,omitempty"`
	// Our additions, which Stash's output.json did not have. SizeBytes is
	// Size exactly, when the repository was measured; otherwise
	// SizeAddedBytes and SnapshotsAdded (net of those forgotten) are what
	// the backup changed, for update-status to add to the last measurement.
	SizeBytes      *uint64 `json:"sizeBytes,omitempty"`
	SizeAddedBytes uint64  `json:"sizeAddedBytes,omitempty"`
	SnapshotsAdded int64   `json:"snapshotsAdded,omitempty"`
	// Pruned: the retention policy's prune ran, or there was nothing it
	// could free (the backup created the repository).
	Pruned bool `json:"pruned,omitempty"`
}

// RestoreOutput is output.json after a restore.
type RestoreOutput struct {
	HostRestoreStats []v1beta1.HostRestoreStats `json:"hostRestoreStats,omitempty"`
}

// Failed reports whether any host failed.
func (o BackupOutput) Failed() bool {
	for _, h := range o.HostBackupStats {
		if h.Phase != v1beta1.HostBackupSucceeded {
			return true
		}
	}
	return false
}

// Failed reports whether any host did not succeed.
func (o RestoreOutput) Failed() bool {
	for _, h := range o.HostRestoreStats {
		if h.Phase != v1beta1.HostRestoreSucceeded {
			return true
		}
	}
	return false
}

// WriteBackupOutput writes <dir>/output.json.
func WriteBackupOutput(dir string, out BackupOutput) error { return writeOutput(dir, out) }

// WriteRestoreOutput writes <dir>/output.json.
func WriteRestoreOutput(dir string, out RestoreOutput) error { return writeOutput(dir, out) }

// ReadBackupOutput reads <dir>/output.json written after a backup.
func ReadBackupOutput(dir string) (*BackupOutput, error) {
	var out BackupOutput
	if err := readOutput(dir, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ReadRestoreOutput reads <dir>/output.json written after a restore.
func ReadRestoreOutput(dir string) (*RestoreOutput, error) {
	var out RestoreOutput
	if err := readOutput(dir, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// writeOutput writes to a temporary file in dir and renames it into place, so
// that update-status (another container on the same volume) never reads half
// a file, and a crash leaves either the old file or the new one.
func writeOutput(dir string, v any) error {
	if dir == "" {
		return errors.New("no output directory given: set --output-dir")
	}
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", OutputFileName, err)
	}
	data = append(data, '\n')
	if err := prepareOutputDir(dir); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+OutputFileName+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", OutputFileName, err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write %s: %w", OutputFileName, err)
	}
	// The next step may run as another user: it must be able to read it.
	if err := tmp.Chmod(0o644); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write %s: %w", OutputFileName, err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write %s: %w", OutputFileName, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", OutputFileName, err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, OutputFileName)); err != nil {
		return fmt.Errorf("write %s: %w", OutputFileName, err)
	}
	return nil
}

// prepareOutputDir creates the output directory before any work starts: a
// backup whose result cannot be recorded is wasted, so that failure comes
// first and fast. The steps of a Job may run as different users (a restore
// step as root, the post hooks after it as 65532, which rewrite output.json
// to record a failure), and the directory is in the pod's own emptyDir: so
// whoever creates it lets every step write in it.
func prepareOutputDir(dir string) error {
	if dir == "" {
		return nil
	}
	_, err := os.Stat(dir)
	if err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return fmt.Errorf("create output directory: %w", err)
	}
	if err := os.Chmod(dir, 0o777); err != nil { // MkdirAll's mode is cut by the umask
		return fmt.Errorf("create output directory: %w", err)
	}
	return nil
}

func readOutput(dir string, v any) error {
	p := filepath.Join(dir, OutputFileName)
	data, err := os.ReadFile(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%s not found: the backup or restore step did not write it (see that step's log)", p)
		}
		return fmt.Errorf("read %s: %w", p, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("parse %s: %w", p, err)
	}
	return nil
}
