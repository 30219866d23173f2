// Package updatestatus is the update-status Function, the last step of the
// shipped Tasks: it reads the output.json the data step left and records it
// in the BackupSession (or RestoreSession) and the Repository, with Events.
package updatestatus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/function"
	"github.com/stash-operator/stash/internal/status"
)

// Event reasons written by update-status.
const (
	ReasonHostBackupSucceeded  = "HostBackupSucceeded"
	ReasonHostBackupFailed     = "HostBackupFailed"
	ReasonHostRestoreSucceeded = "HostRestoreSucceeded"
	ReasonHostRestoreFailed    = "HostRestoreFailed"
	eventSource                = "stash-update-status"
)

// Options are the flags of update-status (Stash's names).
type Options struct {
	Namespace      string
	BackupSession  string
	RestoreSession string
	Repository     string
	TargetKind     string
	TargetName     string
	OutputDir      string
	// Hostname reports a missing or unreadable output.json as this host's failure.
	Hostname string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Log, when set, gets a line for each object written: the Job's log
	// then shows when the step began and what it recorded.
	Log io.Writer
}

func (o *Options) logf(format string, args ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, format+"\n", args...)
	}
}

func (o *Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// Run records the output of the data step. It fails only when the API server
// cannot be written: a missing or corrupt output.json is recorded as a failed
// host, so that the session never waits for a report that cannot come.
func Run(ctx context.Context, c client.Client, o Options) error {
	switch {
	case o.Namespace == "":
		return errors.New("--namespace is required")
	case o.OutputDir == "":
		return errors.New("--output-dir is required")
	case (o.BackupSession == "") == (o.RestoreSession == ""):
		return errors.New("give exactly one of --backupsession or --restoresession")
	}
	if o.Hostname == "" {
		o.Hostname = function.DefaultHost
	}
	if o.BackupSession != "" {
		o.logf("recording %s of %s in BackupSession %s/%s", function.OutputFileName, o.OutputDir, o.Namespace, o.BackupSession)
		return o.backup(ctx, c)
	}
	o.logf("recording %s of %s in RestoreSession %s/%s", function.OutputFileName, o.OutputDir, o.Namespace, o.RestoreSession)
	return o.restore(ctx, c)
}

// unreadable explains why there is no usable output.json; the reader's
// error already names the file and the likely cause.
func unreadable(err error) string {
	return "no usable report from the data step: " + err.Error()
}

func (o *Options) backup(ctx context.Context, c client.Client) error {
	out, err := function.ReadBackupOutput(o.OutputDir)
	if err != nil {
		out = &function.BackupOutput{HostBackupStats: []stashv1beta1.HostBackupStats{{
			Hostname: o.Hostname, Phase: stashv1beta1.HostBackupFailed, Error: unreadable(err)}}}
	}
	if len(out.HostBackupStats) == 0 {
		out.HostBackupStats = []stashv1beta1.HostBackupStats{{Hostname: o.Hostname, Phase: stashv1beta1.HostBackupFailed,
			Error: fmt.Sprintf("%s in %s reports no host", function.OutputFileName, o.OutputDir)}}
	}
	ref := stashv1beta1.TargetRef{Kind: o.TargetKind, Name: o.TargetName}
	session := &stashv1beta1.BackupSession{}
	key := client.ObjectKey{Namespace: o.Namespace, Name: o.BackupSession}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := c.Get(ctx, key, session); err != nil {
			return err
		}
		status.UpsertBackupHosts(&session.Status, ref, out.HostBackupStats)
		return c.Status().Update(ctx, session)
	})
	if err != nil {
		return fmt.Errorf("record host stats in BackupSession %s: %w", key, err)
	}
	for _, h := range out.HostBackupStats {
		o.logf("recorded host %s %s in BackupSession %s", h.Hostname, h.Phase, key)
		reason, kind, msg := ReasonHostBackupSucceeded, corev1.EventTypeNormal, fmt.Sprintf("backup of host %s succeeded in %s", h.Hostname, h.Duration)
		if h.Phase != stashv1beta1.HostBackupSucceeded {
			reason, kind, msg = ReasonHostBackupFailed, corev1.EventTypeWarning, fmt.Sprintf("backup of host %s failed: %s", h.Hostname, h.Error)
		}
		if err := emit(ctx, c, session, "BackupSession", kind, reason, msg, o.now()); err != nil {
			return err
		}
	}
	if out.Failed() || out.Repository == nil || o.Repository == "" {
		return nil // a failed backup says nothing reliable about the repository
	}
	r := out.Repository
	report := status.RepositoryReport{Integrity: r.Integrity, Size: r.Size, SizeBytes: r.SizeBytes, SnapshotCount: r.SnapshotCount,
		SizeAddedBytes: r.SizeAddedBytes, SnapshotsAdded: r.SnapshotsAdded, SnapshotsRemovedOnLastCleanup: r.SnapshotsRemovedOnLastCleanup, Pruned: r.Pruned}
	repo := &stashv1alpha1.Repository{}
	repoKey := client.ObjectKey{Namespace: o.Namespace, Name: o.Repository}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := c.Get(ctx, repoKey, repo); err != nil {
			return err
		}
		status.ApplyRepositoryReport(&repo.Status, report, o.now())
		return c.Status().Update(ctx, repo)
	})
	if err != nil {
		return fmt.Errorf("record repository stats in Repository %s: %w", repoKey, err)
	}
	o.logf("recorded the repository's figures in Repository %s", repoKey)
	if r.Integrity != nil && !*r.Integrity {
		msg := fmt.Sprintf("restic check found errors in the repository after backup %s (host %s): see that Job's log", o.BackupSession, o.Hostname)
		if err := emit(ctx, c, repo, "Repository", corev1.EventTypeWarning, string(stashv1beta1.ReasonCheckFailed), msg, o.now()); err != nil {
			return err
		}
	}
	return nil
}

