//go:build e2e

package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// withoutOwners is tree's description without the owner column: what a
// restore that runs as a user can give back.
func withoutOwners(entries []string) []string {
	owner := regexp.MustCompile(` \d+:\d+ `)
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = owner.ReplaceAllString(e, " ")
	}
	return out
}

// TestPodSecurityRestricted runs the PVC quick start in a namespace that
// enforces Pod Security "restricted", its repository on a claim (a hostPath
// volume is not allowed there): the backup is admitted and succeeds; the
// catalog's PVC restore, which runs as root to give files their owners
// back, gets no Job and fails saying so; the same restore run as a user is
// admitted and restores every file's content and mode.
func TestPodSecurityRestricted(t *testing.T) {
	t.Parallel()
	ns := setUp(t, "restricted")
	mustKubectl(t, "", "label", "namespace", ns, "pod-security.kubernetes.io/enforce=restricted", "pod-security.kubernetes.io/warn=restricted")
	src := pvcWithData(t, ns, "source", true)
	dst := pvcWithData(t, ns, "restored", false)
	pvcWithData(t, ns, "repo", false)
	apply(t, ns, fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata: {name: repo-secret}
stringData: {RESTIC_PASSWORD: %s}
---
apiVersion: stash.appscode.com/v1alpha1
kind: Repository
metadata: {name: claim-repo}
spec:
  backend:
    local:
      mountPath: /safe/data
      persistentVolumeClaim: {claimName: repo}
    storageSecretName: repo-secret
`, resticPassword))
	apply(t, ns, pvcBackupConfiguration("data-backup", "source", "claim-repo", 2))

	bs := triggerBackup(t, ns, "data-backup")
	st := waitSession(t, ns, "backupsession", bs, 5*time.Minute)
	t.Logf("backup %s Succeeded in %s under Pod Security restricted", bs, st.SessionDuration)

	restore := func(name, runtimeSettings string) string {
		return fmt.Sprintf(`apiVersion: stash.appscode.com/v1beta1
kind: RestoreSession
metadata: {name: %s}
spec:
  task: {name: pvc-restore}
  repository: {name: claim-repo}
  target:
    ref: {apiVersion: v1, kind: PersistentVolumeClaim, name: restored}
    volumeMounts: [{name: restored, mountPath: /source/data}]
%s  rules:
  - snapshots: [latest]
`, name, runtimeSettings)
	}
	apply(t, ns, restore("as-root", ""))
	st = waitFinished(t, ns, "restoresession", "as-root", 2*time.Minute)
	requireFailed(t, ns, "restoresession", "as-root", st, "PodSecurityForbidden",
		`enforces Pod Security "restricted"`, `container "pvc-restore-0" runs as root`, "pod-security.kubernetes.io/enforce=baseline")
	if out, _ := kubectl(t, "", "-n", ns, "get", "jobs", "-l", "stash.appscode.com/invoker-name=as-root", "-o", "name"); strings.TrimSpace(out) != "" {
		t.Errorf("the root restore got a Job: %s", out)
	}

	apply(t, ns, restore("as-user", `  runtimeSettings:
    container:
      securityContext:
        runAsNonRoot: true
        allowPrivilegeEscalation: false
        capabilities: {drop: [ALL]}
        seccompProfile: {type: RuntimeDefault}
`))
	st = waitSession(t, ns, "restoresession", "as-user", 5*time.Minute)
	t.Logf("restore as a user Succeeded in %s", st.SessionDuration)
	want, got := withoutOwners(tree(t, src)), withoutOwners(tree(t, dst))
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("restored tree differs from the source (owners aside)\n--- source\n%s\n--- restored\n%s",
			strings.Join(want, "\n"), strings.Join(got, "\n"))
	}
	t.Logf("restored %d entries as a user: contents and modes identical", len(want))
}

// TestUserRolesAggregate: binding Kubernetes' own edit and view roles in a
// namespace gives Stash's (config/rbac/user_roles.yaml), through the
// controller manager's aggregation: an editor may create
// BackupConfigurations and RestoreSessions, a viewer may list them and
// create nothing, and neither reads a Secret through them.
func TestUserRolesAggregate(t *testing.T) {
	t.Parallel()
	ns := setUp(t, "roles")
	mustKubectl(t, "", "-n", ns, "create", "rolebinding", "alice-edit", "--clusterrole=edit", "--user=alice")
	mustKubectl(t, "", "-n", ns, "create", "rolebinding", "bob-view", "--clusterrole=view", "--user=bob")
	can := func(user, verb, resource string) bool {
		args := []string{"-n", ns, "auth", "can-i", verb, "--as=" + user}
		if r, sub, ok := strings.Cut(resource, "/"); ok {
			args = append(args, r, "--subresource="+sub)
		} else {
			args = append(args, resource)
		}
		out, _ := kubectl(t, "", args...)
		return strings.TrimSpace(out) == "yes"
	}
	for _, tc := range []struct {
		user, verb, resource string
		want                 bool
	}{
		{"alice", "create", "backupconfigurations.stash.appscode.com", true},
		{"alice", "create", "restoresessions.stash.appscode.com", true},
		{"alice", "delete", "repositories.stash.appscode.com", true},
		{"alice", "create", "appbindings.appcatalog.appscode.com", true},
		{"alice", "update", "backupsessions.stash.appscode.com/status", false},
		{"bob", "list", "backupsessions.stash.appscode.com", true},
		{"bob", "get", "repositories.stash.appscode.com", true},
		{"bob", "create", "backupsessions.stash.appscode.com", false},
		{"bob", "get", "secrets", false},
	} {
		// The aggregation controller fills the roles in shortly after the
		// operator is installed; wait for the allowed ones.
		if tc.want {
			waitFor(t, 60*time.Second, fmt.Sprintf("%s may %s %s", tc.user, tc.verb, tc.resource), func() (bool, error) {
				return can(tc.user, tc.verb, tc.resource), nil
			})
			continue
		}
		if can(tc.user, tc.verb, tc.resource) {
			t.Errorf("%s may %s %s", tc.user, tc.verb, tc.resource)
		}
	}
}
