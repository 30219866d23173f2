// Package sessionview shows a BackupSession or a RestoreSession to a person:
// the lines `stash trigger --wait` prints as a session moves, and the page
// `stash describe` prints, with what to do next. It reads objects and never
// a cluster, so every rendering is a table test.
package sessionview

import (
	"fmt"
	"strings"
	"time"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/conditions"
)

// Session is what the views read of either session kind.
type Session struct {
	Kind      string // BackupSession or RestoreSession
	Namespace string
	Name      string
	Created   time.Time
	// BackupConfiguration is the invoker of a BackupSession; empty for a
	// RestoreSession.
	BackupConfiguration string
	// Repository and Target are a RestoreSession's (Target "Kind/name").
	Repository string
	Target     string
	Status     *stashv1beta1.SessionStatus
	// Results are the hosts' reports: a backup's snapshots, a restore's outcome.
	Results []HostResult
}

// HostResult is what one host reported at its end.
type HostResult struct {
	Host      string
	Phase     string
	Duration  string
	Error     string
	Snapshots []stashv1beta1.SnapshotStats
}

// FromBackup is the view of a BackupSession.
func FromBackup(bs *stashv1beta1.BackupSession) Session {
	s := Session{
		Kind: "BackupSession", Namespace: bs.Namespace, Name: bs.Name, Created: bs.CreationTimestamp.Time,
		BackupConfiguration: bs.Spec.Invoker.Name, Status: &bs.Status.SessionStatus,
	}
	for _, target := range bs.Status.Targets {
		for _, st := range target.Stats {
			s.Results = append(s.Results, HostResult{Host: st.Hostname, Phase: string(st.Phase), Duration: st.Duration, Error: st.Error, Snapshots: st.Snapshots})
		}
	}
	return s
}

// FromRestore is the view of a RestoreSession.
func FromRestore(rs *stashv1beta1.RestoreSession) Session {
	s := Session{
		Kind: "RestoreSession", Namespace: rs.Namespace, Name: rs.Name, Created: rs.CreationTimestamp.Time,
		Repository: rs.Spec.Repository.Name, Status: &rs.Status.SessionStatus,
	}
	if t := rs.Spec.Target; t != nil {
		s.Target = t.Ref.Kind + "/" + t.Ref.Name
	}
	for _, st := range rs.Status.Stats {
		s.Results = append(s.Results, HostResult{Host: st.Hostname, Phase: string(st.Phase), Duration: st.Duration, Error: st.Error})
	}
	return s
}

// Phase is the session's phase, Pending when none is set yet.
func (s Session) Phase() stashv1beta1.SessionPhase {
	if s.Status.Phase == "" {
		return stashv1beta1.SessionPending
	}
	return s.Status.Phase
}

// Outcome is the reason and message of the Succeeded condition, empty when
// the operator has not set it.
func (s Session) Outcome() (reason, message string) {
	if c := conditions.Get(s.Status.Conditions, stashv1beta1.ConditionSucceeded); c != nil {
		return c.Reason, c.Message
	}
	return "", ""
}

// ref is "kind/name" as kubectl takes it.
func (s Session) ref() string { return strings.ToLower(s.Kind) + "/" + s.Name }

// stepTime is how long a step ran, or has run by now, in whole seconds
// ("<1s" for a quick one: update-status often is); "" before it started
// or, for a running step, when now is zero (no clock to read).
func stepTime(st stashv1beta1.StepStatus, now time.Time) string {
	if st.StartTime == nil || (st.FinishTime == nil && now.IsZero()) {
		return ""
	}
	end := now
	if st.FinishTime != nil {
		end = st.FinishTime.Time
	}
	d := end.Sub(st.StartTime.Time).Round(time.Second)
	if d < time.Second {
		return "<1s"
	}
	return d.String()
}

// finished reports whether a step has an outcome.
func finished(st stashv1beta1.StepStatus) bool {
	return st.Phase == stashv1beta1.StepSucceeded || st.Phase == stashv1beta1.StepFailed
}

// age is how long ago t was, as kubectl writes it (5s, 3m, 2h, 4d).
func age(t, now time.Time) string {
	d := now.Sub(t)
	switch {
	case t.IsZero():
		return "-"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}
