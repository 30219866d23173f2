// Package workload plans the hosts of a workload's backup or restore: which
// hosts there are (Stash's names: host-0 for a Deployment, host-<ordinal>
// per StatefulSet replica, a DaemonSet's node names), where each one's Job
// runs (on its pod's node: a ReadWriteOnce volume is shared only there) and
// which volumes it mounts (the pod template's, by the target's
// volumeMounts). It is pure: the controller reads the objects, this
// package decides.
package workload

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
)

// Workload is what planning needs of a Deployment, StatefulSet, DaemonSet,
// ReplicaSet or ReplicationController.
type Workload struct {
	Kind, Name string
	// Replicas is spec.replicas (1 when unset); a DaemonSet has none.
	Replicas int32
	// Template is the pod template: its volumes are what is backed up.
	Template corev1.PodTemplateSpec
	// ClaimTemplates are a StatefulSet's volumeClaimTemplates: replica n
	// mounts claim <template>-<statefulset>-<n>.
	ClaimTemplates []corev1.PersistentVolumeClaim
}

// Host is one host of a workload: what the session records of it.
type Host struct {
	Name string
	// Ordinal is a StatefulSet replica's, -1 otherwise.
	Ordinal int
	// Pod is the workload's pod of the host, if one runs; Node is its node.
	Pod, Node string
}

// Kind names.
const (
	Deployment            = "Deployment"
	StatefulSet           = "StatefulSet"
	DaemonSet             = "DaemonSet"
	ReplicaSet            = "ReplicaSet"
	ReplicationController = "ReplicationController"
)

// Hosts are the hosts of w, given its pods: one, host-0, for a Deployment,
// ReplicaSet or ReplicationController (on a running pod's node, if any);
// one per replica for a StatefulSet, host-0 to host-<n-1>, limited to
// replicas when set, each on its own pod's node; one per node a DaemonSet's
// pod runs on, named after the node. Pods are matched by name (StatefulSet)
// or taken as given (the caller selects the workload's own).
func Hosts(w Workload, replicas *int32, pods []corev1.Pod) []Host {
	live := runningPods(pods)
	switch w.Kind {
	case StatefulSet:
		n := w.Replicas
		if replicas != nil && *replicas < n {
			n = *replicas
		}
		hosts := make([]Host, 0, n)
		for i := range int(n) {
			h := Host{Name: HostName(i), Ordinal: i}
			if p, ok := live[fmt.Sprintf("%s-%d", w.Name, i)]; ok {
				h.Pod, h.Node = p.Name, p.Spec.NodeName
			}
			hosts = append(hosts, h)
		}
		return hosts
	case DaemonSet:
		var hosts []Host
		for _, p := range sortedPods(live) {
			if p.Spec.NodeName == "" || slices.ContainsFunc(hosts, func(h Host) bool { return h.Name == p.Spec.NodeName }) {
				continue
			}
			hosts = append(hosts, Host{Name: p.Spec.NodeName, Ordinal: -1, Pod: p.Name, Node: p.Spec.NodeName})
		}
		// By node, so that the Jobs' indexes do not depend on pod age.
		slices.SortFunc(hosts, func(a, b Host) int { return strings.Compare(a.Name, b.Name) })
		return hosts
	}
	h := Host{Name: HostName(0), Ordinal: -1}
	if ps := sortedPods(live); len(ps) > 0 {
		h.Pod, h.Node = ps[0].Name, ps[0].Spec.NodeName
	}
	return []Host{h}
}

// HostName is Stash's name of host ordinal n.
func HostName(n int) string { return "host-" + strconv.Itoa(n) }

// runningPods are the pods that run or are about to, by name: not
// finished, not being deleted, and scheduled.
func runningPods(pods []corev1.Pod) map[string]corev1.Pod {
	live := map[string]corev1.Pod{}
	for _, p := range pods {
		if p.DeletionTimestamp != nil || p.Spec.NodeName == "" ||
			p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		live[p.Name] = p
	}
	return live
}

// sortedPods puts ready pods first, then the oldest: the pod whose node a
// single host's Job joins should be the one that serves.
func sortedPods(pods map[string]corev1.Pod) []corev1.Pod {
	out := make([]corev1.Pod, 0, len(pods))
	for _, p := range pods {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b corev1.Pod) int {
		if ra, rb := ready(a), ready(b); ra != rb {
			if ra {
				return -1
			}
			return 1
		}
		return cmp.Or(a.CreationTimestamp.Compare(b.CreationTimestamp.Time), strings.Compare(a.Name, b.Name))
	})
	return out
}

