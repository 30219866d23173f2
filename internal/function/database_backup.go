package function

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/process"
	"github.com/stash-operator/stash/internal/restic"
)

// exitCheckedReader reads a dump's stdout and, at its end, the dump's exit
// status: a failed dump turns the end of its output into an error, so that
// restic is interrupted instead of seeing a clean end of input and saving a
// partial dump as a complete snapshot.
type exitCheckedReader struct {
	r    io.ReadCloser
	wait func() error
	once sync.Once
	err  error
}

func (x *exitCheckedReader) Read(p []byte) (int, error) {
	n, err := x.r.Read(p)
	if err == io.EOF {
		if werr := x.finish(); werr != nil {
			return n, werr
		}
	}
	return n, err
}

func (x *exitCheckedReader) finish() error {
	x.once.Do(func() { x.err = x.wait() })
	return x.err
}

// Close closes the pipe, so that a dump still writing (because restic
// stopped reading) gets EPIPE and ends, and returns its exit status.
func (x *exitCheckedReader) Close() error {
	_ = x.r.Close()
	return x.finish()
}

// dumpToRepo runs dump with its stdout streamed into restic backup --stdin
// and returns restic's summary only when both succeeded. Otherwise no
// snapshot of the dump remains.
func (o DatabaseOptions) dumpToRepo(ctx context.Context, repo *restic.Repo, dump process.Program, file, host string) (*restic.BackupSummary, error) {
	o.logCommand(dump)
	cmd := dump.Command(ctx)
	stderr := process.NewTail(process.StderrTailLines, nil)
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("connect to the output of %s: %w", dump.Name(), err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", dump.Name(), err)
	}
	src := &exitCheckedReader{r: stdout, wait: func() error { return process.Outcome(ctx, dump.Name(), cmd.Wait(), stderr) }}
	sum, backupErr := repo.BackupStdin(ctx, src, file, host)
	dumpErr := src.Close()

	var readErr *restic.ReadError
	err = nil
	switch {
	case backupErr != nil && !errors.As(backupErr, &readErr):
		// restic failed by itself; the dump, cut off, is not the cause.
		err = fmt.Errorf("restic backup of the %s output failed: %w", dump.Name(), backupErr)
	case dumpErr != nil:
		err = dumpErr
	case backupErr != nil:
		err = backupErr
	}
	if err == nil {
		return sum, nil
	}
	// BackupStdin removes a snapshot taken from input that failed; this
	// covers one that a dump failing after its last byte would leave.
	if sum != nil && sum.SnapshotID != "" {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if ferr := repo.ForgetIDs(fctx, sum.SnapshotID); ferr != nil {
			return nil, fmt.Errorf("%w; removing the incomplete snapshot %s also failed, remove it with restic forget: %v", err, sum.ShortID(), ferr)
		}
	}
	return nil, fmt.Errorf("%w; no snapshot was kept", err)
}

// backupDatabase is backup-pg, backup-mysql and backup-redis: dump into the repository,
// then the after-backup sequence. Failures are the Failed host entry.
func backupDatabase(ctx context.Context, e *engine, o DatabaseOptions) BackupOutput {
	start := time.Now()
	host := o.Host()
	var scrub scrubber
	fail := func(err error) BackupOutput { return FailedBackup(host, start, nil, scrub.err(err)) }

	dumpPath, err := findProgram(e, e.dumpPrograms)
	if err != nil {
		return fail(err)
	}
	p, err := o.prepare(ctx, e, &scrub)
	if err != nil {
		return fail(err)
	}
	extra, timeout, clientPath, conn, repo := p.extra, p.timeout, p.clientPath, p.conn, p.repo
	created, err := o.openRepo(ctx, repo, true)
	if err != nil {
		return fail(err)
	}
	if created {
		o.logf("initialised a new repository at %s", repo)
	}
	if err := o.waitReady(ctx, e, clientPath, conn, timeout); err != nil {
		return fail(err)
	}
	args := append(append(e.connArgs(conn), e.dumpArgs...), extra...)
	dump := process.Program{Path: dumpPath, Args: args, Env: childEnv(e, conn)}
	sum, err := o.dumpToRepo(ctx, repo, dump, e.dumpFile, host)
	if err != nil {
		return fail(err)
	}
	snaps := []v1beta1.SnapshotStats{SnapshotStats(sum, e.dumpFile)}
	repoStats, err := o.AfterBackup(ctx, repo, host, []*restic.BackupSummary{sum})
	if err != nil {
		return FailedBackup(host, start, snaps, scrub.err(err))
	}
	return SucceededBackup(host, start, snaps, repoStats)
}
