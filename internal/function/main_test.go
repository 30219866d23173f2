package function

import (
	"context"
	"os"
	"testing"

	"github.com/stash-operator/stash/internal/redisdump"
	"github.com/stash-operator/stash/internal/testenv"
)

// The lock tests ask a real API server about pods and Jobs. Run as
// "redis ...", the test binary is the stash binary's hidden redis command,
// which backup-redis and restore-redis run as their programs (os.Executable).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "redis" {
		os.Exit(redisdump.Main(context.Background(), os.Args[2:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(testenv.RunWithControlPlane(m))
}
