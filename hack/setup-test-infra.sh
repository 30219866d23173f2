#!/usr/bin/env bash
# Installs and builds every real component the tests use, into a version-keyed
# cache outside the clone, so that a second run is a no-op.
#
#   STASH_CI_CACHE  cache root (default /var/cache/stash-ci)
#   TIERS           any of: lint envtest data cluster (default: all four)
#     lint     shellcheck (make lint)
#     envtest  kube-apiserver + etcd (controller tests), helm (chart tests)
#     data     restic, versitygw (S3), PostgreSQL 15, MariaDB 10.11 (data-plane tests)
#     cluster  + kube-controller-manager, kube-scheduler, kubelet, kube-proxy,
#              Rancher's local-path-provisioner,
#              kubectl, containerd, runc, CNI plugins, umoci, mmdebstrap
#              (single-node cluster: hack/local-cluster.sh, hack/build-images.sh)
#
# Prints, on stdout, lines to eval:
#   KUBEBUILDER_ASSETS=<dir with kube-apiserver and etcd>
#   STASH_INFRA_BIN=<dir with restic, versitygw, kube-* binaries>
# Progress goes to stderr.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=hack/versions.env
source "$here/versions.env"
cache="${STASH_CI_CACHE:-/var/cache/stash-ci}"
tiers=" ${TIERS:-lint envtest data cluster} "
has() { [[ "$tiers" == *" $1 "* ]]; }
# shellcheck source=hack/lib/common.sh
source "$here/lib/common.sh"
log_name=setup
export CGO_ENABLED=0

mkdir -p "$cache"
# One setup at a time: two concurrent builds of the apiserver would each take
# the full cost on a 2-core machine.
exec 9>"$cache/.setup.lock"
flock 9

# ---- Debian packages. Services must not start on install: we run our own
# throwaway instances on 127.0.0.1.
packages=(curl ca-certificates)
has lint && packages+=(shellcheck)
has data && packages+=(postgresql mariadb-server mariadb-client redis-server redis-tools)
has cluster && packages+=(containerd runc containernetworking-plugins umoci busybox-static iptables conntrack openssl jq mmdebstrap)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
  fi
  log "apt-get install ${missing[*]}"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# ---- Kubernetes and etcd from the Go module proxy.
k8s_dir="$cache/k8s/$K8S_VERSION"
mkdir -p "$k8s_dir"
want=()
if has envtest || has cluster; then want+=(kube-apiserver); fi
has cluster && want+=(kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)
need=()
for b in "${want[@]}"; do [ -x "$k8s_dir/$b" ] || need+=("$b"); done
if [ "${#need[@]}" -gt 0 ]; then
  log "building ${need[*]} v$K8S_VERSION (cold: ~5 min for the first, ~30 s each after)"
  bash "$here/build-k8s-bins.sh" "$K8S_VERSION" "$k8s_dir" "${need[@]}"
fi
if has envtest || has cluster; then
  if [ ! -x "$k8s_dir/etcd-$ETCD_VERSION" ]; then
    log "building etcd v$ETCD_VERSION"
    bash "$here/build-etcd.sh" "$ETCD_VERSION" "$k8s_dir/etcd-$ETCD_VERSION"
  fi
  ln -sfn "etcd-$ETCD_VERSION" "$k8s_dir/etcd"
fi

# ---- Tools: restic, the S3 server and helm, one file per version.
bin_dir="$cache/bin"
mkdir -p "$bin_dir"
go_install() { # name version package
  local name=$1 version=$2 pkg=$3
  if [ ! -x "$bin_dir/$name-$version" ]; then
    log "building $name v$version"
    local tmp; tmp="$(mktemp -d)"
    GOBIN="$tmp" go install -trimpath -ldflags "-s -w" "$pkg@v$version"
    mv "$tmp/$name" "$bin_dir/$name-$version"
    rmdir "$tmp"
  fi
  ln -sfn "$name-$version" "$bin_dir/$name"
}
if has data || has cluster; then
  go_install restic "$RESTIC_VERSION" github.com/restic/restic/cmd/restic
fi
if has data; then
  go_install versitygw "$VERSITYGW_VERSION" github.com/versity/versitygw/cmd/versitygw
fi
if has envtest || has cluster; then
  # The chart's tests (lint, template) and its install in e2e.
  go_install helm "$HELM_VERSION" helm.sh/helm/v4/cmd/helm
fi
if has cluster; then
  # The cluster's dynamic volume provisioner, as a user's cluster has one.
  go_install local-path-provisioner "$LOCAL_PATH_PROVISIONER_VERSION" github.com/rancher/local-path-provisioner
fi
for b in "${want[@]}"; do ln -sfn "$k8s_dir/$b" "$bin_dir/$b"; done

log "done"
echo "KUBEBUILDER_ASSETS=$k8s_dir"
echo "STASH_INFRA_BIN=$bin_dir"
