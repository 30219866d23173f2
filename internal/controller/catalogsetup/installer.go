// Package catalogsetup installs the default Functions and Tasks when the operator
// starts. An object the user edited is never overwritten: what we wrote is
// marked with the hash of its spec, and only objects whose spec still has
// that hash are updated to a newer catalog (Stash overwrote them on every
// start).
package catalogsetup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	defaultcatalog "github.com/stash-operator/stash/internal/defaultcatalog"
)

// HashAnnotation holds the hash of the spec the operator last wrote.
const HashAnnotation = "stash.appscode.com/catalog-spec-hash"

// Outcome of installing one object.
type Outcome string

const (
	Created       Outcome = "Created"
	Updated       Outcome = "Updated"
	UpToDate      Outcome = "UpToDate"
	KeptUserEdits Outcome = "KeptUserEdits"
)

// Report says what happened to each object, by "Kind/name".
type Report map[string]Outcome

// +kubebuilder:rbac:groups=stash.appscode.com,resources=functions;tasks,verbs=get;list;watch;create;update

// Installer runs once when the manager starts (as the leader).
type Installer struct {
	Client client.Client
	// Image of the stash binary that the catalog Functions run.
	Image string
}

// Start installs the catalog; it implements manager.Runnable.
func (in *Installer) Start(ctx context.Context) error {
	report, err := Install(ctx, in.Client, in.Image)
	logger := log.FromContext(ctx).WithName("catalog")
	for obj, outcome := range report {
		if outcome == KeptUserEdits {
			logger.Info("kept a default catalog object the user edited; delete it to get the operator's version", "object", obj)
		}
	}
	if err != nil {
		return fmt.Errorf("install the default catalog: %w", err)
	}
	logger.Info("default catalog installed", "objects", len(report))
	return nil
}

// NeedLeaderElection: only the leader writes the catalog.
func (in *Installer) NeedLeaderElection() bool { return true }

// Install creates or updates the default catalog for image.
func Install(ctx context.Context, c client.Client, image string) (Report, error) {
	fns, tasks, err := defaultcatalog.Load(image)
	if err != nil {
		return nil, err
	}
	report := Report{}
	for _, fn := range fns {
		outcome, err := ensure(ctx, c, fn, &stashv1beta1.Function{}, fn.Spec,
			func(existing client.Object) any { return existing.(*stashv1beta1.Function).Spec },
			func(existing client.Object) { existing.(*stashv1beta1.Function).Spec = *fn.Spec.DeepCopy() })
		if err != nil {
			return report, err
		}
		report["Function/"+fn.Name] = outcome
	}
	for _, task := range tasks {
		outcome, err := ensure(ctx, c, task, &stashv1beta1.Task{}, task.Spec,
			func(existing client.Object) any { return existing.(*stashv1beta1.Task).Spec },
			func(existing client.Object) { existing.(*stashv1beta1.Task).Spec = *task.Spec.DeepCopy() })
		if err != nil {
			return report, err
		}
		report["Task/"+task.Name] = outcome
	}
	return report, nil
}

// ensure brings one object to the desired spec unless the user owns it now.
func ensure(ctx context.Context, c client.Client, desired, existing client.Object, desiredSpec any,
	specOf func(client.Object) any, setSpec func(client.Object)) (Outcome, error) {
	want, err := specHash(desiredSpec)
	if err != nil {
		return "", err
	}
	err = c.Get(ctx, client.ObjectKeyFromObject(desired), existing)
	if apierrors.IsNotFound(err) {
		desired.SetAnnotations(map[string]string{HashAnnotation: want})
		if err := c.Create(ctx, desired); err != nil && !apierrors.IsAlreadyExists(err) {
			return "", fmt.Errorf("create %s: %w", desired.GetName(), err)
		}
		return Created, nil
	}
	if err != nil {
		return "", fmt.Errorf("get %s: %w", desired.GetName(), err)
	}
	have, err := specHash(specOf(existing))
	if err != nil {
		return "", err
	}
	written := existing.GetAnnotations()[HashAnnotation]
	switch {
	case have == want:
		return UpToDate, nil
	case written == "" || written != have:
		// Not ours, or edited since we wrote it.
		return KeptUserEdits, nil
	}
	setSpec(existing)
	annotations := existing.GetAnnotations()
	annotations[HashAnnotation] = want
	existing.SetAnnotations(annotations)
	if err := c.Update(ctx, existing); err != nil {
		return "", fmt.Errorf("update %s: %w", desired.GetName(), err)
	}
	return Updated, nil
}

// specHash is the sha256 of a spec's JSON: stable for equal specs.
func specHash(spec any) (string, error) {
	data, err := json.Marshal(spec)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}
