package function

import (
	"os"
	"testing"

	"github.com/stash-operator/stash/internal/testenv"
)

// The lock tests ask a real API server about pods and Jobs.
func TestMain(m *testing.M) { os.Exit(testenv.RunWithControlPlane(m)) }
