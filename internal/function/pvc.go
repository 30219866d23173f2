package function

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"

	"github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/restic"
)

// BackupPVCOptions are backup-pvc's flags.
type BackupPVCOptions struct {
	Setup
	// BackupPaths are backed up one snapshot each, as Stash does, so that
	// each can be restored as "the latest snapshot of this path".
	BackupPaths []string
}

// AddFlags registers the common flags and --backup-paths.
func (o *BackupPVCOptions) AddFlags(fs *pflag.FlagSet) {
	o.Setup.AddFlags(fs)
	fs.StringSliceVar(&o.BackupPaths, "backup-paths", nil, "directories to back up, comma separated")
}

// BackupPVC backs up the paths and runs the after-backup sequence. It never
// fails: a failure is the Failed host entry of the result.
func BackupPVC(ctx context.Context, o BackupPVCOptions) BackupOutput {
	start := time.Now()
	host := o.Host()
	var snaps []v1beta1.SnapshotStats
	var written []*restic.BackupSummary
	var repo *restic.Repo
	fail := func(err error) BackupOutput {
		if repo != nil {
			// restic's errors are scrubbed already; this covers the rest.
			err = errors.New(repo.Scrub(err.Error()))
		}
		return FailedBackup(host, start, snaps, err)
	}

	paths, err := cleanPaths(o.BackupPaths, "--backup-paths")
	if err != nil {
		return fail(err)
	}
	if len(paths) == 0 {
		return fail(errors.New("nothing to back up: set --backup-paths"))
	}
	for _, p := range paths {
		if _, err := os.Lstat(p); err != nil {
			return fail(fmt.Errorf("backup path %s: %w: check that the target volume is mounted there", p, unwrapPathErr(err)))
		}
	}
	repo, err = o.NewRepo()
	if err != nil {
		return fail(err)
	}
	backup := func(r *restic.Repo, p string) error {
		sum, err := r.Backup(ctx, []string{p}, host, nil)
		if sum != nil && sum.SnapshotID != "" {
			snaps = append(snaps, SnapshotStats(sum, p))
			written = append(written, sum)
		}
		if err != nil {
			return fmt.Errorf("back up %s: %w", p, err)
		}
		return nil
	}
	// The first path's backup opens the repository.
	created, err := o.openWith(ctx, repo, func(r *restic.Repo) error { return backup(r, paths[0]) })
	if err != nil {
		return fail(err)
	}
	if created {
		o.logf("initialised a new repository at %s", repo)
	}
	for _, p := range paths[1:] {
		if err := backup(repo, p); err != nil {
			return fail(err)
		}
	}
	repoStats, err := o.AfterBackup(ctx, repo, host, written, created)
	if err != nil {
		return fail(err)
	}
	return SucceededBackup(host, start, snaps, repoStats)
}

// RunBackupPVC is the backup-pvc command: back up, write output.json, print
// a summary. It returns an error only when the result could not be recorded.
func RunBackupPVC(ctx context.Context, o BackupPVCOptions, stdout io.Writer) error {
	if err := prepareOutputDir(o.OutputDir); err != nil {
		return err
	}
	out := BackupPVC(ctx, o)
	return Finish(o.OutputDir, out, out.Failed(), BackupSummaryText(out), stdout)
}

// RestorePVCOptions are restore-pvc's flags.
type RestorePVCOptions struct {
	Setup
	// RestorePaths are restored each from the latest snapshot of that path
	// when Snapshots is empty; with Snapshots they limit what is restored.
	RestorePaths []string
	// Snapshots are snapshot ids to restore.
	Snapshots []string
	// DefaultPaths are restored from their latest snapshots when neither
	// RestorePaths nor Snapshots is given: a workload's mount paths.
	DefaultPaths []string
	// SourceHostname is whose snapshots to restore; empty means Hostname.
	SourceHostname string
	// Target is where restored paths are rooted. Snapshots hold absolute
	// paths, so "/" (the default) puts them back where they were.
	Target string
}

