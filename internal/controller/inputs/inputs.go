// Package inputs reads, from the API server (through the manager's cache),
// what the resolver needs: the Tasks and Functions, and a Repository; and
// what a database target's Jobs may read: its AppBinding's credentials; and
// whether a namespace's Pod Security level admits a Job's pod.
package inputs

import (
	"context"
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appcatalogv1alpha1 "github.com/stash-operator/stash/api/appcatalog/v1alpha1"
	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/credentials"
	"github.com/stash-operator/stash/internal/podsecurity"
	"github.com/stash-operator/stash/internal/resolve"
)

// Catalog lists every Task and Function. The resolver needs all of them to
// suggest a name when a step names one that does not exist.
func Catalog(ctx context.Context, c client.Reader) (resolve.Catalog, error) {
	var tasks stashv1beta1.TaskList
	if err := c.List(ctx, &tasks); err != nil {
		return resolve.Catalog{}, fmt.Errorf("list Tasks: %w", err)
	}
	var fns stashv1beta1.FunctionList
	if err := c.List(ctx, &fns); err != nil {
		return resolve.Catalog{}, fmt.Errorf("list Functions: %w", err)
	}
	cat := resolve.Catalog{
		Tasks:     make(map[string]*stashv1beta1.Task, len(tasks.Items)),
		Functions: make(map[string]*stashv1beta1.Function, len(fns.Items)),
	}
	for i := range tasks.Items {
		cat.Tasks[tasks.Items[i].Name] = &tasks.Items[i]
	}
	for i := range fns.Items {
		cat.Functions[fns.Items[i].Name] = &fns.Items[i]
	}
	return cat, nil
}

// App is what the resolver's TARGET_APP_* say of a target that is an
// AppBinding: nil for another target, or an AppBinding that does not exist
// (the target's check reports that).
func App(ctx context.Context, c client.Reader, namespace string, ref stashv1beta1.TargetRef) (*resolve.App, error) {
	if ref.Kind != "AppBinding" || ref.Name == "" {
		return nil, nil
	}
	var ab appcatalogv1alpha1.AppBinding
	err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: ref.Name}, &ab)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get AppBinding %s/%s: %w", namespace, ref.Name, err)
	}
	return resolve.AppOf(&ab), nil
}

// Repository gets a Repository, or nil when it does not exist (the resolver
// then reports it as not found, with the invoker's field path).
func Repository(ctx context.Context, c client.Reader, namespace, name string) (*stashv1alpha1.Repository, error) {
	if name == "" {
		return nil, nil
	}
	var repo stashv1alpha1.Repository
	err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &repo)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get Repository %s/%s: %w", namespace, name, err)
	}
	return &repo, nil
}

// A Credential is one Secret an AppBinding reads (credentials.Uses), as
// the cluster has it: whether it exists, and if so why it does not allow
// the AppBinding (nil: it does).
type Credential struct {
	credentials.Use
	Found   bool
	Refused error
}

// Credentials reads the metadata (never the data) of each Secret ab reads
// and judges it with credentials.Allowed.
func Credentials(ctx context.Context, c client.Reader, ab *appcatalogv1alpha1.AppBinding) ([]Credential, error) {
	var out []Credential
	for _, use := range credentials.Uses(ab) {
		meta := &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}}
		err := c.Get(ctx, client.ObjectKey{Namespace: ab.Namespace, Name: use.Secret}, meta)
		switch {
		case apierrors.IsNotFound(err):
			out = append(out, Credential{Use: use})
		case err != nil:
			return nil, fmt.Errorf("get Secret %s/%s of AppBinding %s: %w", ab.Namespace, use.Secret, ab.Name, err)
		default:
			out = append(out, Credential{Use: use, Found: true,
				Refused: credentials.Allowed(ab, use, &corev1.Secret{ObjectMeta: meta.ObjectMeta})})
		}
	}
	return out, nil
}

// The namespace's Pod Security labels, read before a Job is made.
//
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get

// PodSecurityRefusal is why the Pod Security level that the namespace of
// job enforces would refuse its pod, with what to do (package
// podsecurity); "" when it would admit it. A namespace that cannot be read
// is no reason to hold the Job back: the API server still decides.
func PodSecurityRefusal(ctx context.Context, c client.Reader, job *batchv1.Job) (string, error) {
	var ns corev1.Namespace
	if err := c.Get(ctx, client.ObjectKey{Name: job.Namespace}, &ns); err != nil {
		if apierrors.IsNotFound(err) || apierrors.IsForbidden(err) {
			return "", nil
		}
		return "", fmt.Errorf("get Namespace %s for its Pod Security level: %w", job.Namespace, err)
	}
	t := &job.Spec.Template
	return podsecurity.Refusal(ns.Name, ns.Labels, &t.ObjectMeta, &t.Spec)
}
