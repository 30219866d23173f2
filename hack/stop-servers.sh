#!/usr/bin/env bash
# Stops every server that a hack/start-*.sh script started in DIR, by the PIDs
# in DIR/*.pid (nothing broader), then removes DIR.
# usage: stop-servers.sh DIR [--keep]
set -uo pipefail
dir="${1:?directory given to start-*.sh}"
[ -d "$dir" ] || exit 0
for pidfile in "$dir"/*.pid; do
  [ -f "$pidfile" ] || continue
  pid=$(head -1 "$pidfile")
  [ -n "$pid" ] || continue
  kill "$pid" 2>/dev/null || continue
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null
done
[ "${2:-}" = --keep ] || rm -rf "$dir"
