// Package credentials decides which Secrets the Jobs of a database target
// may read: those its AppBinding names, and of those only the ones that let
// that AppBinding use them.
//
// Without the rule, the operator would be a confused deputy: whoever may
// write an AppBinding (and a BackupConfiguration), but not read Secrets,
// could point spec.secret at any Secret of the namespace, rename any of its
// keys into the password key with secretTransforms, and point clientConfig
// at a host of their own; the database Function would send them the value.
// A Secret allows an AppBinding when the AppBinding owns it, or when its
// stash.appscode.com/appbindings annotation names it: both are facts that
// only someone who may write the Secret can establish.
package credentials

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	appcatalogv1alpha1 "github.com/stash-operator/stash/api/appcatalog/v1alpha1"
	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
)

// A Use is one Secret an AppBinding reads, and the field that names it.
type Use struct {
	Secret string
	Field  string // e.g. spec.secret.name
}

// Uses are the Secrets ab reads, each once, in the order the Function reads
// them: spec.secret, then each secretTransforms addKeysFrom.
func Uses(ab *appcatalogv1alpha1.AppBinding) []Use {
	var uses []Use
	add := func(name, field string) {
		if name == "" || slices.ContainsFunc(uses, func(u Use) bool { return u.Secret == name }) {
			return
		}
		uses = append(uses, Use{Secret: name, Field: field})
	}
	if s := ab.Spec.Secret; s != nil {
		add(s.Name, "spec.secret.name")
	}
	for i, t := range ab.Spec.SecretTransforms {
		if t.AddKeysFrom != nil && t.AddKeysFrom.SecretRef != nil {
			add(t.AddKeysFrom.SecretRef.Name, fmt.Sprintf("spec.secretTransforms[%d].addKeysFrom.secretRef.name", i))
		}
	}
	return uses
}

// Allowed is nil when secret lets ab use it: ab owns it (by UID), or its
// AnnotationAppBindings names ab. Otherwise the error says which Secret,
// through which field, and the command that allows it.
func Allowed(ab *appcatalogv1alpha1.AppBinding, use Use, secret *corev1.Secret) error {
	for _, o := range secret.OwnerReferences {
		if o.UID == ab.UID && o.Kind == "AppBinding" {
			return nil
		}
	}
	for _, name := range strings.Split(secret.Annotations[stashv1beta1.AnnotationAppBindings], ",") {
		if strings.TrimSpace(name) == ab.Name {
			return nil
		}
	}
	return fmt.Errorf("the Secret %q (AppBinding %q %s) does not allow AppBinding %q to use it: "+
		"whoever may write the Secret allows it with `kubectl -n %s annotate secret %s %s=%s` "+
		"(a comma-separated list of AppBindings), so that an AppBinding cannot send a Secret its author may not read to a host of its choosing",
		use.Secret, ab.Name, use.Field, ab.Name, ab.Namespace, use.Secret, stashv1beta1.AnnotationAppBindings, ab.Name)
}
