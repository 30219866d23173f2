#!/usr/bin/env bash
# Builds Kubernetes binaries (kube-apiserver, kubelet, ...) from the Go module proxy.
#
# k8s.io/kubernetes cannot be `go install`ed: its go.mod points the staging
# modules (k8s.io/api, k8s.io/client-go, ...) at ./staging with replace
# directives. A throwaway wrapper module requires k8s.io/kubernetes at the
# wanted tag and maps each staging module (required there as v0.0.0) to its
# published v0.<minor>.<patch> tag.
#
# usage: build-k8s-bins.sh VERSION OUTDIR CMD...
set -euo pipefail
version="${1:?kubernetes version, e.g. 1.37.2}"; version="${version#v}"
out="${2:?output directory}"; shift 2
[ "$#" -gt 0 ] || { echo "build-k8s-bins.sh: name at least one command (kube-apiserver, kubelet, ...)" >&2; exit 2; }
staging_version="0.${version#1.}"
minor="$(echo "$version" | cut -d. -f2)"
mkdir -p "$out"; out="$(cd "$out" && pwd)"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
cd "$work"
GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@v${version}" >/dev/null
upstream_mod="$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/v${version}.mod"
{
  echo "module local/k8sbuild"
  echo "go 1.26"
  echo "godebug default=go1.26"
  echo "require k8s.io/kubernetes v${version}"
  echo "replace ("
  # Staging modules are the k8s.io/* requirements pinned at v0.0.0.
  awk '/^require/,/^\)/' "$upstream_mod" |
    awk -v v="v${staging_version}" '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" { print "\t" $1 " => " $1 " " v }'
  echo ")"
} > go.mod
for cmd in "$@"; do
  echo "building $cmd v${version} -> $out/$cmd" >&2
  # Without the -X flags the binaries report v0.0.0-master, which trips the
  # apiserver's compatibility-version checks.
  GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags "-s -w \
    -X k8s.io/component-base/version.gitVersion=v${version} \
    -X k8s.io/component-base/version.gitMajor=1 \
    -X k8s.io/component-base/version.gitMinor=${minor}" \
    -o "$out/$cmd.partial" "k8s.io/kubernetes/cmd/$cmd"
  mv "$out/$cmd.partial" "$out/$cmd"
done
