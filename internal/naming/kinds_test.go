package naming

import (
	"maps"
	"testing"
)

func TestSessionKindNames(t *testing.T) {
	tests := map[string]struct {
		got, want string
	}{
		"backup Job: Stash's name, the index the host's": {Backup.JobName("daily.db-1581836400", 0), "stash-backup-daily-db-1581836400-0"},
		"restore Job of host 2":                          {Restore.JobName("restore-pg", 2), "stash-restore-restore-pg-2"},
		"backup account":                                 {Backup.ServiceAccountName("daily.db"), "stash-backup-daily-db"},
		"restore account":                                {Restore.ServiceAccountName("restore-pg"), "stash-restore-restore-pg"},
		"interim claim":                                  {InterimClaimName("interim", "stash-backup-daily-1-0"), "interim-stash-backup-daily-1-0"},
		"interim claim of a template with no name":       {InterimClaimName("", "stash-backup-daily-1-0"), "stash-backup-daily-1-0"},
		"a long session is short":                        {lenOK(Backup.JobName(string(make([]byte, 80)), 0)), "ok"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}

func lenOK(s string) string {
	if len(s) <= MaxLength {
		return "ok"
	}
	return s
}

func TestSessionKindLabels(t *testing.T) {
	user := map[string]string{"team": "db", ComponentLabel: "theirs"}
	got := Restore.Labels("RestoreSession", "restore-pg", user)
	want := map[string]string{
		"team": "db", ComponentLabel: "stash-restore", ManagedByLabel: "stash.appscode.com",
		InvokerKindLabel: "RestoreSession", InvokerNameLabel: "restore-pg",
	}
	if !maps.Equal(got, want) {
		t.Errorf("labels = %v, want %v", got, want)
	}
	if user[ComponentLabel] != "theirs" {
		t.Errorf("the invoker's own labels were changed: %v", user)
	}
}
