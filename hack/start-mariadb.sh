#!/usr/bin/env bash
# Starts a throwaway MariaDB 10.11 (Debian's mariadb-server) on 127.0.0.1 with
# a password for root@'%' and root@localhost. Stop it with: hack/stop-servers.sh DIR
#
# usage: start-mariadb.sh DIR PORT
# env:   STASH_TEST_DB_PASSWORD (default stash-test-password)
# prints MYSQL_HOST=127.0.0.1 MYSQL_TCP_PORT=PORT MYSQL_USER=root
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=hack/lib/proc.sh
source "$here/lib/proc.sh"
dir="${1:?directory for data, log and pid}"; port="${2:?port}"
password="${STASH_TEST_DB_PASSWORD:-stash-test-password}"
command -v mariadbd >/dev/null || { echo "start-mariadb.sh: mariadbd not found; run hack/setup-test-infra.sh (apt package mariadb-server)" >&2; exit 1; }
mkdir -p "$dir"; dir="$(cd "$dir" && pwd)"
user=$(id -un); [ "$user" = root ] && { user=mysql; chown mysql: "$dir"; }
mariadb-install-db --no-defaults --user="$user" --datadir="$dir/data" \
  --auth-root-authentication-method=normal --skip-test-db > "$dir/install.log" 2>&1 \
  || { tail -20 "$dir/install.log" >&2; exit 1; }
# mariadbd.pid is the server's own; mariadb.pid (PID and start time) is
# what stop-servers.sh stops.
daemon_start "$dir/mariadb.pid" "$dir/mariadb.out" \
  mariadbd --no-defaults --user="$user" --datadir="$dir/data" --socket="$dir/mariadb.sock" \
  --port="$port" --bind-address=127.0.0.1 --pid-file="$dir/mariadbd.pid" \
  --log-error="$dir/mariadb.log" --skip-log-bin --innodb-flush-log-at-trx-commit=0 >/dev/null
for _ in $(seq 1 100); do
  mariadb-admin --no-defaults --socket="$dir/mariadb.sock" -uroot ping > /dev/null 2>&1 && break
  sleep 0.2
done
mariadb-admin --no-defaults --socket="$dir/mariadb.sock" -uroot ping > /dev/null 2>&1 \
  || { echo "start-mariadb.sh: mariadbd did not come up; log:" >&2; tail -20 "$dir/mariadb.log" >&2; exit 1; }
# The socket login is passwordless until now; after this, TCP logins need the password.
mariadb --no-defaults --socket="$dir/mariadb.sock" -uroot -e "
  ALTER USER 'root'@'localhost' IDENTIFIED BY '$password';
  CREATE USER 'root'@'%' IDENTIFIED BY '$password';
  GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;
  FLUSH PRIVILEGES;"
echo "MYSQL_HOST=127.0.0.1 MYSQL_TCP_PORT=$port MYSQL_USER=root"
