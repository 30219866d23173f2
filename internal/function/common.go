package function

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/stash-operator/stash/api/stash/v1alpha1"
	"github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/backend"
	"github.com/stash-operator/stash/internal/restic"
	"github.com/stash-operator/stash/internal/text"
)

// DefaultHost is the host name Stash gives a target that is not a workload
// replica (a stand-alone PVC, a database).
const DefaultHost = "host-0"

// DefaultLockWait is how long a data Function waits for another process's
// lock.
const DefaultLockWait = 5 * time.Minute

// Setup is the set of flags every data Function shares (reference §5.1,
// §7.1): where the repository is, where its Secret is mounted, where to
// write output.json, and the retention policy.
type Setup struct {
	Provider       string
	Bucket         string
	Endpoint       string
	Region         string
	Path           string
	SecretDir      string
	ScratchDir     string
	EnableCache    bool
	MaxConnections int
	Hostname       string
	OutputDir      string
	ResticBinary   string
	Retention      v1alpha1.RetentionPolicy
	// CheckRepository and MeasureRepository: what a backup does after its
	// retention (AfterBackup), as the operator planned it.
	CheckRepository   bool
	MeasureRepository bool

	// Log, when set, receives each restic command line (never a secret) and
	// progress notes. Not a flag: the commands point it at stderr.
	Log io.Writer
	// PodNamespace is the namespace of this pod, whose ended pods' locks
	// may be removed; empty: read from the pod's ServiceAccount mount.
	PodNamespace string
	// LockHolder, when set, tells whether a lock's holder runs instead of
	// the API server (PodHolder).
	LockHolder func(ctx context.Context, host string) restic.Holder
	// LockWait is how long restic waits for another process's lock; zero
	// means DefaultLockWait. Not a flag.
	LockWait time.Duration
}

// openRepo opens the repository (and, for a backup, initialises it if
// needed), then removes the locks of pods that have ended. It reports
// whether it initialised the repository. The commands that follow do not
// unlock again: a lock that turns up later is judged when it stops them
// (withLocksCleared). A backup of files opens with its first command
// instead (openWith).
func (s *Setup) openRepo(ctx context.Context, repo *restic.Repo, initialise bool) (created bool, err error) {
	var locks []restic.Lock
	if initialise {
		created, locks, err = repo.OpenOrInitLocks(ctx)
	} else {
		locks, err = repo.OpenLocks(ctx)
	}
	if err != nil {
		return false, err
	}
	if err := s.clearDeadLocks(ctx, repo, locks); err != nil {
		s.logf("could not judge the repository's locks (restic will wait for them): %v", err)
	}
	return created, nil
}

// openWith opens the repository with the backup's own first command: each
// restic process spends about half a second deriving the key, and most
// backups find their repository there and unlocked, so a separate open
// would cost as much again. first runs as withLocksCleared runs a command
// (at once, then past the locks of ended pods); when it finds no
// repository, the repository is initialised and first runs again. It
// reports whether it initialised the repository. first must leave nothing
// behind when it fails so: a restic command that cannot open or lock the
// repository has done nothing.
func (s *Setup) openWith(ctx context.Context, repo *restic.Repo, first func(*restic.Repo) error) (created bool, err error) {
	err = s.withLocksCleared(ctx, repo, first)
	if !errors.Is(err, restic.ErrRepositoryNotFound) {
		return false, err
	}
	if created, err = s.openRepo(ctx, repo, true); err != nil {
		return false, err
	}
	return created, first(repo)
}

// SetLog points the Function's log (command lines, progress) at w.
func (s *Setup) SetLog(w io.Writer) { s.Log = w }

