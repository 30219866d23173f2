#!/usr/bin/env bash
# Starts a throwaway PostgreSQL 15 (Debian's server binaries) on 127.0.0.1,
# with password authentication for the superuser `postgres`.
# Stop it with: hack/stop-servers.sh DIR
#
# usage: start-postgres.sh DIR PORT
# env:   STASH_TEST_DB_PASSWORD (default stash-test-password)
# prints PGHOST=127.0.0.1 PGPORT=PORT PGUSER=postgres
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=hack/lib/proc.sh
source "$here/lib/proc.sh"
dir="${1:?directory for data, log and pid}"; port="${2:?port}"
password="${STASH_TEST_DB_PASSWORD:-stash-test-password}"
pgbin="${PGBIN:-/usr/lib/postgresql/15/bin}"
[ -x "$pgbin/initdb" ] || { echo "start-postgres.sh: $pgbin/initdb not found; run hack/setup-test-infra.sh (apt package postgresql)" >&2; exit 1; }
mkdir -p "$dir"; dir="$(cd "$dir" && pwd)"
# initdb refuses to run as root.
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres: "$dir"
printf '%s\n' "$password" > "$dir/pwfile"
[ "$(id -u)" = 0 ] && chown postgres: "$dir/pwfile"
as_owner "$pgbin/initdb" -D "$dir/pgdata" -U postgres --pwfile="$dir/pwfile" -A scram-sha-256 --no-sync -E UTF8 > "$dir/initdb.log" 2>&1 \
  || { tail -20 "$dir/initdb.log" >&2; exit 1; }
rm -f "$dir/pwfile"
# -k: the socket goes into DIR because /var/run/postgresql may not exist.
as_owner "$pgbin/pg_ctl" -D "$dir/pgdata" -l "$dir/postgres.log" -w \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off" start > /dev/null \
  || { tail -20 "$dir/postgres.log" >&2; exit 1; }
# pg_ctl detached the server: record its PID and start time for stop-servers.sh.
pid=$(head -1 "$dir/pgdata/postmaster.pid")
echo "$pid $(proc_start_time "$pid")" > "$dir/postgres.pid"
echo "PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres"
