#!/usr/bin/env bash
# Measures the data-plane Functions against plain restic and pg_dumpall on the
# same data, in one run, and prints a table. Not a test: nothing is asserted.
#
#   backup-pvc of ~1 GiB of mixed files    vs  restic backup of the same tree
#   second (incremental) backup-pvc         vs  second restic backup
#   backup-pg of a ~500 MB database         vs  pg_dumpall | restic backup --stdin
#                                           vs  pg_dumpall > /dev/null
#   the same backups into S3 (versitygw on 127.0.0.1)
#   unchanged backup-pvc into a repository of 50 snapshots vs restic's
#   restore-pvc of a snapshot              vs  restic restore of it
#   (the repeatable ones, unchanged backups and restores, take turns three
#   times; the medians)
#   200,000 files of 1-4 KiB: backup-pvc    vs  restic backup, and the peak RSS of each
#   peak RSS of the stash process (and of restic, which it runs as a child)
#
# Needs: make build (bin/stash), restic, versitygw and PostgreSQL 15 (hack/setup-test-infra.sh).
# env: BENCH_DIR (default a fresh dir under /var/tmp), BENCH_GIB (data size, default 1),
#      BENCH_PG_ROWS (default 4000000, ~500 MB of dump),
#      BENCH_SMALL_FILES (default 200000; 0 leaves the small-files rows out),
#      BENCH_HISTORY (snapshots in the history rows' repositories, default 50)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${STASH_INFRA_BIN:-/var/cache/stash-ci/bin}:$PATH"
stash="$PWD/bin/stash"
[ -x "$stash" ] || { echo "bin/stash is missing: run make build" >&2; exit 1; }
command -v restic >/dev/null || { echo "restic not found: run hack/setup-test-infra.sh" >&2; exit 1; }
dir="${BENCH_DIR:-$(mktemp -d /var/tmp/stash-bench.XXXXXX)}"
gib="${BENCH_GIB:-1}"
pg_rows="${BENCH_PG_ROWS:-4000000}"
small_files="${BENCH_SMALL_FILES:-200000}"
history="${BENCH_HISTORY:-50}"
cleanup() {
  local server
  for server in pg s3; do bash hack/stop-servers.sh "$dir/$server" >/dev/null 2>&1 || true; done
  rm -rf "$dir"
}
trap cleanup EXIT
mkdir -p "$dir/secret" "$dir/data"
chmod 755 "$dir" # the PostgreSQL server runs as user postgres and must reach $dir/pg
printf 'bench-password' > "$dir/secret/RESTIC_PASSWORD"
export RESTIC_PASSWORD=bench-password
export AWS_ACCESS_KEY_ID=testkey AWS_SECRET_ACCESS_KEY=testsecret123
printf '%s' "$AWS_ACCESS_KEY_ID" > "$dir/secret/AWS_ACCESS_KEY_ID"
printf '%s' "$AWS_SECRET_ACCESS_KEY" > "$dir/secret/AWS_SECRET_ACCESS_KEY"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# seconds and peak RSS (KiB) of a command: "<secs> <kib>". A command is done
# when what it wrote is on disk, and it does not pay for what the one before
# left unwritten: sync before the clock starts and before it stops (without,
# a restore run after another paid for writing back the other's gigabyte).
measure() {
  local out="$dir/time.$$"
  sync
  /usr/bin/time -f '%e %M' -o "$out" sh -c '"$@" && sync' sh "$@" > "$dir/last.log" 2>&1 || { cat "$dir/last.log" >&2; return 1; }
  cat "$out"
}
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# alternate a b: the reference a and the stash command b (functions that
# print measure's line) in turns, three rounds, as this machine's disk varies
# by tens of percent from one run to the next. Sets t_a and t_b to the
# medians, and rounds_a and rounds_b to the three times. A stash command gets
# a scratch directory of its own in each round ($round), as each Job's pod
# starts with an empty one.
alternate() {
  local round t _
  rounds_a=() rounds_b=()
  for round in 1 2 3; do
    read -r t _ < <("$1")
    rounds_a+=("$t")
    read -r t _ < <("$2")
    rounds_b+=("$t")
  done
  t_a=$(median "${rounds_a[@]}") t_b=$(median "${rounds_b[@]}")
}
# restic's own duration of the backup step, from output.json's processingTime
# ("0h1m2s"): the command also runs init, forget, check and stats.
step_secs() {
  python3 -c 'import json,re,sys; t=json.load(open(sys.argv[1]))["hostBackupStats"][0]["snapshots"][0]["processingTime"]; h,m,s=map(int,re.fullmatch(r"(\d+)h(\d+)m(\d+)s",t).groups()); print(h*3600+m*60+s)' "$1/output.json"
}
row() { printf '%-74s %9s s %9s MiB/s %9s MiB\n' "$1" "$2" "$3" "$4"; }
mibps() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.1f", b / 1048576 / s }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }

