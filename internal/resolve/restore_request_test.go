package resolve

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
)

func TestRestoreTaskOf(t *testing.T) {
	for backup, want := range map[string]string{
		"postgres-backup-15":   "postgres-restore-15",
		"postgres-backup-11.1": "postgres-restore-11.1",
		"pvc-backup":           "pvc-restore",
		"mysql-backup-10.11":   "mysql-restore-10.11",
		"workload-backup":      "workload-restore",
		"":                     "",
		"my-dump":              "my-dump",
	} {
		if got := RestoreTaskOf(backup); got != want {
			t.Errorf("RestoreTaskOf(%q) = %q, want %q", backup, got, want)
		}
	}
}

func TestParseTargetRef(t *testing.T) {
	tests := map[string]struct {
		in      string
		want    stashv1beta1.TargetRef
		wantErr string
	}{
		"a claim by short name": {in: "pvc/data", want: stashv1beta1.TargetRef{APIVersion: "v1", Kind: "PersistentVolumeClaim", Name: "data"}},
		"an AppBinding, any case": {in: "AppBinding/db",
			want: stashv1beta1.TargetRef{APIVersion: "appcatalog.appscode.com/v1alpha1", Kind: "AppBinding", Name: "db"}},
		"a StatefulSet by plural":  {in: "statefulsets/web", want: stashv1beta1.TargetRef{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "web"}},
		"no kind":                  {in: "data", wantErr: "give KIND/NAME"},
		"no name":                  {in: "pvc/", wantErr: "give KIND/NAME"},
		"a kind Stash cannot fill": {in: "configmap/x", wantErr: `kind "configmap" is not one Stash restores into`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseTargetRef(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseTargetRef(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			}
		})
	}
}

// A restore of a configuration goes where its backup came from, with the
// paired Task, the configuration's mounts, and a rule for the one snapshot.
func TestNewRestoreSessionOfAConfiguration(t *testing.T) {
	mounts := []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
	bc := &stashv1beta1.BackupConfiguration{Spec: stashv1beta1.BackupConfigurationSpec{
		Repository: corev1.LocalObjectReference{Name: "local-repo"},
		BackupConfigurationTemplateSpec: stashv1beta1.BackupConfigurationTemplateSpec{
			Task:   stashv1beta1.TaskRef{Name: "pvc-backup", Params: []stashv1beta1.Param{{Name: "exclude", Value: "*.tmp"}}},
			Target: &stashv1beta1.BackupTarget{Ref: stashv1beta1.TargetRef{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "web"}, VolumeMounts: mounts, Paths: []string{"/data"}},
		},
	}}
	req := RestoreOf(bc, "4bd7a1f2")
	req.SourceHost = "host-1"
	rs := NewRestoreSession("demo", "web-restore-", req)
	want := stashv1beta1.RestoreSessionSpec{
		Repository: corev1.LocalObjectReference{Name: "local-repo"},
		Task:       stashv1beta1.TaskRef{Name: "pvc-restore"},
		Target:     &stashv1beta1.RestoreTarget{Ref: bc.Spec.Target.Ref, VolumeMounts: mounts},
		Rules:      []stashv1beta1.Rule{{SourceHost: "host-1", Snapshots: []string{"4bd7a1f2"}}},
	}
	if diff := cmp.Diff(want, rs.Spec); diff != "" {
		t.Errorf("spec (-want +got):\n%s", diff)
	}
	if rs.Namespace != "demo" || rs.GenerateName != "web-restore-" || rs.Name != "" {
		t.Errorf("metadata %+v, want generateName web-restore- in demo", rs.ObjectMeta)
	}
}
