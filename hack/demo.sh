#!/usr/bin/env bash
# The end-to-end demo: on the local single-node cluster (hack/local-cluster.sh)
# install the operator, back up a PostgreSQL server into a local restic
# repository, restore it into a second PostgreSQL server and compare the data.
# The objects are the YAML blocks of README.md's quick start, applied as they
# are written there (the namespace and the repository directory substituted).
#
# usage: bash hack/demo.sh        (as root; `make demo` runs it)
#
# Sets up what is missing: the binaries (hack/setup-test-infra.sh, TIERS
# "envtest cluster"), the cluster (hack/local-cluster.sh up) and the images
# (hack/build-images.sh, a few seconds when they are imported already). Reuses
# a running cluster. Re-running starts the demo namespace and the repository
# afresh. Tear down with: bash hack/local-cluster.sh down
#
# Environment:
#   STASH_CI_CACHE      binaries cache (default /var/cache/stash-ci)
#   DEMO_NAMESPACE      namespace of the demo (default demo)
#   DEMO_REPO_DIR       host directory of the repository (default /var/lib/stash-demo-repo)
#   DEMO_ROWS           rows in the sample table (default 10000)
#   DEMO_TIMEOUT        seconds to wait for each session (default 300)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
cd "$repo"

cache="${STASH_CI_CACHE:-/var/cache/stash-ci}"
ns="${DEMO_NAMESPACE:-demo}"
repo_dir="${DEMO_REPO_DIR:-/var/lib/stash-demo-repo}"
rows="${DEMO_ROWS:-10000}"
timeout="${DEMO_TIMEOUT:-300}"

# shellcheck source=hack/lib/common.sh
source "$here/lib/common.sh"
log_name=demo
t0=$lib_t0
logdir=$(mktemp -d /tmp/stash-demo.XXXXXX) # the whole output of the setup steps

[ "$(id -u)" = 0 ] || die "run as root (the cluster and the images need it)"

# ------------------------------------------------------------------ set up
step_t=$(now_us)
if [ ! -x "$cache/bin/kubectl" ] || ! bash "$here/local-cluster.sh" status >/dev/null 2>&1; then
  log "installing/building what is missing (hack/setup-test-infra.sh, TIERS='envtest cluster')"
  TIERS="envtest cluster" bash "$here/setup-test-infra.sh" >/dev/null
fi
kc_line=$(run_logged "$logdir/local-cluster-up.log" 'ERROR|cluster up|started' bash "$here/local-cluster.sh" up |
  grep '^KUBECONFIG=') || die "hack/local-cluster.sh up failed: its reason is above"
export "${kc_line?}"
log "cluster up ($KUBECONFIG)"
log "building/importing images (hack/build-images.sh)"
run_logged "$logdir/build-images.log" 'ERROR|done:|imported' bash "$here/build-images.sh" ||
  die "hack/build-images.sh failed: its reason is above"
k() { "$cache/bin/kubectl" "$@"; }
setup_secs=$(since "$step_t")

log "installing the operator (kubectl apply --server-side -k config/default)"
k apply --server-side --force-conflicts -k config/default >/dev/null
k -n stash-system rollout restart deployment/stash-operator >/dev/null # pick up a rebuilt stash:latest
k -n stash-system rollout status deployment/stash-operator --timeout=180s >/dev/null ||
  { k -n stash-system logs deployment/stash-operator --tail=30 >&2 || true; die "the operator did not become ready"; }
for t in task/postgres-backup-15 task/postgres-restore-15 function/update-status; do
  for ((i = 0; i < 60; i++)); do k get "${t%/*}.stash.appscode.com" "${t#*/}" >/dev/null 2>&1 && break; sleep 1; done
  k get "${t%/*}.stash.appscode.com" "${t#*/}" >/dev/null 2>&1 || die "the operator did not install the catalog ${t%/*} ${t#*/}"
done
log "operator ready, catalog installed"

# ------------------------------------------------------------- namespace
if k get namespace "$ns" >/dev/null 2>&1; then
  log "deleting the namespace $ns of an earlier run"
  k delete namespace "$ns" --wait=true --timeout=180s >/dev/null
fi
k create namespace "$ns" >/dev/null
# The repository: a fresh host directory every run; backup Jobs run as uid 65532.
rm -rf "$repo_dir"
mkdir -p "$repo_dir"
chmod 0777 "$repo_dir"

