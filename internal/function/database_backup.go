package function

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
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

// dumpPart is one piece of a dump file: a program's output, or text.
type dumpPart struct {
	program *process.Program
	text    string
}

// dumpReader reads the parts of a dump one after another, starting each
// program when the part before it ended; a program that fails ends the
// dump with its error (exitCheckedReader).
type dumpReader struct {
	ctx   context.Context
	o     DatabaseOptions
	parts []dumpPart
	cur   io.ReadCloser
	err   error // a program that could not start
}

func (d *dumpReader) Read(p []byte) (int, error) {
	for {
		if d.cur == nil {
			if d.err != nil {
				return 0, d.err
			}
			if len(d.parts) == 0 {
				return 0, io.EOF
			}
			part := d.parts[0]
			d.parts = d.parts[1:]
			if part.program == nil {
				d.cur = io.NopCloser(strings.NewReader(part.text))
			} else if d.cur, d.err = d.start(*part.program); d.err != nil {
				return 0, d.err
			}
		}
		n, err := d.cur.Read(p)
		if err == io.EOF { // this part is complete; the next one follows
			d.cur = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}

// start runs one program of the dump, its stdout to be read.
func (d *dumpReader) start(dump process.Program) (io.ReadCloser, error) {
	d.o.logCommand(dump)
	cmd := dump.Command(d.ctx)
	stderr := process.NewTail(process.StderrTailLines, nil)
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("connect to the output of %s: %w", dump.Name(), err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", dump.Name(), err)
	}
	return &exitCheckedReader{r: stdout, wait: func() error { return process.Outcome(d.ctx, dump.Name(), cmd.Wait(), stderr) }}, nil
}

// Close stops the program still running, if any, and returns how the dump
// ended: nil, or the error of the part that failed.
func (d *dumpReader) Close() error {
	if d.cur != nil {
		err := d.cur.Close()
		d.cur = nil
		return err
	}
	return d.err
}

// dumpToRepo streams the parts of a dump, one after another, as file into
// restic backup --stdin and returns restic's summary only when all of them
// and restic succeeded. Otherwise no snapshot of the dump remains.
func (o DatabaseOptions) dumpToRepo(ctx context.Context, repo *restic.Repo, parts []dumpPart, file, host string) (*restic.BackupSummary, error) {
	src := &dumpReader{ctx: ctx, o: o, parts: parts}
	sum, backupErr := repo.BackupStdin(ctx, src, file, host)
	dumpErr := src.Close()

	var readErr *restic.ReadError
	var err error
	switch {
	case backupErr != nil && !errors.As(backupErr, &readErr):
		// restic failed by itself; the dump, cut off, is not the cause.
		err = fmt.Errorf("restic backup of the dump failed: %w", backupErr)
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

// wholeDump is an engine's dump by default: the dump program's output, with
// connArgs, dumpArgs and the extra arguments.
func wholeDump(e *engine, _ DatabaseOptions, dumpPath string, c connection, extra []string) ([]dumpPart, error) {
	args := append(append(e.connArgs(c), e.dumpArgs...), extra...)
	return []dumpPart{{program: &process.Program{Path: dumpPath, Args: args, Env: childEnv(e, c)}}}, nil
}

// backupDatabase is backup-pg, backup-mysql and backup-redis: dump into
// the repository, then the after-backup sequence. Failures are the Failed
// host entry.
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
	if err := o.waitReady(ctx, e, clientPath, conn, timeout); err != nil {
		return fail(err)
	}
	conn = o.pinAddress(ctx, e, conn)
	plan := e.dumpParts
	if plan == nil {
		plan = wholeDump
	}
	parts, err := plan(e, o, dumpPath, conn, extra)
	if err != nil {
		return fail(err)
	}
	// The dump's own restic backup opens the repository (openWith). When
	// it meets a lock or no repository, restic has stored nothing and the
	// dump, cut off or thrown away, is run again from its start: dumps
	// only read the database.
	var sum *restic.BackupSummary
	created, err := o.openWith(ctx, repo, func(r *restic.Repo) (err error) {
		sum, err = o.dumpToRepo(ctx, r, parts, e.dumpFile, host)
		return err
	})
	if err != nil {
		return fail(err)
	}
	if created {
		o.logf("initialised a new repository at %s", repo)
	}
	snaps := []v1beta1.SnapshotStats{SnapshotStats(sum, e.dumpFile)}
	repoStats, err := o.AfterBackup(ctx, repo, host, []*restic.BackupSummary{sum}, created)
	if err != nil {
		return FailedBackup(host, start, snaps, scrub.err(err))
	}
	return SucceededBackup(host, start, snaps, repoStats)
}
