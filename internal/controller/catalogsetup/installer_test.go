package catalogsetup

import (
	"context"
	"os"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/kube"
	"github.com/stash-operator/stash/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.RunWithControlPlane(m)) }

// One sequence against a real apiserver: install, re-install, a user edit,
// an operator upgrade.
func TestInstallNeverOverwritesUserEdits(t *testing.T) {
	cp := testenv.Shared(t)
	c, err := client.New(cp.Config, client.Options{Scheme: kube.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	report, err := Install(ctx, c, "stash:v1")
	if err != nil {
		t.Fatal(err)
	}
	if report["Function/pvc-backup"] != Created || report["Task/postgres-backup-15"] != Created || len(report) < 13 {
		t.Fatalf("first install: %v", report)
	}
	report, err = Install(ctx, c, "stash:v1")
	if err != nil {
		t.Fatal(err)
	}
	for obj, outcome := range report {
		if outcome != UpToDate {
			t.Errorf("second install of the same catalog: %s %s, want UpToDate", obj, outcome)
		}
	}

	// The user edits one Function.
	var edited stashv1beta1.Function
	if err := c.Get(ctx, client.ObjectKey{Name: "pvc-backup"}, &edited); err != nil {
		t.Fatal(err)
	}
	edited.Spec.Args = append(edited.Spec.Args, "--exclude=*.tmp")
	if err := c.Update(ctx, &edited); err != nil {
		t.Fatal(err)
	}

	// An operator upgrade changes the image of every Function.
	report, err = Install(ctx, c, "stash:v2")
	if err != nil {
		t.Fatal(err)
	}
	if report["Function/pvc-backup"] != KeptUserEdits {
		t.Fatalf("edited Function: %s, want KeptUserEdits", report["Function/pvc-backup"])
	}
	if report["Function/pvc-restore"] != Updated {
		t.Fatalf("untouched Function: %s, want Updated", report["Function/pvc-restore"])
	}
	var got stashv1beta1.Function
	if err := c.Get(ctx, client.ObjectKey{Name: "pvc-backup"}, &got); err != nil {
		t.Fatal(err)
	}
	if got.Spec.Image != "stash:v1" || got.Spec.Args[len(got.Spec.Args)-1] != "--exclude=*.tmp" {
		t.Fatalf("the user's edit was overwritten: image %s args %v", got.Spec.Image, got.Spec.Args)
	}
	if err := c.Get(ctx, client.ObjectKey{Name: "pvc-restore"}, &got); err != nil {
		t.Fatal(err)
	}
	if got.Spec.Image != "stash:v2" {
		t.Fatalf("the untouched Function was not upgraded: %s", got.Spec.Image)
	}

	// A Function the user created under a catalog name (no annotation) is theirs.
	var task stashv1beta1.Task
	if err := c.Get(ctx, client.ObjectKey{Name: "pvc-restore"}, &task); err != nil {
		t.Fatal(err)
	}
	delete(task.Annotations, HashAnnotation)
	task.Spec.Steps = task.Spec.Steps[:1]
	if err := c.Update(ctx, &task); err != nil {
		t.Fatal(err)
	}
	report, err = Install(ctx, c, "stash:v3")
	if err != nil {
		t.Fatal(err)
	}
	if report["Task/pvc-restore"] != KeptUserEdits {
		t.Fatalf("unannotated Task: %s, want KeptUserEdits", report["Task/pvc-restore"])
	}
}
