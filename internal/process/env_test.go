package process

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestEnv(t *testing.T) {
	tests := map[string]struct {
		parent   []string
		set      map[string]string
		prefixes []string
		want     []string
	}{
		"parent credentials never reach the child": {
			parent: []string{"AWS_SECRET_ACCESS_KEY=parent-aws", "AWS_ACCESS_KEY_ID=parent-id", "RESTIC_PASSWORD=parent-pw",
				"RESTIC_REPOSITORY=/parent/repo", "PGPASSWORD=stale", "MYSQL_PWD=stale", "KUBERNETES_SERVICE_HOST=10.0.0.1"},
			want: nil,
		},
		"what a process needs to run and reach the network is kept": {
			parent: []string{"PATH=/usr/bin", "HOME=/home/stash", "LANG=C.UTF-8", "HTTPS_PROXY=http://proxy:3128", "no_proxy=.svc", "SSL_CERT_DIR=/etc/ssl/certs"},
			want:   []string{"PATH=/usr/bin", "HOME=/home/stash", "LANG=C.UTF-8", "HTTPS_PROXY=http://proxy:3128", "no_proxy=.svc", "SSL_CERT_DIR=/etc/ssl/certs"},
		},
		"what the caller sets is added, sorted": {
			parent: []string{"PATH=/usr/bin", "PGPASSWORD=stale"},
			set:    map[string]string{"PGPASSWORD": "from-the-secret", "TMPDIR": "/scratch/tmp"},
			want:   []string{"PATH=/usr/bin", "PGPASSWORD=from-the-secret", "TMPDIR=/scratch/tmp"},
		},
		"a client's own settings pass, its password only as the caller sets it": {
			parent:   []string{"PGSSLMODE=verify-full", "PGPASSWORD=stale", "PGCONNECT_TIMEOUT=5", "MYSQL_HISTFILE=/dev/null"},
			set:      map[string]string{"PGPASSWORD": ""},
			prefixes: []string{"PG"},
			want:     []string{"PGSSLMODE=verify-full", "PGCONNECT_TIMEOUT=5", "PGPASSWORD="},
		},
		"what the caller sets wins over the parent": {
			parent: []string{"HOME=/root", "PATH=/usr/bin"},
			set:    map[string]string{"HOME": "/scratch"},
			want:   []string{"PATH=/usr/bin", "HOME=/scratch"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Env(tc.parent, tc.set, tc.prefixes...)); diff != "" {
				t.Fatalf("Env() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
