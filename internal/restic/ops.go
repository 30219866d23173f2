package restic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/stash-operator/stash/api/stash/v1alpha1"
)

// Latest selects the newest snapshot matching the host and path filters.
const Latest = "latest"

// BackupSummary is restic backup's final --json message ("summary").
type BackupSummary struct {
	SnapshotID          string    `json:"snapshot_id"`
	FilesNew            int64     `json:"files_new"`
	FilesChanged        int64     `json:"files_changed"`
	FilesUnmodified     int64     `json:"files_unmodified"`
	DirsNew             int64     `json:"dirs_new"`
	DirsChanged         int64     `json:"dirs_changed"`
	DirsUnmodified      int64     `json:"dirs_unmodified"`
	DataBlobs           int64     `json:"data_blobs"`
	TreeBlobs           int64     `json:"tree_blobs"`
	DataAdded           uint64    `json:"data_added"`
	DataAddedPacked     uint64    `json:"data_added_packed"`
	TotalFilesProcessed int64     `json:"total_files_processed"`
	TotalBytesProcessed uint64    `json:"total_bytes_processed"`
	TotalDuration       float64   `json:"total_duration"` // seconds
	BackupStart         time.Time `json:"backup_start"`
	BackupEnd           time.Time `json:"backup_end"`
}

// ShortID is the 8-character id restic prints and Stash reports.
func (s BackupSummary) ShortID() string { return shortID(s.SnapshotID) }

