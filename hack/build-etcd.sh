#!/usr/bin/env bash
# Builds the etcd server from the Go module proxy. Its go.mod replaces sibling
# modules with ../api etc., so `go install` refuses it; a wrapper module that
# pins the siblings to the same tag works.
# usage: build-etcd.sh VERSION OUTFILE
set -euo pipefail
version="${1:?etcd version, e.g. 3.6.8}"; version="${version#v}"
outfile="${2:?output file}"
mkdir -p "$(dirname "$outfile")"; outfile="$(cd "$(dirname "$outfile")" && pwd)/$(basename "$outfile")"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
cd "$work"
cat > go.mod <<MOD
module local/etcdbuild
go 1.25
require go.etcd.io/etcd/server/v3 v${version}
replace (
	go.etcd.io/etcd/api/v3 => go.etcd.io/etcd/api/v3 v${version}
	go.etcd.io/etcd/client/pkg/v3 => go.etcd.io/etcd/client/pkg/v3 v${version}
	go.etcd.io/etcd/client/v3 => go.etcd.io/etcd/client/v3 v${version}
	go.etcd.io/etcd/pkg/v3 => go.etcd.io/etcd/pkg/v3 v${version}
)
MOD
GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$outfile.partial" go.etcd.io/etcd/server/v3
mv "$outfile.partial" "$outfile"
