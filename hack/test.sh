#!/usr/bin/env bash
# Runs every test tier, against real infrastructure: installs and builds what
# is missing (cached under $STASH_CI_CACHE), runs go test with missing
# infrastructure treated as a failure, not a skip, then the end-to-end tier
# on the local single-node cluster (hack/local-cluster.sh) with the images of
# hack/build-images.sh. The cluster is taken down again if this script
# brought it up; one that was already running (make demo) is reused and left.
#
# usage: hack/test.sh [go test packages...]
#   no arguments: ./... and then the e2e tier (what `make test` and CI run)
#   packages:     only those packages (no e2e unless STASH_E2E=1)
# Environment: STASH_E2E=0 skips the e2e tier; STASH_CI_CACHE (default
# /var/cache/stash-ci); E2E_KEEP=1 keeps a failed e2e test's namespace.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=hack/lib/proc.sh
source hack/lib/proc.sh
if [ "$(id -u)" != 0 ]; then
  echo "hack/test.sh installs Debian packages, writes /var/cache/stash-ci and runs a cluster: run it as root (sudo make test)" >&2
  exit 1
fi
packages=("$@")
e2e=${STASH_E2E:-$([ "${#packages[@]}" -eq 0 ] && echo 1 || echo 0)}
[ "${#packages[@]}" -gt 0 ] || packages=(./...)

tiers="envtest data"
[ "$e2e" = 1 ] && tiers+=" cluster"
eval "$(TIERS="$tiers" bash hack/setup-test-infra.sh | sed 's/^/export /')"
export STASH_REQUIRE_INFRA=1

# This run's temporary files, envtest's control planes among them, go in a
# directory of its own. envtest's apiserver and etcd outlive a test binary
# that is killed: on exit, stop those of this run (their arguments name the
# directory) and remove it, leaving other runs on this machine alone.
run_tmp=$(run_tmp_create)
export TMPDIR=$run_tmp
cleanup_run() { run_tmp_cleanup "$run_tmp"; }
trap cleanup_run EXIT

t0=$(date +%s)
echo "go test -p 2 -count=1 ${packages[*]}" >&2
go test -p 2 -count=1 "${packages[@]}"
echo "go test: $(( $(date +%s) - t0 )) s" >&2
[ "$e2e" = 1 ] || exit 0

# ------------------------------------------------------------------ e2e tier
t0=$(date +%s)
if bash hack/local-cluster.sh status >/dev/null 2>&1; then
  echo "e2e: reusing the running local cluster" >&2
else
  trap 'bash hack/local-cluster.sh down >/dev/null 2>&1 || echo "e2e: hack/local-cluster.sh down failed" >&2; cleanup_run' EXIT
fi
kc_line=$(bash hack/local-cluster.sh up | grep '^KUBECONFIG=')
export "${kc_line?}"
bash hack/build-images.sh
echo "e2e: cluster and images ready in $(( $(date +%s) - t0 )) s" >&2

t0=$(date +%s)
echo "go test -tags e2e -count=1 -v -parallel 4 -timeout 30m ./test/e2e/" >&2
go test -tags e2e -count=1 -v -parallel 4 -timeout 30m ./test/e2e/
echo "e2e suite: $(( $(date +%s) - t0 )) s" >&2
