# shellcheck shell=bash
# What every hack/ script shares: log lines that name the script and the time
# since it started, die, and timing. Source it and name the script:
#
#   source "$here/lib/common.sh"; log_name=demo
#   log "building"      -> [demo 1.2s] building        (on stderr)
#   t=$(now_us); ...; echo "took $(since "$t")s"

lib_t0=${EPOCHREALTIME/./}

# now_us: the time in microseconds, for since.
now_us() { echo "${EPOCHREALTIME/./}"; }

# since START_US: seconds from START_US to now, with one decimal (12.3).
since() {
  local us=$(( ${EPOCHREALTIME/./} - $1 ))
  printf '%d.%01d' $((us / 1000000)) $((us / 100000 % 10))
}

log() { echo "[${log_name:-${0##*/}} $(since "$lib_t0")s] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# run_logged LOGFILE PATTERN CMD...: runs CMD with its whole stderr kept in
# LOGFILE and only the lines that match the extended regex PATTERN shown, so
# that a long progress log stays short. When CMD fails, the last lines of
# LOGFILE are shown too: they hold the reason (which component, its log,
# what to do), which a filter would hide. CMD's stdout is the caller's.
run_logged() {
  local logfile=$1 pattern=$2 rc=0
  shift 2
  local -
  set -o pipefail # the status of CMD, not of the filter
  # CMD's stderr goes through the pipe, its stdout to the caller's (fd 3).
  # A pipeline ends when all of it has: LOGFILE is complete afterwards.
  { "$@" 2>&1 1>&3 3>&- | tee "$logfile" | { grep --line-buffered -E -- "$pattern" || true; } >&2; } 3>&1 || rc=$?
  if [ "$rc" != 0 ]; then
    echo "---- $* failed (exit status $rc); the last lines of its log $logfile:" >&2
    tail -n 40 "$logfile" >&2
    echo "---- end of $logfile" >&2
  fi
  return "$rc"
}
