#!/usr/bin/env bash
# Stop the baresip peer by its pidfile (SIGTERM = graceful, a 2nd SIGTERM forces).
set -euo pipefail
PORT="${BARESIP_PORT:-5080}"
RUN_DIR="${BARESIP_RUN_DIR:-/tmp/presence-b2b-peers/baresip-$PORT}"
PIDFILE="$RUN_DIR/baresip.pid"
[ -f "$PIDFILE" ] || { echo "stop-baresip: no pidfile" >&2; exit 0; }
pid="$(cat "$PIDFILE")"
c="$( { tr '\0' ' ' < "/proc/$pid/cmdline"; } 2>/dev/null || true)"
case "$c" in baresip*"-f $RUN_DIR"*) ;; *) rm -f "$PIDFILE"; echo "stop-baresip: stale pidfile" >&2; exit 0 ;; esac
alive() {  # a zombie counts as gone (in a container, pid 1 may never reap it)
  local st
  st="$( { awk '{print $3}' "/proc/$1/stat"; } 2>/dev/null || true)"
  [ -n "$st" ] && [ "$st" != Z ]
}
# SIGTERM = graceful: baresip closes its subscriptions and SIP stack, logs
# "main: unloading modules..", and then idles 1-2 s before it exits.  Once that
# line is logged nothing is left to do (it keeps no state outside RUN_DIR):
# SIGKILL after 0.1 s.  Otherwise a second SIGTERM (forced stop) after 0.5 s,
# SIGKILL after 2.5 s.
kill -TERM "$pid" 2>/dev/null || true
unloading=0
for i in $(seq 1 125); do
  alive "$pid" || break
  if grep -q '^main: unloading modules' "$RUN_DIR/baresip.log" 2>/dev/null; then
    unloading=$((unloading + 1))
    [ "$unloading" -ge 5 ] && { kill -KILL "$pid" 2>/dev/null || true; }
  fi
  [ "$i" = 25 ] && { kill -TERM "$pid" 2>/dev/null || true; }    # second SIGTERM: forced stop
  [ "$i" = 125 ] && { kill -KILL "$pid" 2>/dev/null || true; }
  sleep 0.02
done
rm -f "$PIDFILE"
echo "stop-baresip: stopped pid $pid" >&2
