#!/usr/bin/env bash
# Measures the data-plane Functions against plain restic and pg_dumpall on the
# same data, in one run, and prints a table. Not a test: nothing is asserted.
#
#   backup-pvc of ~1 GiB of mixed files    vs  restic backup of the same tree
#   second (incremental) backup-pvc         vs  second restic backup
#   backup-pg of a ~500 MB database         vs  pg_dumpall | restic backup --stdin
#                                           vs  pg_dumpall > /dev/null
#   peak RSS of the stash process (and of restic, which it runs as a child)
#
# Needs: make build (bin/stash), restic and PostgreSQL 15 (hack/setup-test-infra.sh).
# env: BENCH_DIR (default a fresh dir under /var/tmp), BENCH_GIB (data size, default 1),
#      BENCH_PG_ROWS (default 4000000, ~500 MB of dump)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${STASH_INFRA_BIN:-/var/cache/stash-ci/bin}:$PATH"
stash="$PWD/bin/stash"
[ -x "$stash" ] || { echo "bin/stash is missing: run make build" >&2; exit 1; }
command -v restic >/dev/null || { echo "restic not found: run hack/setup-test-infra.sh" >&2; exit 1; }
dir="${BENCH_DIR:-$(mktemp -d /var/tmp/stash-bench.XXXXXX)}"
gib="${BENCH_GIB:-1}"
pg_rows="${BENCH_PG_ROWS:-4000000}"
trap 'bash hack/stop-servers.sh "$dir/pg" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
mkdir -p "$dir/secret" "$dir/data"
chmod 755 "$dir" # the PostgreSQL server runs as user postgres and must reach $dir/pg
printf 'bench-password' > "$dir/secret/RESTIC_PASSWORD"
export RESTIC_PASSWORD=bench-password

# seconds and peak RSS (KiB) of a command: "<secs> <kib>"
measure() {
  local out="$dir/time.$$"
  /usr/bin/time -f '%e %M' -o "$out" "$@" > "$dir/last.log" 2>&1 || { cat "$dir/last.log" >&2; return 1; }
  cat "$out"
}
# restic's own duration of the backup step, from output.json's processingTime
# ("0h1m2s"): the command also runs init, forget, check and stats.
step_secs() {
  python3 -c 'import json,re,sys; t=json.load(open(sys.argv[1]))["hostBackupStats"][0]["snapshots"][0]["processingTime"]; h,m,s=map(int,re.fullmatch(r"(\d+)h(\d+)m(\d+)s",t).groups()); print(h*3600+m*60+s)' "$1/output.json"
}
row() { printf '%-46s %9s s %9s MiB/s %9s MiB\n' "$1" "$2" "$3" "$4"; }
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

pvc() { # repo-dir run [flags...]
  local repo=$1 run=$2
  shift 2
  measure "$stash" backup-pvc --provider=local --bucket="$repo" --secret-dir="$dir/secret" --scratch-dir="$dir/scratch-$run" \
    --hostname=host-0 --backup-paths="$dir/data" --output-dir="$dir/out-$run" --retention-keep-last=5 --enable-cache=true "$@"
}
# What the operator passes when neither a check nor a prune is due (package
# maintenance: at most one of each a day): the daily backup's usual case.
nothing_due=(--check-repository=false --measure-repository=false)
plain() { # repo-dir
  measure restic -r "$1" backup --quiet --host host-0 --cache-dir "$dir/cache-plain" "$dir/data"
}

echo "restic init + backups ..." >&2
restic -r "$dir/repo-plain" init --quiet >/dev/null
read -r t_plain rss_plain < <(plain "$dir/repo-plain")
read -r t_pvc rss_pvc < <(pvc "$dir/repo-pvc" 1)
read -r t_plain2 _ < <(plain "$dir/repo-plain")
read -r t_pvc2 rss_pvc2 < <(pvc "$dir/repo-pvc" 2)
read -r t_plain3 _ < <(plain "$dir/repo-plain")
read -r t_pvc3 _ < <(pvc "$dir/repo-pvc" 3 "${nothing_due[@]}")