echo "generating ${gib} GiB of mixed files in $dir/data ..." >&2
python3 - "$dir/data" "$gib" <<'PY'
import os, random, sys
root, gib = sys.argv[1], float(sys.argv[2])
rng = random.Random(42)
total = int(gib * (1 << 30))
big = int(total * 0.7)            # a few large files: 70 %
for i in range(4):
    with open(os.path.join(root, f"large-{i}.bin"), "wb") as f:
        left = big // 4
        while left > 0:
            n = min(left, 8 << 20); f.write(rng.randbytes(n)); left -= n
small_total, i = total - big, 0   # many small files: 30 %, 4-64 KiB, in nested dirs
while small_total > 0:
    d = os.path.join(root, f"dir{i % 50}", f"sub{i % 7}")
    os.makedirs(d, exist_ok=True)
    n = rng.randint(4 << 10, 64 << 10)
    # half compressible text, half random
    data = (b"log line %d\n" % i) * (n // 12) if i % 2 else rng.randbytes(n)
    with open(os.path.join(d, f"f{i}.dat"), "wb") as f: f.write(data)
    small_total -= len(data); i += 1
print(f"{i} small files", file=sys.stderr)
PY
bytes=$(du -sb "$dir/data" | cut -f1)
sync

pvc() { # run repository-flags... (the last --retention-keep-last wins)
  local run=$1
  shift
  measure "$stash" backup-pvc --secret-dir="$dir/secret" --scratch-dir="$dir/scratch-$run" \
    --hostname=host-0 --backup-paths="${pvc_paths:-$dir/data}" --output-dir="$dir/out-$run" --retention-keep-last=5 --enable-cache=true "$@"
}
local_repo() { echo "--provider=local" "--bucket=$1"; }
# What the operator passes when neither a check nor a prune is due (package
# maintenance: at most one of each a day): the daily backup's usual case.
nothing_due=(--check-repository=false --measure-repository=false)
plain() { # repository [cache]
  measure restic -r "$1" backup --quiet --host host-0 --cache-dir "$dir/${2:-cache-plain}" "${pvc_paths:-$dir/data}"
}

echo "restic init + backups ..." >&2
restic -r "$dir/repo-plain" init --quiet >/dev/null
read -r t_plain rss_plain < <(plain "$dir/repo-plain")
# shellcheck disable=SC2046 # local_repo prints two flags
read -r t_pvc rss_pvc < <(pvc 1 $(local_repo "$dir/repo-pvc"))
read -r t_plain2 _ < <(plain "$dir/repo-plain")
# shellcheck disable=SC2046
read -r t_pvc2 rss_pvc2 < <(pvc 2 $(local_repo "$dir/repo-pvc"))
plain_local() { plain "$dir/repo-plain"; }
# shellcheck disable=SC2046
pvc_unchanged() { pvc "3-$round" $(local_repo "$dir/repo-pvc") "${nothing_due[@]}"; }
alternate plain_local pvc_unchanged
t_plain3=$t_a t_pvc3=$t_b rounds_plain3=${rounds_a[*]} rounds_pvc3=${rounds_b[*]}
# The first backup of a tree into a repository that exists (a new target
# of a shared repository), as restic's first backup above: no init, no check.
restic -r "$dir/repo-pvcx" init --quiet >/dev/null
# shellcheck disable=SC2046
read -r t_pvcx _ < <(pvc x $(local_repo "$dir/repo-pvcx") "${nothing_due[@]}")
rm -rf "$dir/repo-pvcx"

t_s3=""
if command -v versitygw >/dev/null; then
  echo "S3 (versitygw) backups ..." >&2
  s3=$(bash hack/start-s3.sh "$dir/s3" "$(free_port)" bench | sed -n 's/^S3_ENDPOINT=//p')
  s3_pvc=(--provider=s3 --bucket=bench --endpoint="http://$s3" --path=pvc)
  restic -r "s3:http://$s3/bench/plain" init --quiet >/dev/null
  read -r t_s3plain _ < <(plain "s3:http://$s3/bench/plain" cache-s3plain)
  read -r t_s3 _ < <(pvc s3-1 "${s3_pvc[@]}")
  plain_s3() { plain "s3:http://$s3/bench/plain" cache-s3plain; }
  pvc_s3_unchanged() { pvc "s3-2-$round" "${s3_pvc[@]}" "${nothing_due[@]}"; }
  alternate plain_s3 pvc_s3_unchanged
  t_s3plain2=$t_a t_s3pvc2=$t_b rounds_s3plain2=${rounds_a[*]} rounds_s3pvc2=${rounds_b[*]}
fi

# A repository with a history: the two local repositories get snapshots of
# another path (same host) up to $history, and the unchanged tree is backed
# up once more, keeping them all.
echo "history: $history snapshots in each repository ..." >&2
mkdir -p "$dir/hist"
have=$(restic -r "$dir/repo-plain" snapshots --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
for i in $(seq "$have" $((history - 1))); do
  echo "$i" > "$dir/hist/n"
  for r in repo-plain repo-pvc; do restic -r "$dir/$r" backup --quiet --host host-0 --cache-dir "$dir/cache-hist" "$dir/hist" >/dev/null; done
done
# shellcheck disable=SC2046
pvc_history() { pvc "hist-$round" $(local_repo "$dir/repo-pvc") "${nothing_due[@]}" --retention-keep-last=$((history + 10)); }
alternate plain_local pvc_history
t_hplain=$t_a t_hpvc=$t_b rounds_hplain=${rounds_a[*]} rounds_hpvc=${rounds_b[*]}

# Restores: restic restore and restore-pvc of the same snapshot of the same
# repository.
echo "restores ..." >&2
snap=$(restic -r "$dir/repo-pvc" snapshots --json --latest 1 --host host-0 --path "$dir/data" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
restore_plain() {
  measure restic -r "$dir/repo-pvc" restore "$snap" --target "$dir/restore-plain" --cache-dir "$dir/cache-restore"
  rm -rf "$dir/restore-plain"
}
restore_pvc() { # puts files back where they were: into a fresh directory there
  mv "$dir/data" "$dir/data.orig"
  measure "$stash" restore-pvc --provider=local --bucket="$dir/repo-pvc" --secret-dir="$dir/secret" --scratch-dir="$dir/scratch-r$round" \
    --hostname=host-0 --snapshots="$snap" --output-dir="$dir/out-r"
  rm -rf "$dir/data"
  mv "$dir/data.orig" "$dir/data"
}
alternate restore_plain restore_pvc
t_rplain=$t_a t_rpvc=$t_b rounds_rplain=${rounds_a[*]} rounds_rpvc=${rounds_b[*]}

t_sfplain=""
if [ "$small_files" -gt 0 ]; then
  echo "small files: $small_files of 1-4 KiB ..." >&2
  python3 - "$dir/small" "$small_files" <<'PY'
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(7)
for i in range(n):
    d = os.path.join(root, f"d{i % 200}", f"e{(i // 200) % 50}")
    if i < 10000:
        os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i}"), "wb") as f:
        f.write(rng.randbytes(rng.randint(1 << 10, 4 << 10)))
PY
  sf_bytes=$(du -sb "$dir/small" | cut -f1)
  sync
  # Both repositories exist beforehand: the rows compare the backups.
  for r in repo-sfplain repo-sfpvc; do restic -r "$dir/$r" init --quiet >/dev/null; done
  read -r t_sfplain rss_sfplain < <(pvc_paths="$dir/small" plain "$dir/repo-sfplain" cache-sfplain)
  # shellcheck disable=SC2046
  read -r t_sfpvc rss_sfpvc < <(pvc_paths="$dir/small" pvc sf $(local_repo "$dir/repo-sfpvc") "${nothing_due[@]}")
  rm -rf "$dir/small"
fi

pg_rss=0; t_pg=""; t_pgraw=""; t_dump=""; dump_bytes=0
if [ -x /usr/lib/postgresql/15/bin/postgres ]; then
  echo "starting PostgreSQL and loading $pg_rows rows ..." >&2
  port=$(free_port)
  bash hack/start-postgres.sh "$dir/pg" "$port" >/dev/null
  export PGPASSWORD="${STASH_TEST_DB_PASSWORD:-stash-test-password}"
  psql -X -q -h 127.0.0.1 -p "$port" -U postgres -c "create database bench" \
    -c "\\c bench" -c "create table t as select g id, md5(g::text) a, md5((g*7)::text) b, now() ts from generate_series(1, $pg_rows) g"
  read -r t_dump _ < <(measure sh -c "pg_dumpall -h 127.0.0.1 -p $port -U postgres > /dev/null")
  dump_bytes=$(pg_dumpall -h 127.0.0.1 -p "$port" -U postgres | wc -c)
  restic -r "$dir/repo-pgraw" init --quiet >/dev/null
  read -r t_pgraw _ < <(measure sh -c "pg_dumpall -h 127.0.0.1 -p $port -U postgres | restic -r $dir/repo-pgraw backup --quiet --host host-0 --stdin --stdin-filename dumpfile.sql --cache-dir $dir/cache-pgraw")
  pg() { # run [flags...]
    local run=$1
    shift
    measure "$stash" backup-pg --provider=local --bucket="$dir/repo-pg" --secret-dir="$dir/secret" --scratch-dir="$dir/scratch-pg" \
      --hostname=host-0 --host=127.0.0.1 --port="$port" --user=postgres --output-dir="$dir/out-pg$run" --retention-keep-last=5 "$@"
  }
  read -r t_pg pg_rss < <(pg "")
  read -r t_pgraw2 _ < <(measure sh -c "pg_dumpall -h 127.0.0.1 -p $port -U postgres | restic -r $dir/repo-pgraw backup --quiet --host host-0 --stdin --stdin-filename dumpfile.sql --cache-dir $dir/cache-pgraw")
  read -r t_pg2 _ < <(pg 2 "${nothing_due[@]}")
fi

echo
echo "data: $(mib $((bytes / 1024))) MiB in $(find "$dir/data" -type f | wc -l) files; $(nproc) cores; restic $(restic version | cut -d' ' -f2)"
printf '%-74s %11s %15s %13s\n' "what" "time" "throughput" "peak RSS"
row "restic backup (first)" "$t_plain" "$(mibps "$bytes" "$t_plain")" "$(mib "$rss_plain")"
row "stash backup-pvc (first, incl. init/forget/check)" "$t_pvc" "$(mibps "$bytes" "$t_pvc")" "$(mib "$rss_pvc")"
s_pvc=$(step_secs "$dir/out-1")
row "  of which the backup step (restic's summary, 1 s)" "$s_pvc" "$(mibps "$bytes" "$s_pvc")" "-"
row "stash backup-pvc (first, repository exists, nothing due)" "$t_pvcx" "$(mibps "$bytes" "$t_pvcx")" "-"
row "restic backup (second, unchanged)" "$t_plain2" "$(mibps "$bytes" "$t_plain2")" "-"
row "stash backup-pvc (second, unchanged)" "$t_pvc2" "$(mibps "$bytes" "$t_pvc2")" "$(mib "$rss_pvc2")"
s_pvc2=$(step_secs "$dir/out-2")
row "  of which the backup step (restic's summary, 1 s)" "$s_pvc2" "-" "-"
row "restic backup (unchanged; median of $rounds_plain3)" "$t_plain3" "$(mibps "$bytes" "$t_plain3")" "-"
row "stash backup-pvc (unchanged, nothing due; of $rounds_pvc3)" "$t_pvc3" "$(mibps "$bytes" "$t_pvc3")" "-"
if [ -n "$t_s3" ]; then
  row "restic backup into S3 (first)" "$t_s3plain" "$(mibps "$bytes" "$t_s3plain")" "-"
  row "stash backup-pvc into S3 (first)" "$t_s3" "$(mibps "$bytes" "$t_s3")" "-"
  row "restic backup into S3 (unchanged; of $rounds_s3plain2)" "$t_s3plain2" "$(mibps "$bytes" "$t_s3plain2")" "-"
  row "stash backup-pvc into S3 (unchanged, nothing due; of $rounds_s3pvc2)" "$t_s3pvc2" "$(mibps "$bytes" "$t_s3pvc2")" "-"
fi
row "restic backup (unchanged, $history snapshots; of $rounds_hplain)" "$t_hplain" "$(mibps "$bytes" "$t_hplain")" "-"
row "stash backup-pvc (unchanged, $history snapshots, nothing due; of $rounds_hpvc)" "$t_hpvc" "$(mibps "$bytes" "$t_hpvc")" "-"
if [ -n "$t_sfplain" ]; then
  row "restic backup, $small_files small files" "$t_sfplain" "$(mibps "$sf_bytes" "$t_sfplain")" "$(mib "$rss_sfplain")"
  row "stash backup-pvc, $small_files small files" "$t_sfpvc" "$(mibps "$sf_bytes" "$t_sfpvc")" "$(mib "$rss_sfpvc")"
fi
row "restic restore (median of $rounds_rplain)" "$t_rplain" "$(mibps "$bytes" "$t_rplain")" "-"
row "stash restore-pvc of the same snapshot (of $rounds_rpvc)" "$t_rpvc" "$(mibps "$bytes" "$t_rpvc")" "-"
if [ -n "$t_pg" ]; then
  row "pg_dumpall > /dev/null" "$t_dump" "$(mibps "$dump_bytes" "$t_dump")" "-"
  row "pg_dumpall | restic backup --stdin" "$t_pgraw" "$(mibps "$dump_bytes" "$t_pgraw")" "-"
  row "stash backup-pg (first, incl. init/forget/check)" "$t_pg" "$(mibps "$dump_bytes" "$t_pg")" "$(mib "$pg_rss")"
  s_pg=$(step_secs "$dir/out-pg")
  row "  of which dump + backup step (restic's summary, 1 s)" "$s_pg" "$(mibps "$dump_bytes" "$s_pg")" "-"
  row "pg_dumpall | restic backup --stdin (second)" "$t_pgraw2" "$(mibps "$dump_bytes" "$t_pgraw2")" "-"
  row "stash backup-pg (second, nothing due)" "$t_pg2" "$(mibps "$dump_bytes" "$t_pg2")" "-"
fi
echo
awk -v a="$t_plain" -v b="$s_pvc" 'BEGIN { printf "backup step of backup-pvc / restic backup, throughput (first): %.2f\n", a / b }'
awk -v a="$t_plain" -v b="$t_pvc" 'BEGIN { printf "whole backup-pvc command / restic backup, throughput (first):  %.2f\n", a / b }'
awk -v a="$t_plain" -v b="$t_pvcx" 'BEGIN { printf "whole backup-pvc / restic backup (first, repository exists, nothing due): %.2f\n", a / b }'
awk -v a="$t_plain2" -v b="$t_pvc2" 'BEGIN { printf "backup-pvc throughput / restic throughput (second, check and measure): %.2f\n", a / b }'
awk -v a="$t_plain3" -v b="$t_pvc3" 'BEGIN { printf "backup-pvc throughput / restic throughput (unchanged, nothing due): %.2f\n", a / b }'
if [ -n "$t_s3" ]; then
  awk -v a="$t_s3plain" -v b="$t_s3" 'BEGIN { printf "S3: whole backup-pvc / restic backup, throughput (first): %.2f\n", a / b }'
  awk -v a="$t_s3plain2" -v b="$t_s3pvc2" 'BEGIN { printf "S3: backup-pvc / restic (unchanged, nothing due): %.2f\n", a / b }'
fi
awk -v a="$t_hplain" -v b="$t_hpvc" -v n="$history" 'BEGIN { printf "%d snapshots: backup-pvc / restic (unchanged, nothing due): %.2f\n", n, a / b }'
if [ -n "$t_sfplain" ]; then
  awk -v a="$t_sfplain" -v b="$t_sfpvc" -v n="$small_files" 'BEGIN { printf "%d small files: backup-pvc / restic backup, throughput: %.2f\n", n, a / b }'
fi
awk -v a="$t_rplain" -v b="$t_rpvc" 'BEGIN { printf "restore-pvc throughput / restic restore throughput: %.2f\n", a / b }'
if [ -n "$t_pg" ]; then
  awk -v a="$t_pgraw" -v b="$s_pg" 'BEGIN { printf "dump+backup step of backup-pg / (pg_dumpall | restic), throughput: %.2f\n", a / b }'
  awk -v a="$t_pgraw" -v b="$t_pg" 'BEGIN { printf "whole backup-pg command / (pg_dumpall | restic), throughput: %.2f\n", a / b }'
  awk -v a="$t_dump" -v b="$t_pg" 'BEGIN { printf "backup-pg throughput / pg_dumpall-to-/dev/null throughput: %.2f\n", a / b }'
  awk -v a="$t_pgraw2" -v b="$t_pg2" 'BEGIN { printf "whole backup-pg / (pg_dumpall | restic), second, nothing due: %.2f\n", a / b }'
fi
echo "(peak RSS is the largest process of the command's tree as /usr/bin/time reports it: for stash commands that is restic, the child)"
