#!/usr/bin/env bash
# Session latency on the local cluster: the README's PostgreSQL quick start,
# one first backup and STASH_BENCH_RUNS (default 5) more, each followed from
# "BackupSession created" to "Succeeded", and a table of where the time goes
# (operator, Job controller, scheduler, each container's start and its step,
# each restic subcommand). A measurement: nothing is asserted.
#
# Needs the cluster and its images, as the e2e tests do:
#   bash hack/local-cluster.sh up && KUBECONFIG=/var/lib/stash-local-cluster/admin.kubeconfig bash hack/build-images.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export KUBECONFIG="${KUBECONFIG:-/var/lib/stash-local-cluster/admin.kubeconfig}"
[ -f "$KUBECONFIG" ] || { echo "no cluster ($KUBECONFIG): run bash hack/local-cluster.sh up and hack/build-images.sh" >&2; exit 1; }
STASH_BENCH_LATENCY="${STASH_BENCH_RUNS:-5}" go test -tags e2e -count=1 -timeout 20m -run '^TestSessionLatency$' -v ./test/e2e/ |
  grep -vE '^(=== RUN|=== PAUSE|=== CONT)'
