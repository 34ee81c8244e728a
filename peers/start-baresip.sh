#!/usr/bin/env bash
# Second, independent presence peer: baresip 1.0 (Debian bookworm) acting as a
# presence *notifier* UA (RFC 3856 peer-to-peer: it answers SUBSCRIBE
# Event: presence for its account and sends PIDF NOTIFYs).  Loopback only.
#
#   pid=$(./start-baresip.sh)      # stdout: pid; progress on stderr
#   ./baresip-cmd.sh presence_online | presence_offline   # change its state
#
# Account sip:carol@127.0.0.1:5080 (UDP+TCP on 127.0.0.1:5080; baresip also
# opens its TLS listener on 5081), no registration, no PUBLISH.  Control
# socket (ctrl_tcp, netstring JSON) on 127.0.0.1:4444.
# Env: BARESIP_PORT (5080), BARESIP_CTRL_PORT (4444), BARESIP_USER (carol),
#      BARESIP_RUN_DIR (/tmp/presence-b2b-peers/baresip-$PORT), BARESIP_READY_TIMEOUT (10)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PORT="${BARESIP_PORT:-5080}"
CTRL_PORT="${BARESIP_CTRL_PORT:-4444}"
USER_NAME="${BARESIP_USER:-carol}"
RUN_DIR="${BARESIP_RUN_DIR:-/tmp/presence-b2b-peers/baresip-$PORT}"
READY_TIMEOUT="${BARESIP_READY_TIMEOUT:-10}"
PIDFILE="$RUN_DIR/baresip.pid"
LOG="$RUN_DIR/baresip.log"
say() { echo "start-baresip: $*" >&2; }

. "$HERE/packages.sh"
peers_ensure_packages baresip-core sip-tester
MODDIR="$(peers_find_baresip_modpath)"

probe() { ( cd "$RUN_DIR" && timeout 5 sipp -sf "$HERE/sipp/options.xml" -s "$USER_NAME" -i 127.0.0.1 -m 1 -nostdin \
             -timeout 2s -timeout_error -max_retrans 2 127.0.0.1:"$PORT" >/dev/null 2>&1 ); }
is_ours() { local c; c="$( { tr '\0' ' ' < "/proc/$1/cmdline"; } 2>/dev/null || true)"
            case "$c" in baresip*"-f $RUN_DIR"*) return 0 ;; esac; return 1; }

if [ -f "$PIDFILE" ]; then
  old="$(cat "$PIDFILE")"
  if is_ours "$old" && probe; then say "already running (pid $old)"; echo "$old"; exit 0; fi
  is_ours "$old" && { say "pid $old does not answer; run stop-baresip.sh"; exit 1; }
  rm -f "$PIDFILE"
fi

mkdir -p "$RUN_DIR"
cat > "$RUN_DIR/config" <<CFG
poll_method		epoll
sip_listen		127.0.0.1:$PORT
sip_trans_def		udp
net_interface		127.0.0.1
dns_server		127.0.0.1:53
module_path		$MODDIR
module			g711.so
module_app		account.so
module_app		contact.so
module_app		presence.so
module_app		ctrl_tcp.so
ctrl_tcp_listen		127.0.0.1:$CTRL_PORT
CFG
echo "<sip:$USER_NAME@127.0.0.1:$PORT>;regint=0;pubint=0;answermode=manual" > "$RUN_DIR/accounts"
: > "$RUN_DIR/contacts"   # no contacts => baresip itself subscribes to nobody
rm -f "$LOG"
setsid baresip -f "$RUN_DIR" -v >"$LOG" 2>&1 </dev/null &
pid=$!
echo "$pid" > "$PIDFILE"
deadline=$(( $(date +%s) + READY_TIMEOUT ))
until grep -q "baresip is ready" "$LOG" 2>/dev/null && probe; do
  kill -0 "$pid" 2>/dev/null || { say "baresip exited:"; tail -20 "$LOG" >&2; rm -f "$PIDFILE"; exit 1; }
  [ "$(date +%s)" -lt "$deadline" ] || { say "not ready in ${READY_TIMEOUT}s"; tail -20 "$LOG" >&2; exit 1; }
  sleep 0.1
done
say "baresip ready: pid $pid, sip:$USER_NAME@127.0.0.1:$PORT (udp+tcp), ctrl 127.0.0.1:$CTRL_PORT"
echo "$pid"
