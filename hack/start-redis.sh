#!/usr/bin/env bash
# Starts a throwaway Redis (Debian's redis-server) on 127.0.0.1 whose
# default user has a password, with no persistence. Stop it with:
# hack/stop-servers.sh DIR
#
# usage: start-redis.sh DIR PORT
# env:   STASH_TEST_DB_PASSWORD (default stash-test-password)
#        STASH_TEST_REDIS_TLS=CERT_DIR: TLS only on PORT, with CERT_DIR's
#        server.crt, server.key and ca.crt (clients need no certificate)
# prints REDIS_HOST=127.0.0.1 REDIS_PORT=PORT REDIS_USER=default
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=hack/lib/proc.sh
source "$here/lib/proc.sh"
dir="${1:?directory for data, log and pid}"; port="${2:?port}"
password="${STASH_TEST_DB_PASSWORD:-stash-test-password}"
command -v redis-server >/dev/null || { echo "start-redis.sh: redis-server not found; run hack/setup-test-infra.sh (apt package redis-server)" >&2; exit 1; }
mkdir -p "$dir"; dir="$(cd "$dir" && pwd)"
# The password in a file, not on the command line (ps shows that).
umask 077
tls=()
if [ -n "${STASH_TEST_REDIS_TLS:-}" ]; then
  certs="$STASH_TEST_REDIS_TLS"
  printf 'port 0\ntls-port %s\ntls-cert-file %s\ntls-key-file %s\ntls-ca-cert-file %s\ntls-auth-clients no\n' \
    "$port" "$certs/server.crt" "$certs/server.key" "$certs/ca.crt" > "$dir/tls.conf"
  tls=(--tls --cacert "$certs/ca.crt")
else
  printf 'port %s\n' "$port" > "$dir/tls.conf"
fi
cat > "$dir/redis.conf" <<CONF
bind 127.0.0.1
include $dir/tls.conf
dir $dir
logfile $dir/redis.log
save ""
appendonly no
requirepass $password
CONF
daemon_start "$dir/redis.pid" "$dir/redis.out" redis-server "$dir/redis.conf" >/dev/null
for _ in $(seq 1 100); do
  [ "$(REDISCLI_AUTH="$password" redis-cli "${tls[@]}" -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ] && break
  sleep 0.1
done
[ "$(REDISCLI_AUTH="$password" redis-cli "${tls[@]}" -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ] \
  || { echo "start-redis.sh: redis-server did not come up; log:" >&2; tail -20 "$dir/redis.log" >&2; exit 1; }
echo "REDIS_HOST=127.0.0.1 REDIS_PORT=$port REDIS_USER=default"
