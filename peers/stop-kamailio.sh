#!/usr/bin/env bash
# Stop a Kamailio peer started by start-kamailio.sh.
# Kills only the pid recorded in the pidfile (and, if they outlive it, the
# worker processes that were its children); never by name.
#
#   ./stop-kamailio.sh                            # same KAMAILIO_PROFILE /
#   KAMAILIO_PROFILE=reginfo ./stop-kamailio.sh   # KAMAILIO_PORT / KAMAILIO_RUN_DIR as start
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$HERE/kamailio/profile.sh"      # PROFILE, CFG, PORT, RUN_DIR
PIDFILE="$RUN_DIR/kamailio.pid"

say() { echo "stop-kamailio: $*" >&2; }

if [ ! -f "$PIDFILE" ]; then
  say "no pidfile $PIDFILE: nothing to stop"
  exit 0
fi
pid="$(cat "$PIDFILE" 2>/dev/null || true)"
cmd="$( { tr '\0' ' ' < "/proc/$pid/cmdline"; } 2>/dev/null || true)"
case "$cmd" in
  *kamailio*"$CFG"*) ;;
  *)
    say "pid '$pid' from $PIDFILE is not running (or is not our kamailio): removing stale pidfile"
    rm -f "$PIDFILE"
    exit 0 ;;
esac

# remember the workers (children of the main process) before signalling
# (read from /proc: minimal containers may have no ps)
children_of() {
  local d st rest
  for d in /proc/[0-9]*; do
    st=""
    { read -r st < "$d/stat"; } 2>/dev/null || continue
    rest="${st##*) }"           # after "pid (comm) ": state ppid ...
    rest="${rest#* }"
    [ "${rest%% *}" = "$1" ] && echo "${d#/proc/}"
  done
  return 0
}
children="$(children_of "$pid" | tr '\n' ' ')"
# a zombie counts as gone (in a container, pid 1 may never reap it)
alive() {
  local st
  st="$( { awk '{print $3}' "/proc/$1/stat"; } 2>/dev/null || true)"
  [ -n "$st" ] && [ "$st" != Z ]
}
live_workers() {  # how many of $children still run
  local c n=0
  for c in $children; do alive "$c" && n=$((n + 1)); done
  echo "$n"
}
kill -TERM "$pid" 2>/dev/null || true
# The workers exit within ~0.1 s of SIGTERM; the main process then lingers
# for 1-2 s in its shutdown (still holding the SIP sockets) although nothing
# is left to save: all state lives in memory or in RUN_DIR, recreated at each
# start.  So once every worker is gone it gets 0.2 s more and then SIGKILL:
# the port is free at once, which keeps restarts (restartKamailio() in the
# interop tests) and test teardown fast.  Hard limit 5 s.
idle=0
for _ in $(seq 1 250); do
  alive "$pid" || break
  if [ "$(live_workers)" = 0 ]; then
    idle=$((idle + 1))
    [ "$idle" -ge 10 ] && { kill -KILL "$pid" 2>/dev/null || true; }
  fi
  sleep 0.02
done
if alive "$pid"; then
  say "pid $pid still there after 5 s: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
fi
# workers normally exit with the main process; kill leftovers by pid only
for c in $children; do
  ccmd="$( { tr '\0' ' ' < "/proc/$c/cmdline"; } 2>/dev/null || true)"
  case "$ccmd" in
    *kamailio*"$CFG"*) kill -KILL "$c" 2>/dev/null || true ;;
  esac
done
rm -f "$PIDFILE" "$RUN_DIR/started.pid" "$RUN_DIR/kamailio_ctl"
say "stopped pid $pid"
