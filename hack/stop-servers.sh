#!/usr/bin/env bash
# Stops every server that a hack/start-*.sh script started in DIR, by the PID
# files DIR/*.pid (PID and start time, so a recycled PID is never signalled;
# nothing broader), then removes DIR.
# usage: stop-servers.sh DIR [--keep]
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=hack/lib/common.sh
source "$here/lib/common.sh"
# shellcheck source=hack/lib/proc.sh
source "$here/lib/proc.sh"
log_name=stop-servers
dir="${1:?directory given to start-*.sh}"
[ -d "$dir" ] || exit 0
shopt -s nullglob
daemon_stop 10 "$dir"/*.pid 2>/dev/null
[ "${2:-}" = --keep ] || rm -rf "$dir"
