package credentials

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	appcatalogv1alpha1 "github.com/stash-operator/stash/api/appcatalog/v1alpha1"
	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
)

func appBinding() *appcatalogv1alpha1.AppBinding {
	return &appcatalogv1alpha1.AppBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: "demo", Name: "shop-db", UID: "ab-uid"},
		Spec: appcatalogv1alpha1.AppBindingSpec{
			Secret: &corev1.LocalObjectReference{Name: "shop-db-auth"},
		},
	}
}

func TestUses(t *testing.T) {
	addKeysFrom := func(name string) appcatalogv1alpha1.SecretTransform {
		return appcatalogv1alpha1.SecretTransform{AddKeysFrom: &appcatalogv1alpha1.AddKeysFromTransform{SecretRef: &corev1.LocalObjectReference{Name: name}}}
	}
	tests := map[string]struct {
		edit func(ab *appcatalogv1alpha1.AppBinding)
		want []Use
	}{
		"spec.secret": {want: []Use{{"shop-db-auth", "spec.secret.name"}}},
		"no secret":   {edit: func(ab *appcatalogv1alpha1.AppBinding) { ab.Spec.Secret = nil }},
		"addKeysFrom too, each Secret once": {
			edit: func(ab *appcatalogv1alpha1.AppBinding) {
				ab.Spec.SecretTransforms = []appcatalogv1alpha1.SecretTransform{
					{RenameKey: &appcatalogv1alpha1.RenameKeyTransform{From: "a", To: "b"}},
					addKeysFrom("tls"), addKeysFrom("shop-db-auth"), addKeysFrom(""),
				}
			},
			want: []Use{{"shop-db-auth", "spec.secret.name"}, {"tls", "spec.secretTransforms[1].addKeysFrom.secretRef.name"}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ab := appBinding()
			if tc.edit != nil {
				tc.edit(ab)
			}
			if diff := cmp.Diff(tc.want, Uses(ab)); diff != "" {
				t.Errorf("uses (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAllowed(t *testing.T) {
	use := Use{Secret: "shop-db-auth", Field: "spec.secret.name"}
	tests := map[string]struct {
		secret  corev1.Secret
		allowed bool
	}{
		"annotated with the AppBinding": {secret: corev1.Secret{ObjectMeta: metav1.ObjectMeta{
			Annotations: map[string]string{stashv1beta1.AnnotationAppBindings: "shop-db"}}}, allowed: true},
		"annotated with a list holding it": {secret: corev1.Secret{ObjectMeta: metav1.ObjectMeta{
			Annotations: map[string]string{stashv1beta1.AnnotationAppBindings: "other, shop-db"}}}, allowed: true},
		"owned by the AppBinding": {secret: corev1.Secret{ObjectMeta: metav1.ObjectMeta{
			OwnerReferences: []metav1.OwnerReference{{Kind: "AppBinding", Name: "shop-db", UID: "ab-uid"}}}}, allowed: true},
		"no annotation": {},
		"annotated with another AppBinding": {secret: corev1.Secret{ObjectMeta: metav1.ObjectMeta{
			Annotations: map[string]string{stashv1beta1.AnnotationAppBindings: "shop-db-old,shop"}}}},
		// Whoever writes an AppBinding chooses its name, not its UID: an
		// owner reference by name only proves nothing.
		"owned by another object of the AppBinding's name": {secret: corev1.Secret{ObjectMeta: metav1.ObjectMeta{
			OwnerReferences: []metav1.OwnerReference{{Kind: "AppBinding", Name: "shop-db", UID: "other-uid"}}}}},
		"owned by an object of another kind with the UID": {secret: corev1.Secret{ObjectMeta: metav1.ObjectMeta{
			OwnerReferences: []metav1.OwnerReference{{Kind: "MySQL", Name: "shop-db", UID: "ab-uid"}}}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := Allowed(appBinding(), use, &tc.secret)
			if tc.allowed {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("allowed")
			}
			for _, want := range []string{`Secret "shop-db-auth" (AppBinding "shop-db" spec.secret.name) does not allow AppBinding "shop-db"`,
				"kubectl -n demo annotate secret shop-db-auth stash.appscode.com/appbindings=shop-db"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
		})
	}
}
