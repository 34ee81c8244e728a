#!/usr/bin/env bash
# Stop a NATS server started by start-nats.sh (same NATS_PORT / NATS_RUN_DIR),
# by the pid in its pid file: SIGTERM, SIGKILL after 5 s. NATS_REMOVE=1 also
# removes NATS_RUN_DIR.
set -euo pipefail
PORT="${NATS_PORT:-54222}"
RUN_DIR="${NATS_RUN_DIR:-/tmp/presence-b2b-peers/nats-$PORT}"
PIDFILE="$RUN_DIR/nats.pid"
if [ -f "$PIDFILE" ]; then
  pid="$(cat "$PIDFILE")"
  case "$( { tr '\0' ' ' < "/proc/$pid/cmdline"; } 2>/dev/null || true)" in
    *nats-server*"$RUN_DIR"*)
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 250); do kill -0 "$pid" 2>/dev/null || break; sleep 0.02; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
      echo "stop-nats: stopped pid $pid" >&2 ;;
    *) echo "stop-nats: pid '$pid' is not our nats-server" >&2 ;;
  esac
fi
if [ "${NATS_REMOVE:-0}" = 1 ]; then case "$RUN_DIR" in /tmp/*) rm -rf "$RUN_DIR" ;; esac; fi