// AddFlags registers the common flags and restore-pvc's own.
func (o *RestorePVCOptions) AddFlags(fs *pflag.FlagSet) {
	o.Setup.AddFlags(fs)
	fs.StringSliceVar(&o.RestorePaths, "restore-paths", nil, "paths to restore, comma separated")
	fs.StringSliceVar(&o.Snapshots, "snapshots", nil, "snapshot ids to restore (default: the latest snapshot of each restore path)")
	fs.StringVar(&o.SourceHostname, "source-hostname", "", "host whose snapshots are restored (default: --hostname)")
	fs.StringSliceVar(&o.DefaultPaths, "default-paths", nil, "paths restored from their latest snapshots when neither --restore-paths nor --snapshots is given")
}

// RestorePVC restores the paths or snapshots. It never fails: a failure is
// the Failed host entry of the result.
func RestorePVC(ctx context.Context, o RestorePVCOptions) RestoreOutput {
	start := time.Now()
	host := o.Host()
	var repo *restic.Repo
	fail := func(err error) RestoreOutput {
		if repo != nil {
			err = errors.New(repo.Scrub(err.Error()))
		}
		return FailedRestore(host, start, err)
	}
	source := orDefault(o.SourceHostname, host)
	target := orDefault(o.Target, "/")
	paths, err := cleanPaths(o.RestorePaths, "--restore-paths")
	if err != nil {
		return fail(err)
	}
	snapshots := nonEmpty(o.Snapshots)
	if len(paths) == 0 && len(snapshots) == 0 {
		if paths, err = cleanPaths(o.DefaultPaths, "--default-paths"); err != nil {
			return fail(err)
		}
	}
	if len(paths) == 0 && len(snapshots) == 0 {
		return fail(errors.New("nothing to restore: set --restore-paths or --snapshots"))
	}
	repo, err = o.NewRepo()
	if err != nil {
		return fail(err)
	}
	var restores []func(*restic.Repo) error
	for _, s := range snapshots {
		restores = append(restores, func(r *restic.Repo) error {
			if err := r.Restore(ctx, s, target, source, paths); err != nil {
				return fmt.Errorf("restore snapshot %s: %w", s, err)
			}
			return nil
		})
	}
	if len(snapshots) == 0 {
		for _, p := range paths {
			restores = append(restores, func(r *restic.Repo) error {
				if err := r.Restore(ctx, restic.Latest, target, source, []string{p}); err != nil {
					return fmt.Errorf("restore %s from the latest snapshot of host %s: %w", p, source, err)
				}
				return nil
			})
		}
	}
	// The first restore opens the repository (a restic that cannot lock it
	// has written nothing), as a backup's first command does; never init:
	// a restore from a location with no repository is a mistake to report,
	// not a repository to create.
	if err := o.withLocksCleared(ctx, repo, restores[0]); err != nil {
		return fail(err)
	}
	for _, restore := range restores[1:] {
		if err := restore(repo); err != nil {
			return fail(err)
		}
	}
	return SucceededRestore(host, start)
}

// RunRestorePVC is the restore-pvc command: restore, write output.json,
// print a summary. It returns an error only when the result could not be
// recorded.
func RunRestorePVC(ctx context.Context, o RestorePVCOptions, stdout io.Writer) error {
	if err := prepareOutputDir(o.OutputDir); err != nil {
		return err
	}
	out := RestorePVC(ctx, o)
	return Finish(o.OutputDir, out, out.Failed(), RestoreSummaryText(out), stdout)
}

// cleanPaths drops empty entries (an unset ${TARGET_PATHS} becomes "") and
// requires absolute paths: snapshots record them, and restore puts files
// back by them.
func cleanPaths(in []string, flag string) ([]string, error) {
	var out []string
	for _, p := range in {
		if p == "" {
			continue
		}
		if !filepath.IsAbs(p) {
			return nil, fmt.Errorf("%s: %q is not an absolute path", flag, p)
		}
		out = append(out, filepath.Clean(p))
	}
	return out, nil
}

func nonEmpty(in []string) []string {
	var out []string
	for _, s := range in {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func unwrapPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
