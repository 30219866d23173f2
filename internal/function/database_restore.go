package function

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/stash-operator/stash/internal/process"
	"github.com/stash-operator/stash/internal/restic"
)

// dumpToClient streams one snapshot's dump file into the client program,
// through filter when there is one.
func (o DatabaseOptions) dumpToClient(ctx context.Context, e *engine, repo *restic.Repo, client process.Program, snapshot, source string, filter func(io.Reader, io.Writer) error) error {
	// restic writes straight into the client's stdin through an OS pipe:
	// no copy in this process, and each side sees the other end. A filter
	// sits between two pipes.
	pr, pw, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("create the pipe into %s: %w", client.Name(), err)
	}
	clientIn, resticOut := pr, pw
	var filterDone chan error
	if filter != nil {
		fr, fw, err := os.Pipe()
		if err != nil {
			_, _ = pr.Close(), pw.Close()
			return fmt.Errorf("create the pipe into %s: %w", client.Name(), err)
		}
		resticOut = fw
		filterDone = make(chan error, 1)
		go func() {
			err := filter(fr, pw)
			_, _ = fr.Close(), pw.Close() // restic and the client see the end
			filterDone <- err
		}()
	}
	o.logCommand(client)
	cmd := client.Command(ctx)
	cmd.Stdin = clientIn
	var errs restoreErrors
	var watch func(string)
	if e.newRestoreErrors != nil {
		errs = e.newRestoreErrors()
		watch = errs.line
	}
	stderr := process.NewTail(process.StderrTailLines, watch)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		_, _ = pr.Close(), resticOut.Close()
		if filterDone != nil {
			<-filterDone
		}
		return fmt.Errorf("start %s: %w", client.Name(), err)
	}
	_ = pr.Close() // the client has its copy; ours would keep it from seeing EOF
	dumpErr := repo.Dump(ctx, snapshot, source, e.dumpFile, resticOut)
	_ = resticOut.Close()
	var filterErr error
	if filterDone != nil {
		filterErr = <-filterDone
	}
	clientErr := process.Outcome(ctx, client.Name(), cmd.Wait(), stderr)
	stderr.Flush()
	switch {
	case filterErr != nil && !isBrokenPipe(filterErr):
		// Nothing the client did is the cause: it read what the filter
		// let through (a dump without the database asked for: nothing).
		return filterErr
	case clientErr != nil:
		// If the client stopped first, restic's broken pipe is a
		// consequence, not the cause.
		return clientErr
	case dumpErr != nil:
		return fmt.Errorf("read %s from the repository: %w", e.dumpFile, dumpErr)
	case filterErr != nil:
		return filterErr
	case errs != nil:
		return errs.err(client.Name())
	}
	return nil
}

// isBrokenPipe: a write into a pipe whose reader had gone.
func isBrokenPipe(err error) bool { return errors.Is(err, syscall.EPIPE) }

// restoreDatabase is restore-pg, restore-mysql and restore-redis: each
// snapshot's dump streamed into the client. Failures are the Failed host
// entry.
func restoreDatabase(ctx context.Context, e *engine, o DatabaseRestoreOptions) RestoreOutput {
	start := time.Now()
	host := o.Host()
	var scrub scrubber
	fail := func(err error) RestoreOutput { return FailedRestore(host, start, scrub.err(err)) }
	source := orDefault(o.SourceHostname, host)

	p, err := o.prepare(ctx, e, &scrub)
	if err != nil {
		return fail(err)
	}
	extra, timeout, clientPath, conn, repo := p.extra, p.timeout, p.clientPath, p.conn, p.repo
	// Open, never init: no repository here is a mistake to report.
	if _, err := o.openRepo(ctx, repo, false); err != nil {
		return fail(err)
	}
	if err := o.waitReady(ctx, e, clientPath, conn, timeout); err != nil {
		return fail(err)
	}
	conn = o.pinAddress(ctx, e, conn)
	snapshots := nonEmpty(o.Snapshots)
	if len(snapshots) == 0 {
		snapshots = []string{restic.Latest}
	}
	args := append(append(e.connArgs(conn), e.restoreArgs...), extra...)
	cl := process.Program{Path: clientPath, Args: args, Env: childEnv(e, conn)}
	var filter func(io.Reader, io.Writer) error
	if e.restoreFilter != nil {
		filter = e.restoreFilter(o)
	}
	for _, s := range snapshots {
		if err := o.dumpToClient(ctx, e, repo, cl, s, source, filter); err != nil {
			if s == restic.Latest {
				return fail(fmt.Errorf("restore the latest snapshot of host %s: %w", source, err))
			}
			return fail(fmt.Errorf("restore snapshot %s: %w", s, err))
		}
	}
	return SucceededRestore(host, start)
}
