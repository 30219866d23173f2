package lifecycle

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appcatalogv1alpha1 "github.com/stash-operator/stash/api/appcatalog/v1alpha1"
	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/controller/inputs"
	"github.com/stash-operator/stash/internal/resolve"
	"github.com/stash-operator/stash/internal/session"
	"github.com/stash-operator/stash/internal/workload"
)

// Planning a session's hosts: which hosts it has, recorded in its status
// before any Job is made, and for each one, when its Job is made, the
// target's volumes as that Job mounts them. The workload, its pods and
// claims are read from the API server: the operator caches none of them.
//
// +kubebuilder:rbac:groups=apps,resources=deployments;statefulsets;daemonsets;replicasets,verbs=get
// +kubebuilder:rbac:groups="",resources=replicationcontrollers;persistentvolumeclaims,verbs=get
// +kubebuilder:rbac:groups="",resources=persistentvolumeclaims,verbs=create
// +kubebuilder:rbac:groups="",resources=pods,verbs=list
// +kubebuilder:rbac:groups=discovery.k8s.io,resources=endpointslices,verbs=list
// +kubebuilder:rbac:groups=appcatalog.appscode.com,resources=appbindings,verbs=get

// planTarget is the pure planner's view of the target: the workload and
// its pods read from the API server (the operator caches neither); found
// is false when the target is a workload that does not exist.
func (r *Runner) planTarget(ctx context.Context, namespace string, t workload.Spec) (workload.Target, bool, error) {
	wt := workload.Target{Spec: t}
	if !resolve.IsWorkload(t.Ref) {
		return wt, true, nil
	}
	w, pods, found, err := r.readWorkload(ctx, namespace, t.Ref)
	if err != nil || !found {
		return wt, found, err
	}
	wt.Workload, wt.Pods = &w, pods
	return wt, true, nil
}

// planHosts lists the session's hosts (workload.Plan). A plan that cannot
// be made because of the user's objects gives a verdict instead.
func (r *Runner) planHosts(ctx context.Context, namespace string, t workload.Spec) ([]stashv1beta1.HostStatus, *session.Verdict, error) {
	fail := func(msg string) ([]stashv1beta1.HostStatus, *session.Verdict, error) {
		v := session.Failed(stashv1beta1.ReasonJobCreationFailed, msg)
		return nil, &v, nil
	}
	wt, found, err := r.planTarget(ctx, namespace, t)
	if err != nil {
		return nil, nil, err
	}
	if !found {
		return fail(fmt.Sprintf("%s %q (spec.target.ref) does not exist in namespace %s", t.Ref.Kind, t.Ref.Name, namespace))
	}
	hosts, err := workload.Plan(wt)
	if err != nil {
		return fail(err.Error())
	}
	out := make([]stashv1beta1.HostStatus, len(hosts))
	for i, h := range hosts {
		out[i] = stashv1beta1.HostStatus{Name: h.Name, Pod: h.Pod, Node: h.Node}
		if wt.Workload != nil && !t.Restore {
			if out[i].Problem, err = r.unshareable(ctx, namespace, wt, h); err != nil {
				return nil, nil, err
			}
		}
	}
	return out, nil, nil
}

// targetPod is the pod where the hooks of a target that is not a workload
// act (workload.PodBehindService, PodMountingClaim); empty when none runs.
func (r *Runner) targetPod(ctx context.Context, namespace string, ref stashv1beta1.TargetRef) (string, error) {
	switch ref.Kind {
	case "AppBinding":
		var ab appcatalogv1alpha1.AppBinding
		if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: ref.Name}, &ab); err != nil {
			return "", client.IgnoreNotFound(fmt.Errorf("get AppBinding %s/%s: %w", namespace, ref.Name, err))
		}
		svc := ab.Spec.ClientConfig.Service
		if svc == nil {
			return "", nil // an address outside the cluster: no pod to find
		}
		var slices discoveryv1.EndpointSliceList
		if err := r.APIReader.List(ctx, &slices, client.InNamespace(namespace), client.MatchingLabels{discoveryv1.LabelServiceName: svc.Name}); err != nil {
			return "", fmt.Errorf("list the endpoints of Service %s/%s: %w", namespace, svc.Name, err)
		}
		return workload.PodBehindService(slices.Items), nil
	case "PersistentVolumeClaim":
		var pods corev1.PodList
		if err := r.APIReader.List(ctx, &pods, client.InNamespace(namespace)); err != nil {
			return "", fmt.Errorf("list the pods of namespace %s: %w", namespace, err)
		}
		return workload.PodMountingClaim(pods.Items, ref.Name), nil
	}
	return "", nil
}

