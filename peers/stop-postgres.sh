#!/usr/bin/env bash
# Stop a PostgreSQL server started by start-postgres.sh (same PG_PORT /
# PG_RUN_DIR), by the pid in its postmaster.pid, never by name: SIGINT (fast
# shutdown: sessions are cut, nothing is waited for), SIGKILL after 10 s.
# PG_REMOVE=1 also removes PG_RUN_DIR.
set -euo pipefail
PORT="${PG_PORT:-55432}"
RUN_DIR="${PG_RUN_DIR:-/tmp/presence-b2b-peers/postgres-$PORT}"
PIDFILE="$RUN_DIR/data/postmaster.pid"
say() { echo "stop-postgres: $*" >&2; }
if [ -f "$PIDFILE" ]; then
  pid="$(head -1 "$PIDFILE" 2>/dev/null || true)"
  cmd="$( { tr '\0' ' ' < "/proc/$pid/cmdline"; } 2>/dev/null || true)"
  case "$cmd" in
    *postgres*"$RUN_DIR/data"*)
      kill -INT "$pid" 2>/dev/null || true
      for _ in $(seq 1 500); do
        st="$( { awk '{print $3}' "/proc/$pid/stat"; } 2>/dev/null || true)"
        { [ -z "$st" ] || [ "$st" = Z ]; } && break
        sleep 0.02
      done
      if kill -0 "$pid" 2>/dev/null && [ "$( { awk '{print $3}' "/proc/$pid/stat"; } 2>/dev/null)" != Z ]; then
        say "pid $pid still there after 10 s: SIGKILL"; kill -KILL "$pid" 2>/dev/null || true
      fi
      say "stopped pid $pid" ;;
    *) say "pid '$pid' from $PIDFILE is not our postgres: nothing to stop" ;;
  esac
else
  say "no $PIDFILE: nothing to stop"
fi
if [ "${PG_REMOVE:-0}" = 1 ]; then
  case "$RUN_DIR" in /tmp/*) rm -rf "$RUN_DIR" ;; esac
fi
