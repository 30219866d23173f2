package main

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/stash-operator/stash/internal/sessionview"
)

func init() { rootCmd.AddCommand(newDescribeCommand()) }

func newDescribeCommand() *cobra.Command {
	cl := &cluster{}
	cmd := &cobra.Command{
		Use:   "describe (backupsession|restoresession) NAME",
		Short: "Show a session: its phase, each step with exit code and log tail, its hosts, and what to do next",
		Long: `describe shows a BackupSession or RestoreSession: its outcome, its hosts and their
Jobs, each step with its exit code and time (and the log tail of a failed one), what
each host reported, the session's Events, and what to do next.

Exit status: 0 when it was shown, whatever the session's phase; 1 when it could not be
read; 2 on a usage error.`,
		Example: `  stash describe backupsession source-postgres-backup-x7k2p -n demo
  stash describe restoresession/restored-postgres-restore -n demo`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return usageError(fmt.Errorf("name a session: backupsession NAME or restoresession NAME; see %s --help", cmd.CommandPath()))
			}
			return nil
		},
		RunE: cl.run(func(cn conn, cmd *cobra.Command, args []string) error {
			kind, name, err := sessionArg(args, false)
			if err != nil {
				return err
			}
			s, err := getSession(cn.ctx, cn.client, cn.ns, kind, name)
			if err != nil {
				return err
			}
			events, err := sessionEvents(cn.ctx, cn.client, s)
			if err != nil && !apierrors.IsForbidden(err) {
				return err
			}
			return sessionview.Describe(cmd.OutOrStdout(), s, events, err, time.Now())
		}),
	}
	cl.bind(cmd)
	return cmd
}

// sessionEvents are the Events about the session, oldest first. They are
// read through core/v1, which serves the operator's events.k8s.io Events
// too and can select them by the object they regard.
func sessionEvents(ctx context.Context, c client.Client, s sessionview.Session) ([]sessionview.Event, error) {
	var list corev1.EventList
	if err := c.List(ctx, &list, client.InNamespace(s.Namespace),
		client.MatchingFields{"involvedObject.kind": s.Kind, "involvedObject.name": s.Name}); err != nil {
		return nil, fmt.Errorf("list the Events of %s %s/%s: %w", s.Kind, s.Namespace, s.Name, err)
	}
	events := make([]sessionview.Event, 0, len(list.Items))
	for _, e := range list.Items {
		events = append(events, sessionview.Event{Time: eventTime(e), Type: e.Type, Reason: e.Reason, Note: e.Message})
	}
	sort.SliceStable(events, func(i, j int) bool { return events[i].Time.Before(events[j].Time) })
	return events, nil
}

// eventTime is when an Event last happened, whichever API wrote it.
func eventTime(e corev1.Event) time.Time {
	switch {
	case e.Series != nil && !e.Series.LastObservedTime.IsZero():
		return e.Series.LastObservedTime.Time
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}
