#!/usr/bin/env bash
# Start a throw-away NATS server with JetStream on 127.0.0.1 in the background
# (issue 16: measured against PostgreSQL LISTEN/NOTIFY for the status fan-out,
# bench/fanout.ts).
#
#   pid=$(NATS_PORT=54222 NATS_RUN_DIR=/tmp/x peers/start-nats.sh)   # stdout: the pid only
#
# Environment (all optional):
#   NATS_PORT           client port on 127.0.0.1                 (54222)
#   NATS_RUN_DIR        JetStream store, pid file, log (under /tmp) (/tmp/presence-b2b-peers/nats-$NATS_PORT)
#   NATS_READY_TIMEOUT  seconds to wait for the port              (15)
# Stop it with stop-nats.sh (by the pid in NATS_RUN_DIR/nats.pid, never by name).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PORT="${NATS_PORT:-54222}"
RUN_DIR="${NATS_RUN_DIR:-/tmp/presence-b2b-peers/nats-$PORT}"
READY_TIMEOUT="${NATS_READY_TIMEOUT:-15}"
say() { echo "start-nats: $*" >&2; }
. "$HERE/packages.sh"
peers_ensure_packages nats-server
case "$RUN_DIR" in /tmp/*) ;; *) say "NATS_RUN_DIR must be under /tmp, not $RUN_DIR"; exit 2 ;; esac
rm -rf "$RUN_DIR/js"
mkdir -p "$RUN_DIR"
t0=$(date +%s%N)
setsid nats-server -a 127.0.0.1 -p "$PORT" -js -sd "$RUN_DIR/js" -P "$RUN_DIR/nats.pid" >"$RUN_DIR/nats.log" 2>&1 </dev/null &
pid=$!
deadline=$(( $(date +%s) + READY_TIMEOUT ))
until (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; do
  kill -0 "$pid" 2>/dev/null || { say "nats-server exited:"; tail -n 20 "$RUN_DIR/nats.log" >&2; exit 1; }
  [ "$(date +%s)" -ge "$deadline" ] && { say "no listener within ${READY_TIMEOUT}s"; kill -TERM "$pid"; exit 1; }
  sleep 0.05
done
echo "$pid" > "$RUN_DIR/nats.pid"
say "nats-server $(nats-server --version | awk '{print $2}') ready in $(( ($(date +%s%N) - t0) / 1000000 )) ms: pid $pid, 127.0.0.1:$PORT, JetStream in $RUN_DIR/js"
echo "$pid"
