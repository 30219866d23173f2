# shellcheck shell=bash
# Daemons that hack/ scripts start and stop. A PID file holds "PID START":
# START is the process's start time (/proc/PID/stat field 22, clock ticks
# since boot). exec does not change it and a recycled PID cannot repeat it,
# so a process is ours exactly when both match. (Matching the command line
# instead fails right after the fork: until the child has exec'd the daemon,
# its command line is still the script's.)

# proc_start_time PID: prints the process's start time; fails when there is
# no such process or it has exited (a zombie).
proc_start_time() {
  local stat fields
  read -r stat 2>/dev/null < "/proc/$1/stat" || return 1
  # The command name (field 2) may hold spaces and parentheses: skip past
  # its closing parenthesis; fields[0] is then field 3, the state.
  read -ra fields <<< "${stat##*) }"
  [ "${fields[0]}" != Z ] || return 1
  echo "${fields[19]}"
}

# close_inherited_fds: closes every descriptor above 2 of the current
# (sub)shell. A daemon that kept one open would keep the write end of its
# starter's pipes (a `| tee`, a process substitution): their readers would
# never see end-of-file.
close_inherited_fds() {
  local f fd
  for f in /proc/"$BASHPID"/fd/*; do
    fd=${f##*/}
    [ "$fd" -gt 2 ] 2>/dev/null || continue
    exec {fd}>&- 2>/dev/null || true
  done
}

# daemon_start PIDFILE LOGFILE CMD...: starts CMD detached (its own session,
# stdin /dev/null, stdout and stderr appended to LOGFILE, no other
# descriptor) and records it in PIDFILE. Prints the PID.
daemon_start() {
  local pidfile=$1 logfile=$2 pid start
  shift 2
  ( close_inherited_fds; exec setsid "$@" >>"$logfile" 2>&1 </dev/null ) &
  pid=$!
  # The child exists from the fork on, before it execs: its start time is
  # readable now. Empty if it has already exited, which daemon_pid reports.
  start=$(proc_start_time "$pid") || start=""
  echo "$pid $start" > "$pidfile"
  echo "$pid"
}

# daemon_pid PIDFILE: prints the PID recorded in PIDFILE if that process
# still runs; fails otherwise.
daemon_pid() {
  local pid="" start="" now
  [ -r "$1" ] || return 1
  read -r pid start < "$1" || true
  [ -n "$pid" ] && [ -n "$start" ] || return 1
  now=$(proc_start_time "$pid") || return 1
  [ "$now" = "$start" ] || return 1
  echo "$pid"
}

# daemon_stop SECONDS PIDFILE...: SIGTERM to every recorded process that
# still runs, SIGKILL to those still there after SECONDS; removes the PID
# files. Logs each stop by the PID file's name (etcd.pid -> etcd).
daemon_stop() {
  local secs=$1 f pid n i
  shift
  local names=() pids=()
  for f in "$@"; do
    if pid=$(daemon_pid "$f"); then
      kill -TERM "$pid" 2>/dev/null || true
      names+=("$(basename "$f" .pid)"); pids+=("$pid")
    fi
    rm -f "$f"
  done
  for i in "${!pids[@]}"; do
    for ((n = 0; n < secs * 5; n++)); do proc_start_time "${pids[$i]}" >/dev/null || break; sleep 0.2; done
    if proc_start_time "${pids[$i]}" >/dev/null; then
      log "${names[$i]} (pid ${pids[$i]}) ignored SIGTERM for ${secs}s: SIGKILL"
      kill -KILL "${pids[$i]}" 2>/dev/null || true
      # SIGKILL is delivered, not done: wait until the process is gone.
      for ((n = 0; n < 50; n++)); do proc_start_time "${pids[$i]}" >/dev/null || break; sleep 0.1; done
    fi
    log "stopped ${names[$i]} (pid ${pids[$i]})"
  done
}

# run_tmp_create: makes and prints a temporary directory of this test run
# (mode 1777, like /tmp: the test database servers run as their own users
# and write there). Point TMPDIR at it, and every process the run starts
# (envtest's apiserver and etcd among them) names it in its arguments.
run_tmp_create() {
  local dir
  dir=$(mktemp -d /tmp/stash-test.XXXXXX)
  chmod 1777 "$dir"
  echo "$dir"
}

# run_tmp_cleanup DIR: stops the processes whose arguments name DIR (those
# that outlived a killed test binary) and removes DIR; the processes and
# files of other runs on this machine are left alone.
run_tmp_cleanup() {
  local dir=${1:?run_tmp_cleanup: no directory}
  pkill -KILL -f -- "$dir/" 2>/dev/null || true
  rm -rf "$dir"
}