echo "restores ..." >&2
snap=$(restic -r "$dir/repo-plain" snapshots --json --latest 1 --host host-0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
read -r t_rplain _ < <(measure restic -r "$dir/repo-plain" restore "$snap" --target "$dir/restore-plain" --cache-dir "$dir/cache-plain")
# restore-pvc puts files back where they were: into a fresh directory there.
mv "$dir/data" "$dir/data.orig"
read -r t_rpvc _ < <(measure "$stash" restore-pvc --provider=local --bucket="$dir/repo-pvc" --secret-dir="$dir/secret" --scratch-dir="$dir/scratch-r" \
  --hostname=host-0 --restore-paths="$dir/data" --output-dir="$dir/out-r")
rm -rf "$dir/restore-plain" "$dir/data"
mv "$dir/data.orig" "$dir/data"

pg_rss=0; t_pg=""; t_pgraw=""; t_dump=""; dump_bytes=0
if [ -x /usr/lib/postgresql/15/bin/postgres ]; then
  echo "starting PostgreSQL and loading $pg_rows rows ..." >&2
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
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
printf '%-46s %11s %15s %13s\n' "what" "time" "throughput" "peak RSS"
row "restic backup (first)" "$t_plain" "$(mibps "$bytes" "$t_plain")" "$(mib "$rss_plain")"
row "stash backup-pvc (first, incl. forget/check/stats)" "$t_pvc" "$(mibps "$bytes" "$t_pvc")" "$(mib "$rss_pvc")"
s_pvc=$(step_secs "$dir/out-1")
row "  of which the backup step (restic's summary, 1 s)" "$s_pvc" "$(mibps "$bytes" "$s_pvc")" "-"
row "restic backup (second, unchanged)" "$t_plain2" "$(mibps "$bytes" "$t_plain2")" "-"
row "stash backup-pvc (second, unchanged)" "$t_pvc2" "$(mibps "$bytes" "$t_pvc2")" "$(mib "$rss_pvc2")"
s_pvc2=$(step_secs "$dir/out-2")
row "  of which the backup step (restic's summary, 1 s)" "$s_pvc2" "-" "-"
row "restic backup (third, unchanged)" "$t_plain3" "$(mibps "$bytes" "$t_plain3")" "-"
row "stash backup-pvc (third, unchanged, nothing due)" "$t_pvc3" "$(mibps "$bytes" "$t_pvc3")" "-"
row "restic restore of the latest snapshot" "$t_rplain" "$(mibps "$bytes" "$t_rplain")" "-"
row "stash restore-pvc of the latest snapshot" "$t_rpvc" "$(mibps "$bytes" "$t_rpvc")" "-"
if [ -n "$t_pg" ]; then
  row "pg_dumpall > /dev/null" "$t_dump" "$(mibps "$dump_bytes" "$t_dump")" "-"
  row "pg_dumpall | restic backup --stdin" "$t_pgraw" "$(mibps "$dump_bytes" "$t_pgraw")" "-"
  row "stash backup-pg (incl. forget/check/stats)" "$t_pg" "$(mibps "$dump_bytes" "$t_pg")" "$(mib "$pg_rss")"
  s_pg=$(step_secs "$dir/out-pg")
  row "  of which dump + backup step (restic's summary, 1 s)" "$s_pg" "$(mibps "$dump_bytes" "$s_pg")" "-"
  row "pg_dumpall | restic backup --stdin (second)" "$t_pgraw2" "$(mibps "$dump_bytes" "$t_pgraw2")" "-"
  row "stash backup-pg (second, nothing due)" "$t_pg2" "$(mibps "$dump_bytes" "$t_pg2")" "-"
fi
echo
awk -v a="$t_plain" -v b="$s_pvc" 'BEGIN { printf "backup step of backup-pvc / restic backup, throughput (first): %.2f\n", a / b }'
awk -v a="$t_plain" -v b="$t_pvc" 'BEGIN { printf "whole backup-pvc command / restic backup, throughput (first):  %.2f\n", a / b }'
awk -v a="$t_plain2" -v b="$t_pvc2" 'BEGIN { printf "backup-pvc throughput / restic throughput (second, check and measure): %.2f\n", a / b }'
awk -v a="$t_plain3" -v b="$t_pvc3" 'BEGIN { printf "backup-pvc throughput / restic throughput (third, nothing due): %.2f\n", a / b }'
awk -v a="$t_rplain" -v b="$t_rpvc" 'BEGIN { printf "restore-pvc throughput / restic restore throughput: %.2f\n", a / b }'
if [ -n "$t_pg" ]; then
  awk -v a="$t_pgraw" -v b="$s_pg" 'BEGIN { printf "dump+backup step of backup-pg / (pg_dumpall | restic), throughput: %.2f\n", a / b }'
  awk -v a="$t_pgraw" -v b="$t_pg" 'BEGIN { printf "whole backup-pg command / (pg_dumpall | restic), throughput: %.2f\n", a / b }'
  awk -v a="$t_dump" -v b="$t_pg" 'BEGIN { printf "backup-pg throughput / pg_dumpall-to-/dev/null throughput: %.2f\n", a / b }'
  awk -v a="$t_pgraw2" -v b="$t_pg2" 'BEGIN { printf "whole backup-pg / (pg_dumpall | restic), second, nothing due: %.2f\n", a / b }'
fi
echo "(peak RSS is the largest process of the command's tree as /usr/bin/time reports it: for stash commands that is restic, the child)"