// AddFlags registers the common flags with Stash's names and defaults that
// match what the shipped Functions pass when a variable is unset.
func (s *Setup) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&s.Provider, "provider", s.Provider, "storage provider: "+strings.Join(backend.Providers, ", "))
	fs.StringVar(&s.Bucket, "bucket", s.Bucket, "bucket or container; for local, the directory the repository volume is mounted at")
	fs.StringVar(&s.Endpoint, "endpoint", s.Endpoint, "S3 endpoint, or the REST server URL")
	fs.StringVar(&s.Region, "region", s.Region, "S3 region")
	fs.StringVar(&s.Path, "path", s.Path, "directory inside the bucket that holds the repository")
	fs.StringVar(&s.SecretDir, "secret-dir", orDefault(s.SecretDir, "/etc/repository/secret"), "directory where the storage Secret is mounted (RESTIC_PASSWORD and credentials)")
	fs.StringVar(&s.ScratchDir, "scratch-dir", orDefault(s.ScratchDir, "/tmp"), "directory for restic's temporary files and cache")
	fs.BoolVar(&s.EnableCache, "enable-cache", true, "keep restic's cache in the scratch directory")
	fs.IntVar(&s.MaxConnections, "max-connections", s.MaxConnections, "limit of concurrent connections to the backend (0: restic's default)")
	fs.StringVar(&s.Hostname, "hostname", orDefault(s.Hostname, DefaultHost), "host name the snapshots are recorded under")
	fs.StringVar(&s.OutputDir, "output-dir", s.OutputDir, "directory to write output.json to, for the update-status step")
	fs.StringVar(&s.ResticBinary, "restic-binary", s.ResticBinary, "restic executable (default: $RESTIC_BINARY, then restic on PATH)")
	fs.Int64Var(&s.Retention.KeepLast, "retention-keep-last", 0, "keep the last n snapshots")
	fs.Int64Var(&s.Retention.KeepHourly, "retention-keep-hourly", 0, "keep the last n hourly snapshots")
	fs.Int64Var(&s.Retention.KeepDaily, "retention-keep-daily", 0, "keep the last n daily snapshots")
	fs.Int64Var(&s.Retention.KeepWeekly, "retention-keep-weekly", 0, "keep the last n weekly snapshots")
	fs.Int64Var(&s.Retention.KeepMonthly, "retention-keep-monthly", 0, "keep the last n monthly snapshots")
	fs.Int64Var(&s.Retention.KeepYearly, "retention-keep-yearly", 0, "keep the last n yearly snapshots")
	fs.StringSliceVar(&s.Retention.KeepTags, "retention-keep-tags", nil, "keep snapshots with these tags")
	fs.BoolVar(&s.Retention.Prune, "retention-prune", false, "remove data no snapshot references any more")
	fs.BoolVar(&s.Retention.DryRun, "retention-dry-run", false, "only report what retention would remove")
	fs.BoolVar(&s.CheckRepository, "check-repository", true, "after a backup, check the repository's integrity (restic check)")
	fs.BoolVar(&s.MeasureRepository, "measure-repository", true,
		"after a backup, measure the repository's size and count its snapshots; false: report what the backup added instead")
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// Backend is the restic backend the flags describe.
func (s *Setup) Backend() backend.Backend {
	return backend.Backend{
		Provider:       s.Provider,
		Bucket:         s.Bucket,
		Endpoint:       s.Endpoint,
		Region:         s.Region,
		Prefix:         s.Path,
		MaxConnections: s.MaxConnections,
		SecretDir:      s.SecretDir,
	}
}

// Host is --hostname, or Stash's default when it is empty (the Functions
// pass --hostname=${HOSTNAME:=}).
func (s *Setup) Host() string { return orDefault(s.Hostname, DefaultHost) }

// NewRepo prepares the restic driver from the flags.
func (s *Setup) NewRepo() (*restic.Repo, error) {
	opts := restic.Options{
		Binary:      s.ResticBinary,
		Backend:     s.Backend(),
		ScratchDir:  s.ScratchDir,
		EnableCache: s.EnableCache,
		// Targets sharing a repository run their Jobs independently; one's
		// forget or check must wait out another's backup, not fail on it.
		RetryLock: cmp.Or(s.LockWait, DefaultLockWait),
	}
	if s.Log != nil {
		log := s.Log
		opts.Trace = func(args []string) { fmt.Fprintf(log, "running: %s\n", strings.Join(args, " ")) }
		opts.Timed = func(sub string, d time.Duration) { fmt.Fprintf(log, "restic %s took %.2fs\n", sub, d.Seconds()) }
	}
	return restic.New(opts)
}

func (s *Setup) logf(format string, args ...any) {
	if s.Log != nil {
		fmt.Fprintf(s.Log, format+"\n", args...)
	}
}

