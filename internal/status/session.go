package status

import (
	"fmt"
	"sort"

	"k8s.io/utils/ptr"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/session"
)

// What the session lifecycle needs from the part of a session's status that
// is particular to its kind: a BackupSession records its hosts per target,
// a RestoreSession at the top. Both kinds come here, so that the lifecycle
// is written once.

// Start records that the session's Jobs were created for hosts hosts of
// target ref: the number of hosts that will report. An entry that exists
// is kept (update-status may have reported already, if an earlier start
// created the Job but could not record it).
func Start(s session.Object, ref stashv1beta1.TargetRef, hosts int32) {
	switch s := s.(type) {
	case *stashv1beta1.BackupSession:
		UpsertBackupHosts(&s.Status, ref, nil)
		for i := range s.Status.Targets {
			if t := &s.Status.Targets[i]; t.Ref.Kind == ref.Kind && t.Ref.Name == ref.Name {
				t.TotalHosts = ptr.To(hosts)
				t.Phase = TargetPhase(*t)
			}
		}
	case *stashv1beta1.RestoreSession:
		if s.Status.TotalHosts == nil {
			s.Status.TotalHosts = ptr.To(hosts)
		}
	default:
		panic(fmt.Sprintf("status.Start: %T is not a session kind", s))
	}
}

// Reports are the hosts' own reports in s, by host name, with the message
// a session's condition gives for each host that did not succeed.
func Reports(s session.Object) map[string]session.Report {
	reports := map[string]session.Report{}
	switch s := s.(type) {
	case *stashv1beta1.BackupSession:
		for _, t := range s.Status.Targets {
			for _, h := range t.Stats {
				r := session.Report{Phase: stashv1beta1.SessionSucceeded}
				switch {
				case h.Phase == stashv1beta1.HostBackupSucceeded:
				case h.FailedHook != "":
					r = session.Report{Phase: stashv1beta1.SessionFailed, Hook: h.FailedHook,
						Message: fmt.Sprintf("%s hook failed: %s %s host %s: %s", h.FailedHook, t.Ref.Kind, t.Ref.Name, h.Hostname, h.Error)}
				default:
					r = session.Report{Phase: stashv1beta1.SessionFailed,
						Message: fmt.Sprintf("backup failed: %s %s host %s: %s", t.Ref.Kind, t.Ref.Name, h.Hostname, h.Error)}
				}
				reports[h.Hostname] = r
			}
		}
	case *stashv1beta1.RestoreSession:
		for _, h := range s.Status.Stats {
			r := session.Report{Phase: stashv1beta1.SessionSucceeded}
			switch h.Phase {
			case stashv1beta1.HostRestoreSucceeded:
			case stashv1beta1.HostRestoreUnknown:
				r = session.Report{Phase: stashv1beta1.SessionUnknown}
			default:
				r = session.Report{Phase: stashv1beta1.SessionFailed}
			}
			switch {
			case r.Phase == stashv1beta1.SessionSucceeded:
			case h.FailedHook != "":
				r.Hook, r.Message = h.FailedHook, fmt.Sprintf("%s hook failed: host %s: %s", h.FailedHook, h.Hostname, h.Error)
			default:
				r.Message = fmt.Sprintf("restore did not succeed: host %s: %s: %s", h.Hostname, h.Phase, h.Error)
			}
			reports[h.Hostname] = r
		}
	default:
		panic(fmt.Sprintf("status.Reports: %T is not a session kind", s))
	}
	return reports
}

// ReportOf assigns reports to the session's hosts: a report to the host of
// its name, and a report under a name the session does not plan (a
// third-party Function that names its host itself) to a host that has
// none, in name order.
func ReportOf(hosts []string, reports map[string]session.Report) map[string]*session.Report {
	out := make(map[string]*session.Report, len(hosts))
	planned := make(map[string]bool, len(hosts))
	var waiting []string
	for _, h := range hosts {
		planned[h] = true
		if r, ok := reports[h]; ok {
			out[h] = &r
			continue
		}
		waiting = append(waiting, h)
	}
	var unplanned []string
	for name := range reports {
		if !planned[name] {
			unplanned = append(unplanned, name)
		}
	}
	sort.Strings(unplanned)
	for i, name := range unplanned {
		if i == len(waiting) {
			break
		}
		r := reports[name]
		out[waiting[i]] = &r
	}
	return out
}

// Settle records a final phase in the kind's own status: a backup's targets
// still waiting for their hosts fail, since those will not report now.
func Settle(s session.Object, phase stashv1beta1.SessionPhase) {
	b, ok := s.(*stashv1beta1.BackupSession)
	if !ok || phase != stashv1beta1.SessionFailed {
		return
	}
	for i := range b.Status.Targets {
		if b.Status.Targets[i].Phase == stashv1beta1.TargetBackupRunning {
			b.Status.Targets[i].Phase = stashv1beta1.TargetBackupFailed
		}
	}
}
