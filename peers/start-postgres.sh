#!/usr/bin/env bash
# Start a throw-away PostgreSQL 15 server on 127.0.0.1 in the background, for
# the cluster tests and benchmarks (issue 16).
#
#   pid=$(PG_PORT=55432 PG_RUN_DIR=/tmp/x peers/start-postgres.sh)
#                       # stdout: the postmaster pid only; progress on stderr
#
# Creates a fresh cluster (initdb) in PG_RUN_DIR/data, owned by a non-root
# user (PostgreSQL refuses to run as root: when we are root, the Debian
# package's `postgres` user runs it), listening on 127.0.0.1:PG_PORT only,
# with its Unix socket in PG_RUN_DIR, trust authentication for the superuser
# `pb2b` and a database `pb2b`. Stop it with stop-postgres.sh (by the pid in
# PG_RUN_DIR/data/postmaster.pid, never by name).
#
# Environment (all optional):
#   PG_PORT           TCP port on 127.0.0.1                      (55432)
#   PG_RUN_DIR        everything: data, socket, log (under /tmp)  (/tmp/presence-b2b-peers/postgres-$PG_PORT)
#   PG_DURABLE        1: fsync and synchronous_commit on, as in production (benchmarks);
#                     0: off, for tests, where the machine never crashes under PostgreSQL (0)
#   PG_READY_TIMEOUT  seconds to wait for the server               (30)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PORT="${PG_PORT:-55432}"
RUN_DIR="${PG_RUN_DIR:-/tmp/presence-b2b-peers/postgres-$PORT}"
DURABLE="${PG_DURABLE:-0}"
READY_TIMEOUT="${PG_READY_TIMEOUT:-30}"
DATA="$RUN_DIR/data"
LOG="$RUN_DIR/postgres.log"

say() { echo "start-postgres: $*" >&2; }

. "$HERE/packages.sh"
peers_ensure_packages postgresql-15
BIN=/usr/lib/postgresql/15/bin
[ -x "$BIN/initdb" ] || { say "no $BIN/initdb after installing postgresql-15"; exit 1; }

# PostgreSQL will not run as root: run it as the package's `postgres` user then.
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$RUN_DIR" in /tmp/*) ;; *) say "PG_RUN_DIR must be under /tmp, not $RUN_DIR"; exit 2 ;; esac
if [ -f "$DATA/postmaster.pid" ]; then
  oldpid="$(head -1 "$DATA/postmaster.pid" 2>/dev/null || true)"
  if [ -n "$oldpid" ] && kill -0 "$oldpid" 2>/dev/null; then
    say "already running (pid $oldpid) on 127.0.0.1:$PORT"
    echo "$oldpid"
    exit 0
  fi
fi
rm -rf "$DATA"
mkdir -p "$RUN_DIR"
[ "$(id -u)" = 0 ] && chown postgres "$RUN_DIR"
chmod 700 "$RUN_DIR"

t0=$(date +%s%N)
# --no-sync: a throw-away cluster; -A trust: loopback only, no password to keep anywhere.
as_owner "$BIN/initdb" -D "$DATA" -U pb2b -A trust -E UTF8 --locale=C.UTF-8 --no-sync >"$RUN_DIR/initdb.log" 2>&1 || {
  say "initdb failed:"; tail -n 20 "$RUN_DIR/initdb.log" >&2; exit 1; }
if [ "$DURABLE" = 1 ]; then
  sync_opts="-c fsync=on -c synchronous_commit=on"
else
  sync_opts="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
fi
# setsid: the server leaves the caller's process group (a test runner's signals are not its own).
# shellcheck disable=SC2086
as_owner setsid "$BIN/postgres" -D "$DATA" -c listen_addresses=127.0.0.1 -p "$PORT" \
  -c unix_socket_directories="$RUN_DIR" -c max_connections=200 -c shared_buffers=64MB \
  $sync_opts >"$LOG" 2>&1 </dev/null &

deadline=$(( $(date +%s) + READY_TIMEOUT ))
until as_owner "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" -U pb2b -d postgres; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    say "not ready within ${READY_TIMEOUT}s; last log lines:"; tail -n 20 "$LOG" >&2 || true; exit 1
  fi
  sleep 0.05
done
as_owner "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U pb2b pb2b
pid="$(head -1 "$DATA/postmaster.pid")"
t1=$(date +%s%N)
say "postgresql $("$BIN/postgres" --version | awk '{print $3}') ready in $(( (t1 - t0) / 1000000 )) ms: pid $pid, 127.0.0.1:$PORT, database pb2b, user pb2b, durable=$DURABLE, log $LOG"
echo "$pid"
