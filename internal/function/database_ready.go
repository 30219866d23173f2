package function

import (
	"context"
	"fmt"
	"time"

	"github.com/stash-operator/stash/internal/process"
)

// waitReady runs the engine's trivial query until it succeeds or timeout
// passes. A port that accepts connections is not a database that accepts
// logins, so nothing less than a real query counts.
func (o DatabaseOptions) waitReady(ctx context.Context, e *engine, client string, c connection, timeout time.Duration) error {
	p := process.Program{Path: client, Args: append(e.connArgs(c), e.pingArgs...), Env: childEnv(e, c)}
	deadline := time.Now().Add(timeout)
	delay := 500 * time.Millisecond
	for attempt := 1; ; attempt++ {
		// One attempt may not hang: a blackholed address never answers.
		attemptTimeout := min(15*time.Second, max(time.Until(deadline), 5*time.Second))
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		stderr := process.NewTail(process.StderrTailLines, nil)
		cmd := p.Command(actx)
		cmd.Stderr = stderr
		err := cmd.Run()
		timedOut := actx.Err() != nil
		cancel()
		if err == nil {
			if attempt > 1 {
				o.logf("%s at %s accepts connections", e.name, c.addr())
			}
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("waiting for %s at %s: %w", e.name, c.addr(), ctx.Err())
		}
		if timedOut {
			err = fmt.Errorf("%s did not answer within %s", p.Name(), attemptTimeout)
		} else {
			err = process.Outcome(ctx, p.Name(), err, stderr)
		}
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("%s at %s did not accept a connection as user %s within --wait-timeout=%ds (%d attempts); last attempt: %v",
				e.name, c.addr(), c.User, int(timeout/time.Second), attempt, err)
		}
		if attempt == 1 {
			o.logf("waiting for %s at %s: %v", e.name, c.addr(), err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s at %s: %w", e.name, c.addr(), ctx.Err())
		case <-time.After(min(delay, left)):
		}
		delay = min(2*delay, 5*time.Second)
	}
}
