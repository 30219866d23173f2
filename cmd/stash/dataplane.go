package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// dataPlaneContext is cancelled when the pod is asked to stop (SIGTERM) or
// on Ctrl-C, so that a running restic is interrupted cleanly (it removes its
// lock) and the Function still writes output.json recording the failure.
func dataPlaneContext(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	parent := cmd.Context()
	if parent == nil {
		parent = context.Background()
	}
	return signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
}

// runDataPlane runs a data Function's body. Its error (only "could not write
// output.json") becomes exit status 1; every other failure is in the output
// and the command exits 0, as Stash's Functions do (reference §5.4).
func runDataPlane(cmd *cobra.Command, body func(ctx context.Context) error) error {
	// The database Functions use controller-runtime's client, which warns
	// with a stack trace if its logger was never set.
	ctrllog.SetLogger(ctrllog.Log.WithSink(ctrllog.NullLogSink{}))
	ctx, stop := dataPlaneContext(cmd)
	defer stop()
	if err := body(ctx); err != nil {
		return &exitError{code: 1, err: err}
	}
	return nil
}