func (o *Options) restore(ctx context.Context, c client.Client) error {
	out, err := function.ReadRestoreOutput(o.OutputDir)
	if err != nil {
		out = &function.RestoreOutput{HostRestoreStats: []stashv1beta1.HostRestoreStats{{
			Hostname: o.Hostname, Phase: stashv1beta1.HostRestoreFailed, Error: unreadable(err)}}}
	}
	if len(out.HostRestoreStats) == 0 {
		out.HostRestoreStats = []stashv1beta1.HostRestoreStats{{Hostname: o.Hostname, Phase: stashv1beta1.HostRestoreFailed,
			Error: fmt.Sprintf("%s in %s reports no host", function.OutputFileName, o.OutputDir)}}
	}
	session := &stashv1beta1.RestoreSession{}
	key := client.ObjectKey{Namespace: o.Namespace, Name: o.RestoreSession}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := c.Get(ctx, key, session); err != nil {
			return err
		}
		status.UpsertRestoreHosts(&session.Status, out.HostRestoreStats)
		return c.Status().Update(ctx, session)
	})
	if err != nil {
		return fmt.Errorf("record host stats in RestoreSession %s: %w", key, err)
	}
	for _, h := range out.HostRestoreStats {
		o.logf("recorded host %s %s in RestoreSession %s", h.Hostname, h.Phase, key)
		reason, kind, msg := ReasonHostRestoreSucceeded, corev1.EventTypeNormal, fmt.Sprintf("restore of host %s succeeded in %s", h.Hostname, h.Duration)
		if h.Phase != stashv1beta1.HostRestoreSucceeded {
			reason, kind, msg = ReasonHostRestoreFailed, corev1.EventTypeWarning, fmt.Sprintf("restore of host %s failed: %s", h.Hostname, h.Error)
		}
		if err := emit(ctx, c, session, "RestoreSession", kind, reason, msg, o.now()); err != nil {
			return err
		}
	}
	return nil
}

// emit records an Event about obj.
func emit(ctx context.Context, c client.Client, obj client.Object, kind, eventType, reason, message string, now time.Time) error {
	t := metav1.NewTime(now)
	apiVersion := stashv1beta1.GroupVersion.String()
	if _, ok := obj.(*stashv1alpha1.Repository); ok {
		apiVersion = stashv1alpha1.GroupVersion.String()
	}
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{GenerateName: obj.GetName() + "-", Namespace: obj.GetNamespace()},
		InvolvedObject: corev1.ObjectReference{
			APIVersion: apiVersion, Kind: kind,
			Name: obj.GetName(), Namespace: obj.GetNamespace(), UID: obj.GetUID(), ResourceVersion: obj.GetResourceVersion(),
		},
		Reason: reason, Message: message, Type: eventType,
		Source:         corev1.EventSource{Component: eventSource},
		FirstTimestamp: t, LastTimestamp: t, Count: 1,
	}
	if err := c.Create(ctx, ev); err != nil {
		return fmt.Errorf("record event %s on %s %s/%s: %w", reason, kind, obj.GetNamespace(), obj.GetName(), err)
	}
	return nil
}