// AfterBackup is the restic sequence every backup Function runs once it
// has written the snapshots of written (reference §5.3, scoped as DESIGN
// §7 asks): retention for this host only; then, as the operator planned it
// (package maintenance), an integrity check, and either a measurement of
// the repository (size, snapshots of every host) or what this backup added
// to the last one. A repository that this backup created (created) holds
// only what it wrote, so its measurement is what restic packed, not another
// two restic passes. It returns output.json's "repository" part.
func (s *Setup) AfterBackup(ctx context.Context, repo *restic.Repo, host string, written []*restic.BackupSummary, created bool) (*RepositoryStats, error) {
	var forgot restic.ForgetResult
	if created && len(written) == 1 && restic.KeepsNewest(s.Retention) {
		// The repository holds this one snapshot, which the policy keeps:
		// a forget would remove nothing and a prune free nothing, and its
		// restic process costs more than half a second (key derivation).
		forgot.Pruned = s.Retention.Prune && !s.Retention.DryRun
	} else if err := s.withLocksCleared(ctx, repo, func(r *restic.Repo) (err error) {
		forgot, err = r.Forget(ctx, host, s.Retention)
		return err
	}); err != nil {
		return nil, fmt.Errorf("apply retention policy: %w", err)
	}
	stats := &RepositoryStats{SnapshotsRemovedOnLastCleanup: int64(forgot.Removed), Pruned: forgot.Pruned}
	if s.CheckRepository {
		var ok bool
		err := s.withLocksCleared(ctx, repo, func(r *restic.Repo) (err error) {
			ok, err = r.Check(ctx, "")
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("check repository: %w", err)
		}
		stats.Integrity = &ok
	}
	if !s.MeasureRepository || created {
		// Forgetting without a prune frees nothing: the repository grew by
		// exactly what the backup packed.
		for _, w := range written {
			stats.SizeAddedBytes += w.DataAddedPacked
			stats.SnapshotsAdded++
		}
		stats.SnapshotsAdded -= int64(forgot.Removed)
		if !s.MeasureRepository {
			return stats, nil
		}
		// From nothing, the figures added are the repository's (restic
		// stats would leave out the packs' headers, a few bytes a blob).
		// Hosts whose first backups into one repository overlap each count
		// only their own; the next measurement counts them all.
		size := stats.SizeAddedBytes
		stats.Size, stats.SizeBytes, stats.SnapshotCount = text.Bytes(size), &size, stats.SnapshotsAdded
		stats.SizeAddedBytes, stats.SnapshotsAdded = 0, 0
		return stats, nil
	}
	size, err := repo.Stats(ctx)
	if err != nil {
		return nil, fmt.Errorf("measure repository: %w", err)
	}
	// Counted after forget: what the repository holds now, all hosts.
	snaps, err := repo.Snapshots(ctx, restic.SnapshotFilter{})
	if err != nil {
		return nil, fmt.Errorf("count snapshots: %w", err)
	}
	stats.Size = text.Bytes(size)
	stats.SizeBytes = &size
	stats.SnapshotCount = int64(len(snaps))
	return stats, nil
}

// SnapshotStats converts restic's backup summary into output.json's form.
// path is what was backed up (a directory, or the stdin file name).
func SnapshotStats(sum *restic.BackupSummary, path string) v1beta1.SnapshotStats {
	i := func(n int64) *int64 { return &n }
	return v1beta1.SnapshotStats{
		Name:           sum.ShortID(),
		Path:           path,
		TotalSize:      text.Bytes(sum.TotalBytesProcessed),
		Uploaded:       text.Bytes(sum.DataAdded),
		ProcessingTime: restic.FormatProcessingTime(sum.Duration()),
		FileStats: v1beta1.FileStats{
			TotalFiles:      i(sum.TotalFilesProcessed),
			NewFiles:        i(sum.FilesNew),
			ModifiedFiles:   i(sum.FilesChanged),
			UnmodifiedFiles: i(sum.FilesUnmodified),
		},
	}
}

// SucceededBackup is the output.json of a backup that took snaps and then
// ran the after-backup sequence, which measured repo.
func SucceededBackup(host string, start time.Time, snaps []v1beta1.SnapshotStats, repo *RepositoryStats) BackupOutput {
	return BackupOutput{
		HostBackupStats: []v1beta1.HostBackupStats{{
			Hostname:  host,
			Phase:     v1beta1.HostBackupSucceeded,
			Snapshots: snaps,
			Duration:  since(start),
		}},
		Repository: repo,
	}
}

// SucceededRestore is the output.json of a restore that succeeded.
func SucceededRestore(host string, start time.Time) RestoreOutput {
	return RestoreOutput{HostRestoreStats: []v1beta1.HostRestoreStats{{
		Hostname: host,
		Phase:    v1beta1.HostRestoreSucceeded,
		Duration: since(start),
	}}}
}

// FailedBackup is the output.json of a backup that failed (reference §5.4):
// one Failed host with the error, plus any snapshot already taken, so that
// it can be found and inspected.
func FailedBackup(host string, start time.Time, snaps []v1beta1.SnapshotStats, err error) BackupOutput {
	return BackupOutput{HostBackupStats: []v1beta1.HostBackupStats{{
		Hostname:  host,
		Phase:     v1beta1.HostBackupFailed,
		Snapshots: snaps,
		Duration:  since(start),
		Error:     err.Error(),
	}}}
}

// FailedRestore is the output.json of a restore that failed.
func FailedRestore(host string, start time.Time, err error) RestoreOutput {
	return RestoreOutput{HostRestoreStats: []v1beta1.HostRestoreStats{{
		Hostname: host,
		Phase:    v1beta1.HostRestoreFailed,
		Duration: since(start),
		Error:    err.Error(),
	}}}
}

// since is a duration as Stash writes it ("1m2.3s"), to 0.1s.
func since(start time.Time) string {
	return time.Since(start).Round(100 * time.Millisecond).String()
}

// Finish writes output.json and prints a summary: the end of every data
// Function. Only a failure to record the result is an error, because
// update-status reports everything else (reference §5.4). Without an output
// directory nothing can carry a failure onward, so a failure is an error.
func Finish(outputDir string, out any, failed bool, summary string, stdout io.Writer) error {
	fmt.Fprint(stdout, summary)
	if outputDir == "" {
		if failed {
			return fmt.Errorf("failed and no --output-dir to record it in")
		}
		return nil
	}
	var err error
	switch o := out.(type) {
	case BackupOutput:
		err = WriteBackupOutput(outputDir, o)
	case RestoreOutput:
		err = WriteRestoreOutput(outputDir, o)
	default:
		err = fmt.Errorf("internal error: unknown output type %T", out)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s/%s\n", strings.TrimRight(outputDir, "/"), OutputFileName)
	return nil
}

// BackupSummaryText is the human summary of a backup output.
func BackupSummaryText(out BackupOutput) string {
	var b strings.Builder
	for _, h := range out.HostBackupStats {
		fmt.Fprintf(&b, "host %s: backup %s in %s\n", h.Hostname, h.Phase, h.Duration)
		for _, s := range h.Snapshots {
			fmt.Fprintf(&b, "  snapshot %s of %s: %s processed, %s uploaded, took %s\n", s.Name, s.Path, s.TotalSize, s.Uploaded, s.ProcessingTime)
		}
		if h.Error != "" {
			fmt.Fprintf(&b, "  error: %s\n", h.Error)
		}
	}
	if r := out.Repository; r != nil {
		integrity := "not checked"
		if r.Integrity != nil {
			integrity = map[bool]string{true: "ok", false: "ERRORS FOUND"}[*r.Integrity]
		}
		fmt.Fprintf(&b, "repository: integrity %s, size %s, %d snapshots, %d removed by retention\n",
			integrity, r.Size, r.SnapshotCount, r.SnapshotsRemovedOnLastCleanup)
	}
	return b.String()
}

// RestoreSummaryText is the human summary of a restore output.
func RestoreSummaryText(out RestoreOutput) string {
	var b strings.Builder
	for _, h := range out.HostRestoreStats {
		fmt.Fprintf(&b, "host %s: restore %s in %s\n", h.Hostname, h.Phase, h.Duration)
		if h.Error != "" {
			fmt.Fprintf(&b, "  error: %s\n", h.Error)
		}
	}
	return b.String()
}