func ready(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// Volumes are the volumes the Job of host ordinal mounts for mounts: the
// pod template's volume of each name, or for a StatefulSet the replica's
// claim of the volumeClaimTemplate of that name. An emptyDir is refused: its
// data lives only inside the workload's pod, which a Job cannot reach.
func Volumes(w Workload, mounts []corev1.VolumeMount, ordinal int) ([]corev1.Volume, error) {
	if len(mounts) == 0 {
		return nil, fmt.Errorf("spec.target.volumeMounts: name the %s's volumes to back up (its pod template has %s)", w.Kind, volumeNames(w))
	}
	var volumes []corev1.Volume
	for i, m := range mounts {
		v, err := volume(w, m.Name, ordinal)
		if err != nil {
			return nil, fmt.Errorf("spec.target.volumeMounts[%d].name: %w", i, err)
		}
		if !slices.ContainsFunc(volumes, func(o corev1.Volume) bool { return o.Name == v.Name }) {
			volumes = append(volumes, v)
		}
	}
	return volumes, nil
}

func volume(w Workload, name string, ordinal int) (corev1.Volume, error) {
	for _, ct := range w.ClaimTemplates {
		if ct.Name == name {
			return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{
				ClaimName: fmt.Sprintf("%s-%s-%d", name, w.Name, max(ordinal, 0))}}}, nil
		}
	}
	for _, v := range w.Template.Spec.Volumes {
		if v.Name != name {
			continue
		}
		if v.EmptyDir != nil {
			return corev1.Volume{}, fmt.Errorf("volume %q of %s %q is an emptyDir: its data lives only in the pod, out of a backup Job's reach; back up a persistent volume instead", name, w.Kind, w.Name)
		}
		return *v.DeepCopy(), nil
	}
	return corev1.Volume{}, fmt.Errorf("%s %q has no volume %q (it has %s)", w.Kind, w.Name, name, volumeNames(w))
}

func volumeNames(w Workload) string {
	var names []string
	for _, ct := range w.ClaimTemplates {
		names = append(names, ct.Name)
	}
	for _, v := range w.Template.Spec.Volumes {
		names = append(names, v.Name)
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// Unshareable says why the volumes of host cannot be mounted by a second
// pod while its own runs: a claim of access mode ReadWriteOncePod. claims
// are the namespace's claims by name; an unknown claim is not judged here.
func Unshareable(h Host, volumes []corev1.Volume, claims map[string]*corev1.PersistentVolumeClaim) string {
	if h.Pod == "" {
		return ""
	}
	for _, v := range volumes {
		if v.PersistentVolumeClaim == nil {
			continue
		}
		if c := claims[v.PersistentVolumeClaim.ClaimName]; c != nil && slices.Contains(c.Spec.AccessModes, corev1.ReadWriteOncePod) {
			return fmt.Sprintf("volume %q is claim %q of access mode ReadWriteOncePod, which pod %s has mounted: no other pod may mount it while that pod runs; "+
				"stop the workload for the backup, or use ReadWriteOnce", v.Name, v.PersistentVolumeClaim.ClaimName, h.Pod)
		}
	}
	return ""
}

// RestoreHosts are the hosts a RestoreSession restores: hosts minus those
// no rule applies to (a rule naming the host, else the catch-all; no rules
// at all restore every host from its own latest snapshots).
func RestoreHosts(hosts []Host, rules []stashv1beta1.Rule) []Host {
	if len(rules) == 0 {
		return hosts
	}
	var out []Host
	for _, h := range hosts {
		if ruleApplies(h.Name, rules) {
			out = append(out, h)
		}
	}
	return out
}

func ruleApplies(host string, rules []stashv1beta1.Rule) bool {
	for _, r := range rules {
		if len(r.TargetHosts) == 0 || slices.Contains(r.TargetHosts, host) {
			return true
		}
	}
	return false
}

// ClaimHosts are the hosts of a restore into volumeClaimTemplates (no
// workload): replicas of them (default 1), host-0 to host-<n-1>.
func ClaimHosts(replicas *int32) []Host {
	n := int32(1)
	if replicas != nil {
		n = *replicas
	}
	hosts := make([]Host, 0, n)
	for i := range int(n) {
		hosts = append(hosts, Host{Name: HostName(i), Ordinal: i})
	}
	return hosts
}

// Claims are the claims of a restore's volumeClaimTemplates for host
// ordinal: ${POD_ORDINAL} in their names (and labels, annotations) is the
// ordinal, as in Stash. The volumes that mount them are named after the
// templates as written (before substitution), so that the target's
// volumeMounts can name them.
func Claims(templates []stashv1beta1.PersistentVolumeClaim, namespace string, ordinal int) ([]corev1.PersistentVolumeClaim, []corev1.Volume) {
	o := strconv.Itoa(max(ordinal, 0))
	sub := func(s string) string { return strings.ReplaceAll(s, "${POD_ORDINAL}", o) }
	var claims []corev1.PersistentVolumeClaim
	var volumes []corev1.Volume
	for _, t := range templates {
		c := corev1.PersistentVolumeClaim{Spec: *t.Spec.DeepCopy()}
		c.Name, c.Namespace = sub(t.Name), namespace
		c.Labels, c.Annotations = subMap(t.Labels, sub), subMap(t.Annotations, sub)
		claims = append(claims, c)
		volumes = append(volumes, corev1.Volume{Name: TemplateVolume(t.Name), VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: c.Name}}})
	}
	return claims, volumes
}

// TemplateVolume is the name of the volume of a claim template: its name
// without ${POD_ORDINAL} and its separator, so that "data-${POD_ORDINAL}"
// is mounted as volume "data".
func TemplateVolume(template string) string {
	v := strings.ReplaceAll(template, "${POD_ORDINAL}", "")
	return strings.Trim(v, "-.")
}

func subMap(m map[string]string, sub func(string) string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[sub(k)] = sub(v)
	}
	return out
}
