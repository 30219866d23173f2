#!/usr/bin/env bash
# Runs every test tier that exists, against real infrastructure: installs and
# builds what is missing (cached under $STASH_CI_CACHE), then runs go test
# with missing infrastructure treated as a failure, not a skip.
#
# usage: hack/test.sh [go test packages...]   (default ./...)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  echo "hack/test.sh installs Debian packages and writes /var/cache/stash-ci: run it as root (sudo make test)" >&2
  exit 1
fi
tiers="envtest data"
eval "$(TIERS="$tiers" bash hack/setup-test-infra.sh | sed 's/^/export /')"
export STASH_REQUIRE_INFRA=1

# envtest's apiserver and etcd outlive a killed test binary; clear what an
# earlier interrupted run left behind (ours only: they run from our cache).
for pid in $(pgrep -f "^$KUBEBUILDER_ASSETS/(kube-apiserver|etcd) " || true); do kill -9 "$pid" 2>/dev/null || true; done
rm -rf /tmp/k8s_test_framework_*

packages=("$@"); [ "${#packages[@]}" -gt 0 ] || packages=(./...)
echo "go test -p 2 -count=1 ${packages[*]}" >&2
go test -p 2 -count=1 "${packages[@]}"
