package workload

import (
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
)

// Spec is what an invoker says of its target.
type Spec struct {
	Ref      stashv1beta1.TargetRef
	Mounts   []corev1.VolumeMount
	Replicas *int32
	// Parallelism is how many hosts run at once (at least 1).
	Parallelism int
	// Restore: the rules that choose the hosts, the claims to create, and
	// whether the workload keeps running.
	Restore        bool
	Rules          []stashv1beta1.Rule
	ClaimTemplates []stashv1beta1.PersistentVolumeClaim
	WhileRunning   bool
}

// DefaultParallelism is how many of a session's hosts run at once unless
// the target says otherwise: a 50-replica StatefulSet must not start 50
// restics at once.
const DefaultParallelism = 2

// SpecOf reads the target of invoker, a BackupConfiguration or a
// RestoreSession.
func SpecOf(invoker metav1.Object) Spec {
	s := Spec{Parallelism: DefaultParallelism}
	switch inv := invoker.(type) {
	case *stashv1beta1.BackupConfiguration:
		if t := inv.Spec.Target; t != nil {
			s.Ref, s.Mounts, s.Replicas = t.Ref, t.VolumeMounts, t.Replicas
			if t.Parallelism != nil {
				s.Parallelism = int(*t.Parallelism)
			}
		}
	case *stashv1beta1.RestoreSession:
		s.Restore, s.Rules = true, inv.Spec.Rules
		if t := inv.Spec.Target; t != nil {
			s.Ref, s.Mounts, s.Replicas, s.ClaimTemplates, s.WhileRunning = t.Ref, t.VolumeMounts, t.Replicas, t.VolumeClaimTemplates, t.RestoreWhileRunning
			if t.Parallelism != nil {
				s.Parallelism = int(*t.Parallelism)
			}
		}
	}
	s.Parallelism = max(s.Parallelism, 1)
	return s
}

// Target is a Spec with what planning reads of the cluster.
type Target struct {
	Spec
	// Workload is set when the target is a workload; nil for a claim, a
	// database, or a restore into volumeClaimTemplates only.
	Workload *Workload
	Pods     []corev1.Pod
}

// SingleHost is the one host of a claim or a database.
var SingleHost = Host{Name: HostName(0), Ordinal: -1}

// ErrNoPods: a DaemonSet whose pods run on no node has no host.
var ErrNoPods = errors.New("its pods run on no node: there is nothing to back up or restore on")

// Plan lists the hosts of t: one, host-0, for a claim or a database; a
// workload's (Hosts) or a restore's claim ordinals (ClaimHosts), of which a
// restore keeps those a rule applies to. A workload backup checks that its
// volumes can be mounted. Errors are the user's to fix.
func Plan(t Target) ([]Host, error) {
	var hosts []Host
	switch {
	case t.Workload != nil:
		hosts = Hosts(*t.Workload, t.Replicas, t.Pods)
		if len(hosts) == 0 {
			return nil, fmt.Errorf("%s %q: %w", t.Workload.Kind, t.Workload.Name, ErrNoPods)
		}
		if !t.Restore {
			// Every host mounts the same template's volumes: one check serves all.
			if _, err := Volumes(*t.Workload, t.Mounts, 0); err != nil {
				return nil, err
			}
		}
	case t.Restore && len(t.ClaimTemplates) > 0:
		hosts = ClaimHosts(t.Replicas)
	default:
		return []Host{SingleHost}, nil
	}
	if t.Restore {
		if hosts = RestoreHosts(hosts, t.Rules); len(hosts) == 0 {
			return nil, errors.New("no rule of spec.rules applies to any host of the target: name one of them in a rule's targetHosts, or add a rule without targetHosts")
		}
	}
	return hosts, nil
}

// HostVolumes are the target's volumes as the Job of host mounts them, and
// for a restore into volumeClaimTemplates the claims to create first; nil
// for a claim or a database, whose Task names its own volumes.
func HostVolumes(t Target, h Host, namespace string) ([]corev1.Volume, []corev1.PersistentVolumeClaim, error) {
	switch {
	case t.Workload != nil:
		v, err := Volumes(*t.Workload, t.Mounts, h.Ordinal)
		return v, nil, err
	case t.Restore && len(t.ClaimTemplates) > 0:
		claims, v := Claims(t.ClaimTemplates, namespace, h.Ordinal)
		return v, claims, nil
	}
	return nil, nil, nil
}