# readme_yaml NAME: the README quick start's YAML block that starts "# NAME"
# (the demo applies the README's own examples, so the two cannot drift).
readme_yaml() {
  local out
  out=$(awk -v want="# $1" '
    /^```/ { if (inblock) { if (found) exit; inblock = 0 } else { inblock = 1; first = 1 }; next }
    inblock && first { first = 0; if ($0 == want || index($0, want ":") == 1) found = 1 }
    inblock && found { print }' "$repo/README.md")
  [ -n "$out" ] || die "README.md has no yaml block starting with '# $1'"
  printf '%s\n' "$out"
}
# postgres NAME: README's postgres.yaml (pod, Service, Secret, AppBinding) as NAME.
postgres() {
  readme_yaml postgres.yaml | sed "s/source-postgres/$1/g" | k -n "$ns" apply -f - >/dev/null
}
psql_in() { # POD SQL: run SQL in the pod as postgres over the local socket
  k -n "$ns" exec "$1" -- psql -U postgres -h /var/run/postgresql -d postgres -X -qAt -v ON_ERROR_STOP=1 -c "$2"
}
wait_pg() {
  k -n "$ns" wait --for=condition=Ready "pod/$1" --timeout=180s >/dev/null || {
    k -n "$ns" describe pod "$1" | tail -n 20 >&2; k -n "$ns" logs "$1" --tail=20 >&2 || true
    die "PostgreSQL pod $1 did not become ready"; }
  local i; for ((i = 0; i < 60; i++)); do psql_in "$1" "select 1" >/dev/null 2>&1 && return 0; sleep 1; done
  die "PostgreSQL in pod $1 does not answer"
}
# checksum POD: row count and md5 of every row of the sample table, in order
checksum() {
  k -n "$ns" exec "$1" -- psql -U postgres -h /var/run/postgresql -d shop -X -qAt -v ON_ERROR_STOP=1 \
    -c "select count(*) || ' rows, md5 ' || md5(string_agg(o::text, E'\n' order by o.id)) from orders o"
}

step_t=$(now_us)
log "deploying PostgreSQL source-postgres with $rows sample rows"
postgres source-postgres
wait_pg source-postgres
psql_in source-postgres "create database shop" >/dev/null
k -n "$ns" exec source-postgres -- psql -U postgres -h /var/run/postgresql -d shop -X -q -v ON_ERROR_STOP=1 -c "
  create table orders (id int primary key, customer text not null, amount numeric(10,2), created timestamptz);
  insert into orders select i, 'customer-' || (i % 97), round((random() * 1000)::numeric, 2),
    timestamptz '2026-01-01' + i * interval '1 minute' from generate_series(1, $rows) i;" >/dev/null
src_sum=$(checksum source-postgres)
log "source data: $src_sum"

# ---------------------------------------------------------- repository
readme_yaml repository.yaml | sed "s|/var/lib/stash-demo-repo|$repo_dir|" | k -n "$ns" apply -f - >/dev/null

# ------------------------------------------------------------- sessions
# show_failure KIND NAME: the session's steps, conditions and failing pod's log.
show_failure() {
  local kind=$1 name=$2
  echo "---- $kind $ns/$name status:" >&2
  k -n "$ns" get "$kind" "$name" -o jsonpath='{.status}' 2>&1 | jq . >&2 2>/dev/null ||
    k -n "$ns" get "$kind" "$name" -o yaml >&2 || true
  echo "---- steps:" >&2
  k -n "$ns" get "$kind" "$name" -o json | jq -r '.status.steps // [] | .[] | "  \(.name): \(.phase // "") \(.message // .error // "")"' >&2 || true
  echo "---- conditions:" >&2
  k -n "$ns" get "$kind" "$name" -o json | jq -r '.status.conditions // [] | .[] | "  \(.type)=\(.status) \(.reason): \(.message)"' >&2 || true
  echo "---- jobs and pods:" >&2
  k -n "$ns" get jobs,pods -o wide >&2 || true
  local pod
  for pod in $(k -n "$ns" get pods -o json | jq -r '.items[] | select(.metadata.labels["job-name"] != null) | .metadata.name'); do
    echo "---- log tail of $pod (all containers):" >&2
    k -n "$ns" logs "$pod" --all-containers --prefix --tail=25 >&2 || true
  done
  echo "---- events:" >&2
  k -n "$ns" get events --sort-by=.lastTimestamp 2>/dev/null | tail -n 15 >&2 || true
  echo "---- operator log tail:" >&2
  k -n stash-system logs deployment/stash-operator --tail=20 >&2 || true
}
# wait_session KIND NAME: wait for phase Succeeded, printing progress
wait_session() {
  local kind=$1 name=$2 start phase="" last="" steps
  start=$(now_us)
  while :; do
    phase=$(k -n "$ns" get "$kind" "$name" -o jsonpath='{.status.phase}' 2>/dev/null || true)
    steps=$(k -n "$ns" get "$kind" "$name" -o json 2>/dev/null |
      jq -r '[.status.steps // [] | .[] | "\(.name)=\(.phase // "?")"] | join(" ")' 2>/dev/null || true)
    local now="phase=${phase:-<none>}${steps:+ steps: $steps}"
    if [ "$now" != "$last" ]; then log "  $kind/$name: $now"; last=$now; fi
    case $phase in
      Succeeded) return 0 ;;
      Failed | Unknown) show_failure "$kind" "$name"; die "$kind $name: $phase" ;;
    esac
    if (( $(now_us) - start > timeout * 1000000 )); then
      show_failure "$kind" "$name"; die "$kind $name not Succeeded after ${timeout}s"
    fi
    sleep 2
  done
}

log "creating BackupConfiguration source-postgres-backup (task postgres-backup-15, schedule */5 * * * *)"
readme_yaml backup.yaml | k -n "$ns" apply -f - >/dev/null

log "building the CLI (make build: bin/stash)"
make --no-print-directory build >/dev/null

log "triggering an instant backup: bin/stash -n $ns trigger source-postgres-backup --wait (README step 4)"
backup_t=$(now_us)
trigger_out=$(mktemp)
bin/stash -n "$ns" trigger source-postgres-backup --wait --timeout "${timeout}s" | tee "$trigger_out" | sed 's/^/  /' >&2 || true
bs=$(sed -n 's|^backupsession [^/]*/\(.*\) created$|\1|p' "$trigger_out")
rm -f "$trigger_out"
[ -n "$bs" ] || die "bin/stash trigger created no BackupSession"
wait_session backupsession "$bs"
backup_secs=$(since "$backup_t")
bs_duration=$(k -n "$ns" get backupsession "$bs" -o jsonpath='{.status.sessionDuration}')
log "backup Succeeded in ${backup_secs}s"

step_t=$(now_us)
log "deploying the restore target restored-postgres (empty)"
postgres restored-postgres
wait_pg restored-postgres

rs=restored-postgres-restore
log "restoring the latest snapshot into restored-postgres: RestoreSession $rs (README's restore.yaml)"
restore_t=$(now_us)
readme_yaml restore.yaml | k -n "$ns" apply -f - >/dev/null
wait_session restoresession "$rs"
restore_secs=$(since "$restore_t")
rs_duration=$(k -n "$ns" get restoresession "$rs" -o jsonpath='{.status.sessionDuration}')
log "restore Succeeded in ${restore_secs}s"

dst_sum=$(checksum restored-postgres) || die "the restored server has no table shop.orders"
[ "$src_sum" = "$dst_sum" ] || die "data differs: source $src_sum, restored $dst_sum"

repo_json=$(k -n "$ns" get repository local-repo -o json)
total_size=$(jq -r '.status.totalSize // "?"' <<< "$repo_json")
snap_count=$(jq -r '.status.snapshotCount // "?"' <<< "$repo_json")
integrity=$(jq -r '.status.integrity // "?"' <<< "$repo_json")
bs_snap=$(k -n "$ns" get backupsession "$bs" -o json |
  jq -r '[.status.targets[]?.stats[]? | .hostname as $h | .snapshots[]? | "\(.name) (host \($h), \(.path)): \(.totalSize) dump, \(.uploaded) uploaded"] | join(", ")' 2>/dev/null || true)

cat <<EOF

==================================================================== stash demo
Backed up   PostgreSQL 15 pod $ns/source-postgres (AppBinding source-postgres):
            database shop, table orders: $src_sum
Repository  $ns/local-repo, local backend, host dir $repo_dir
            snapshots: $snap_count, total size: $total_size, integrity: $integrity
Backup      BackupSession $bs: Succeeded in ${backup_secs}s (status.sessionDuration ${bs_duration:-?})${bs_snap:+
            snapshot $bs_snap}
            (BackupConfiguration source-postgres-backup keeps backing up every 5 minutes: keepLast 5 snapshots, last 5 sessions)
Restore     RestoreSession $rs -> $ns/restored-postgres: Succeeded in ${restore_secs}s (status.sessionDuration ${rs_duration:-?})
Check       restored data: $dst_sum -> IDENTICAL
Time        total $(since "$t0")s (setup ${setup_secs}s)

Look around (export KUBECONFIG=$KUBECONFIG; kubectl is $cache/bin/kubectl):
  kubectl -n $ns get backupconfiguration,backupsession,restoresession,repository
  kubectl -n $ns get backupsession $bs -o yaml
  kubectl -n $ns get jobs,pods
  kubectl -n stash-system logs deployment/stash-operator
  kubectl -n $ns exec restored-postgres -- psql -U postgres -h /var/run/postgresql -d shop -c 'select count(*) from orders'
Tear down:  bash hack/local-cluster.sh down
EOF