// unshareable is why the volumes of host h cannot be mounted beside its
// pod (workload.Unshareable), reading their claims.
func (r *Runner) unshareable(ctx context.Context, namespace string, wt workload.Target, h workload.Host) (string, error) {
	volumes, _, err := workload.HostVolumes(wt, h, namespace)
	if err != nil {
		return "", nil // reported by the plan
	}
	claims := map[string]*corev1.PersistentVolumeClaim{}
	for _, v := range volumes {
		if v.PersistentVolumeClaim == nil {
			continue
		}
		var c corev1.PersistentVolumeClaim
		err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: v.PersistentVolumeClaim.ClaimName}, &c)
		switch {
		case err == nil:
			claims[c.Name] = &c
		case !apierrors.IsNotFound(err):
			return "", fmt.Errorf("get PersistentVolumeClaim %s/%s: %w", namespace, v.PersistentVolumeClaim.ClaimName, err)
		}
	}
	return workload.Unshareable(h, volumes, claims), nil
}

// resolveHost is the resolver's view of host number index of the session:
// its name and place, and the target's volumes as its Job mounts them (for
// a restore into volumeClaimTemplates, the claims are created first).
func (r *Runner) resolveHost(ctx context.Context, s Session, t workload.Spec, index int, hs stashv1beta1.HostStatus) (resolve.Host, error) {
	h := workloadHost(hs)
	wt, found, err := r.planTarget(ctx, s.GetNamespace(), t)
	if err != nil {
		return resolve.Host{}, err
	}
	if !found {
		return resolve.Host{}, fmt.Errorf("%s %q (spec.target.ref) no longer exists in namespace %s", t.Ref.Kind, t.Ref.Name, s.GetNamespace())
	}
	volumes, claims, err := workload.HostVolumes(wt, h, s.GetNamespace())
	if err != nil {
		return resolve.Host{}, err
	}
	for i := range claims {
		if err := r.Client.Create(ctx, &claims[i]); err != nil && !apierrors.IsAlreadyExists(err) {
			return resolve.Host{}, fmt.Errorf("create PersistentVolumeClaim %s/%s of spec.target.volumeClaimTemplates: %w", s.GetNamespace(), claims[i].Name, err)
		}
	}
	host := resolve.Host{Name: hs.Name, Index: index, Ordinal: -1, Node: hs.Node, Volumes: volumes, Pod: hs.Pod}
	if (wt.Workload != nil && wt.Workload.Kind == workload.StatefulSet) || len(claims) > 0 {
		host.Ordinal = h.Ordinal
	}
	if host.App, err = inputs.App(ctx, r.APIReader, s.GetNamespace(), t.Ref); err != nil {
		return resolve.Host{}, err
	}
	return host, nil
}

// workloadHost reads a recorded host back: host-<n> is ordinal n.
func workloadHost(hs stashv1beta1.HostStatus) workload.Host {
	h := workload.Host{Name: hs.Name, Ordinal: -1, Pod: hs.Pod, Node: hs.Node}
	if n, ok := strings.CutPrefix(hs.Name, "host-"); ok {
		if i, err := strconv.Atoi(n); err == nil {
			h.Ordinal = i
		}
	}
	return h
}

// readWorkload reads the workload ref names and its pods, from the API
// server; found is false when it does not exist.
func (r *Runner) readWorkload(ctx context.Context, namespace string, ref stashv1beta1.TargetRef) (workload.Workload, []corev1.Pod, bool, error) {
	obj, err := workload.NewObject(ref.Kind)
	if err != nil {
		return workload.Workload{}, nil, false, err
	}
	co := obj.(client.Object)
	if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: ref.Name}, co); err != nil {
		if apierrors.IsNotFound(err) {
			return workload.Workload{}, nil, false, nil
		}
		return workload.Workload{}, nil, false, fmt.Errorf("get %s %s/%s: %w", ref.Kind, namespace, ref.Name, err)
	}
	w, sel, err := workload.FromObject(obj)
	if err != nil {
		return workload.Workload{}, nil, false, err
	}
	var pods corev1.PodList
	if err := r.APIReader.List(ctx, &pods, client.InNamespace(namespace), client.MatchingLabelsSelector{Selector: sel}); err != nil {
		return workload.Workload{}, nil, false, fmt.Errorf("list the pods of %s %s/%s: %w", ref.Kind, namespace, ref.Name, err)
	}
	return w, pods.Items, true, nil
}