// Duration is how long restic took.
func (s BackupSummary) Duration() time.Duration {
	return time.Duration(s.TotalDuration * float64(time.Second))
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// Snapshot is one element of `restic snapshots --json`.
type Snapshot struct {
	ID       string    `json:"id"`
	ShortID  string    `json:"short_id"`
	Time     time.Time `json:"time"`
	Hostname string    `json:"hostname"`
	Paths    []string  `json:"paths"`
	Tags     []string  `json:"tags"`
	Parent   string    `json:"parent,omitempty"`
	Tree     string    `json:"tree,omitempty"`
	Username string    `json:"username,omitempty"`
	UID      int64     `json:"uid,omitempty"`
	GID      int64     `json:"gid,omitempty"`
	// Summary is what the backup that took the snapshot counted; restic
	// records it since 0.17, so older snapshots have none.
	Summary *SnapshotSummary `json:"summary,omitempty"`
}

// SnapshotSummary is the part of a snapshot's recorded summary Stash shows.
type SnapshotSummary struct {
	TotalFilesProcessed int64 `json:"total_files_processed"`
	TotalBytesProcessed int64 `json:"total_bytes_processed"`
}

// SnapshotFilter narrows Snapshots; empty fields match everything.
type SnapshotFilter struct {
	Host  string
	Paths []string
	Tags  []string
}

func (f SnapshotFilter) args() []string {
	var a []string
	if f.Host != "" {
		a = append(a, "--host", f.Host)
	}
	for _, p := range f.Paths {
		a = append(a, "--path", p)
	}
	for _, t := range f.Tags {
		a = append(a, "--tag", t)
	}
	return a
}

// ForgetResult counts snapshots across the groups restic forget considered.
// With DryRun, Removed is what would have been removed.
type ForgetResult struct {
	Kept    int
	Removed int
	// Skipped is true when the policy had no keep rule, so nothing ran.
	Skipped bool
	// Pruned: forget also pruned (the policy prunes, not as a dry run).
	Pruned bool
}

// Open checks that a repository exists at the location and that the password
// opens it. It takes no lock: it only reads the repository's config.
// Errors wrap ErrRepositoryNotFound, ErrWrongPassword, ErrUnreachable,
// ErrAccessDenied or are unclassified.
func (r *Repo) Open(ctx context.Context) error {
	_, err := r.OpenLocks(ctx)
	return err
}

// Init creates a new repository.
func (r *Repo) Init(ctx context.Context) error {
	_, err := r.run(ctx, call{sub: "init", failFast: true})
	return err
}

// OpenOrInit opens the repository, creating it when there is none yet
// (Stash's "snapshots, else init", but only on a definite "does not exist":
// a wrong password or an unreachable backend must not create anything).
// created reports whether it was created now.
func (r *Repo) OpenOrInit(ctx context.Context) (created bool, err error) {
	created, _, err = r.OpenOrInitLocks(ctx)
	return created, err
}

// OpenOrInitLocks is OpenOrInit that also returns the repository's locks
// (none when it created it), as OpenLocks does.
func (r *Repo) OpenOrInitLocks(ctx context.Context) (created bool, locks []Lock, err error) {
	locks, err = r.OpenLocks(ctx)
	if !errors.Is(err, ErrRepositoryNotFound) {
		return false, locks, err
	}
	if ierr := r.Init(ctx); ierr != nil {
		// Another Job may have initialised it in between.
		if locks, oerr := r.OpenLocks(ctx); oerr == nil {
			return false, locks, nil
		}
		return false, nil, ierr
	}
	return true, nil, nil
}

// Backup backs up paths as one snapshot for host. An incomplete backup (some
// files unreadable, restic exit code 3) returns the summary of the snapshot
// restic still saved together with an error.
func (r *Repo) Backup(ctx context.Context, paths []string, host string, tags []string) (*BackupSummary, error) {
	if len(paths) == 0 {
		return nil, errors.New("nothing to back up: give at least one path")
	}
	args := []string{"--json", "--quiet"}
	if host != "" {
		args = append(args, "--host", host)
	}
	for _, t := range tags {
		args = append(args, "--tag", t)
	}
	args = append(args, "--")
	args = append(args, paths...)
	out, err := r.run(ctx, call{sub: "backup", args: args})
	sum, perr := parseSummary(out)
	if err != nil {
		return sum, err
	}
	return sum, perr
}

// BackupStdin streams src into `restic backup --stdin` as one file named
// filename. If src fails (for example a database dump that dies midway),
// restic is interrupted before it can save a snapshot and the error is a
// *ReadError. When src reports its failure only after its end (a dump
// whose exit status is known later), the caller removes the snapshot with
// ForgetIDs.
func (r *Repo) BackupStdin(ctx context.Context, src io.Reader, filename, host string) (*BackupSummary, error) {
	if filename == "" {
		return nil, errors.New("backup from stdin needs a file name")
	}
	args := []string{"--json", "--quiet", "--stdin", "--stdin-filename", filename}
	if host != "" {
		args = append(args, "--host", host)
	}
	out, err := r.run(ctx, call{sub: "backup", args: args, feed: src})
	var re *ReadError
	if errors.As(err, &re) {
		// Should restic have saved a snapshot before it saw the
		// interrupt, remove it: partial data must never look like a good
		// backup. ctx may be the reason for the failure, so this gets its
		// own deadline.
		if sum, _ := parseSummary(out); sum != nil && sum.SnapshotID != "" {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			if ferr := r.ForgetIDs(cctx, sum.SnapshotID); ferr != nil {
				return nil, fmt.Errorf("%w; removing the partial snapshot %s also failed: %v", err, sum.ShortID(), ferr)
			}
		}
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	return parseSummary(out)
}

func parseSummary(out []byte) (*BackupSummary, error) {
	var sum *BackupSummary
	jsonLines(out, func(line []byte) bool {
		var m struct {
			MessageType string `json:"message_type"`
		}
		if json.Unmarshal(line, &m) != nil || m.MessageType != "summary" {
			return true
		}
		var s BackupSummary
		if json.Unmarshal(line, &s) == nil {
			sum = &s
		}
		return false
	})
	if sum == nil || sum.SnapshotID == "" {
		return sum, errors.New("restic backup printed no summary with a snapshot id: check that the restic binary is version 0.18")
	}
	return sum, nil
}

// Snapshots lists the snapshots matching f, oldest first.
func (r *Repo) Snapshots(ctx context.Context, f SnapshotFilter) ([]Snapshot, error) {
	// Listing needs no lock; it must work while a backup runs.
	args := append([]string{"--json", "--no-lock"}, f.args()...)
	out, err := r.run(ctx, call{sub: "snapshots", args: args})
	if err != nil {
		return nil, err
	}
	var snaps []Snapshot
	if err := json.Unmarshal(firstJSON(out), &snaps); err != nil {
		return nil, fmt.Errorf("parse restic snapshots output: %w", err)
	}
	return snaps, nil
}

// firstJSON is the first line of out that starts a JSON value.
func firstJSON(out []byte) []byte {
	var first []byte
	jsonLines(out, func(line []byte) bool {
		first = line
		return false
	})
	if first == nil {
		return []byte("null")
	}
	return first
}

// HasKeepRule reports whether p keeps anything explicitly. Without one,
// Stash does not run forget at all.
func HasKeepRule(p v1alpha1.RetentionPolicy) bool {
	return KeepsNewest(p) || len(p.KeepTags) > 0
}

// KeepsNewest reports whether p keeps a host's newest snapshot whatever its
// tags: every count rule does (restic keeps a snapshot that any rule keeps).
func KeepsNewest(p v1alpha1.RetentionPolicy) bool {
	return p.KeepLast > 0 || p.KeepHourly > 0 || p.KeepDaily > 0 || p.KeepWeekly > 0 ||
		p.KeepMonthly > 0 || p.KeepYearly > 0
}

// Forget applies p to host's snapshots only: --host is always passed so that
// one target never prunes another's snapshots.
func (r *Repo) Forget(ctx context.Context, host string, p v1alpha1.RetentionPolicy) (ForgetResult, error) {
	if host == "" {
		return ForgetResult{}, errors.New("forget needs a host: retention must never span other targets' snapshots")
	}
	if !HasKeepRule(p) {
		return ForgetResult{Skipped: true}, nil
	}
	args := []string{"--json", "--quiet", "--host", host}
	for _, k := range []struct {
		flag string
		n    int64
	}{
		{"--keep-last", p.KeepLast}, {"--keep-hourly", p.KeepHourly}, {"--keep-daily", p.KeepDaily},
		{"--keep-weekly", p.KeepWeekly}, {"--keep-monthly", p.KeepMonthly}, {"--keep-yearly", p.KeepYearly},
	} {
		if k.n > 0 {
			args = append(args, k.flag, strconv.FormatInt(k.n, 10))
		}
	}
	for _, t := range p.KeepTags {
		args = append(args, "--keep-tag", t)
	}
	if p.Prune {
		args = append(args, "--prune")
	}
	if p.DryRun {
		args = append(args, "--dry-run")
	}
	out, err := r.run(ctx, call{sub: "forget", args: args})
	if err != nil {
		return ForgetResult{}, err
	}
	res := ForgetResult{Pruned: p.Prune && !p.DryRun}
	found := false
	jsonLines(out, func(line []byte) bool {
		var groups []struct {
			Keep   []json.RawMessage `json:"keep"`
			Remove []json.RawMessage `json:"remove"`
		}
		if line[0] != '[' || json.Unmarshal(line, &groups) != nil {
			return true
		}
		for _, g := range groups {
			res.Kept += len(g.Keep)
			res.Removed += len(g.Remove)
		}
		found = true
		return false
	})
	if !found && len(strings.TrimSpace(string(out))) > 0 {
		return res, errors.New("restic forget printed no JSON list of snapshot groups: check that the restic binary is version 0.18")
	}
	return res, nil
}

// ForgetIDs removes the given snapshots, e.g. one left by a dump that failed
// after restic had read all of it. The data is reclaimed by the next prune.
func (r *Repo) ForgetIDs(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := r.run(ctx, call{sub: "forget", args: append([]string{"--quiet", "--"}, ids...)})
	return err
}

// Check verifies the repository's structure and, with readDataSubset (e.g.
// "10%" or "1/5"), that subset of the data. ok is false with a nil error
// when restic found errors in the repository; an error means the check
// could not be done.
func (r *Repo) Check(ctx context.Context, readDataSubset string) (ok bool, err error) {
	var args []string
	if readDataSubset != "" {
		args = append(args, "--read-data-subset", readDataSubset)
	}
	out, err := r.run(ctx, call{sub: "check", args: args})
	if err == nil {
		// Stash's rule: integrity means restic said so.
		return strings.Contains(string(out), "no errors were found"), nil
	}
	var ce *CommandError
	if errors.As(err, &ce) && ce.Kind == nil && ce.ExitCode == 1 &&
		strings.Contains(strings.ToLower(ce.Stderr), "repository contains errors") {
		return false, nil
	}
	return false, err
}

// Stats is the repository's size in bytes: the stored size of all its
// blobs (restic stats --mode raw-data). Stash summed restore sizes instead,
// which counts deduplicated data many times over and is not what the
// repository occupies.
func (r *Repo) Stats(ctx context.Context) (uint64, error) {
	out, err := r.run(ctx, call{sub: "stats", args: []string{"--json", "--quiet", "--mode", "raw-data"}})
	if err != nil {
		return 0, err
	}
	var s struct {
		TotalSize *uint64 `json:"total_size"`
	}
	if err := json.Unmarshal(firstJSON(out), &s); err != nil || s.TotalSize == nil {
		return 0, errors.New("restic stats printed no total_size: check that the restic binary is version 0.18")
	}
	return *s.TotalSize, nil
}

// Restore restores a snapshot into target (snapshots hold absolute paths, so
// target "/" puts files back where they were). snapshot "" or Latest picks
// the newest snapshot of host containing paths; for an explicit snapshot id,
// paths limit what is restored.
func (r *Repo) Restore(ctx context.Context, snapshot, target, host string, paths []string) error {
	if target == "" {
		return errors.New("restore needs a target directory")
	}
	snapshot, latest := snapshotArg(snapshot)
	args := []string{"--json", "--quiet", "--target", target}
	if latest {
		args = append(args, latestFilter(host, paths)...)
	} else {
		for _, p := range paths {
			args = append(args, "--include", p)
		}
	}
	args = append(args, "--", snapshot)
	_, err := r.run(ctx, call{sub: "restore", args: args})
	return err
}

// Dump writes one file of a snapshot to w; filename is its path in the
// snapshot ("dumpfile.sql" for a stdin backup of that name).
func (r *Repo) Dump(ctx context.Context, snapshot, host, filename string, w io.Writer) error {
	if filename == "" {
		return errors.New("dump needs the file name inside the snapshot")
	}
	snapshot, latest := snapshotArg(snapshot)
	args := []string{"--quiet"}
	if latest {
		args = append(args, latestFilter(host, nil)...)
	}
	// restic matches paths inside a snapshot from its root.
	file := path.Clean("/" + filename)
	args = append(args, "--", snapshot, file)
	_, err := r.run(ctx, call{sub: "dump", args: args, stdout: w})
	return err
}

func snapshotArg(s string) (string, bool) {
	if s == "" || s == Latest {
		return Latest, true
	}
	return s, false
}

func latestFilter(host string, paths []string) []string {
	var a []string
	if host != "" {
		a = append(a, "--host", host)
	}
	for _, p := range paths {
		a = append(a, "--path", p)
	}
	return a
}
