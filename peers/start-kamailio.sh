#!/usr/bin/env bash
# Start a Kamailio peer on 127.0.0.1 (UDP+TCP) in the background.
#
#   pid=$(./start-kamailio.sh)                            # presence server, 5070
#   pid=$(KAMAILIO_PROFILE=reginfo ./start-kamailio.sh)   # reg event server, 5072
#                       # stdout: the pid only; progress on stderr
#
# Profiles (KAMAILIO_PROFILE; each has its own cfg, default port and run dir):
#   presence    kamailio/kamailio-presence.cfg    5070  PUBLISH/SUBSCRIBE presence (default)
#   reginfo     kamailio/kamailio-reginfo.cfg     5072  registrar + Event: reg (RFC 3680)
#   dialoginfo  kamailio/kamailio-dialoginfo.cfg  5074  proxy + Event: dialog (RFC 4235)
#   rls         kamailio/kamailio-rls.cfg         5076  resource lists (RFC 4662) + presence
#   auth        kamailio/kamailio-auth.cfg        5078  presence behind digest auth, min_expires
#   tls         kamailio/kamailio-presence.cfg    5084  presence, and TLS on 5085 with the
#                                                       certificate in KAMAILIO_TLS_CERT/_KEY
#
# Idempotent: installs missing Debian packages (kamailio,
# kamailio-presence-modules, sip-tester) with apt-get, recreates the runtime
# dir, and if a peer started by this script is already running on the port
# and answers OPTIONS, just prints its pid again.
#
# Environment (all optional):
#   KAMAILIO_PROFILE        presence|reginfo|dialoginfo|rls|auth  (presence)
#   KAMAILIO_CFG            config file                           (kamailio/kamailio-$PROFILE.cfg)
#   KAMAILIO_PORT           SIP port, UDP and TCP, on 127.0.0.1   (per profile, see above)
#   KAMAILIO_DOMAIN         presence domain served                (example.com)
#   KAMAILIO_RUN_DIR        runtime dir: pid, log, db, ctl socket
#                           (/tmp/presence-b2b-peers/kamailio-$PROFILE-$PORT)
#   KAMAILIO_PUBL_CACHE     presence publ_cache, 1 or 2            (1)
#   KAMAILIO_SHM_MB         shared memory in MB                   (256)
#   KAMAILIO_READY_TIMEOUT  seconds to wait for the OPTIONS answer (15)
#   KAMAILIO_DEBUG          Kamailio debug level 0..3              (2; 3 logs every SIP step)
#   KAMAILIO_TLS_CERT, KAMAILIO_TLS_KEY   PEM files (profile tls: required)
#   KAMAILIO_TLS_PORT       TLS port (profile tls)                 (KAMAILIO_PORT + 1)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$HERE/kamailio/profile.sh"      # PROFILE, CFG, PORT, RUN_DIR
PROBE="$HERE/sipp/options.xml"
DOMAIN="${KAMAILIO_DOMAIN:-example.com}"
PUBL_CACHE="${KAMAILIO_PUBL_CACHE:-1}"
SHM_MB="${KAMAILIO_SHM_MB:-256}"
READY_TIMEOUT="${KAMAILIO_READY_TIMEOUT:-15}"
DEBUG_LEVEL="${KAMAILIO_DEBUG:-2}"
PIDFILE="$RUN_DIR/kamailio.pid"
LOG="$RUN_DIR/kamailio.log"

say() { echo "start-kamailio: $*" >&2; }

# ---------------------------------------------------------------- packages
. "$HERE/packages.sh"
if [ "$PROFILE" = tls ]; then
  peers_ensure_packages kamailio kamailio-presence-modules kamailio-tls-modules sip-tester
else
  peers_ensure_packages kamailio kamailio-presence-modules sip-tester
fi
defines_text="$(profile_defines)" || exit 2
EXTRA_DEFINES=()
while IFS= read -r define; do
  if [ -n "$define" ]; then EXTRA_DEFINES+=(-A "$define"); fi
done <<< "$defines_text"
KAMAILIO_BIN="$(command -v kamailio)"
MODPATH="$(peers_find_kamailio_modpath)"
TPL_DIR=/usr/share/kamailio/dbtext/kamailio

# ---------------------------------------------------------------- helpers
# is $1 a live kamailio main process started with our cfg and port?
is_our_kamailio() {
  local pid="$1" cmd
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  cmd="$( { tr '\0' ' ' < "/proc/$pid/cmdline"; } 2>/dev/null || true)"
  case "$cmd" in
    *kamailio*"$CFG"*"SIP_PORT=$PORT "*) return 0 ;;
  esac
  return 1
}
probe() {  # $1 = u1|t1 ; answers OPTIONS with 200?
  ( cd "$RUN_DIR" && timeout 5 sipp -sf "$PROBE" -t "$1" -i 127.0.0.1 -m 1 -nostdin \
      -timeout 2s -timeout_error -max_retrans 2 127.0.0.1:"$PORT" >/dev/null 2>&1 )
}

# ---------------------------------------------------------------- already up?
if [ -f "$PIDFILE" ]; then
  oldpid="$(cat "$PIDFILE" 2>/dev/null || true)"
  if is_our_kamailio "$oldpid"; then
    if probe u1; then
      say "already running (pid $oldpid) on udp+tcp 127.0.0.1:$PORT"
      echo "$oldpid"
      exit 0
    fi
    say "pid $oldpid is ours but does not answer OPTIONS; stop it with stop-kamailio.sh"
    exit 1
  fi
  rm -f "$PIDFILE"
fi

# port must be free on 127.0.0.1 (UDP and TCP)
if command -v ss >/dev/null 2>&1; then
  if ss -Hlnu "sport = :$PORT" | grep -q . || ss -Hlnt "sport = :$PORT" | grep -q .; then
    say "port $PORT is already in use:"; ss -lnptu "sport = :$PORT" >&2 || true
    exit 1
  fi
fi

# ---------------------------------------------------------------- runtime dir
mkdir -p "$RUN_DIR"
rm -rf "$RUN_DIR/db"
mkdir -p "$RUN_DIR/db"
for t in $PROFILE_TABLES; do
  cp "$TPL_DIR/$t" "$RUN_DIR/db/$t"
done
profile_seed "$RUN_DIR/db"
rm -f "$RUN_DIR/kamailio_ctl" "$LOG"

# ---------------------------------------------------------------- start
t0=$(date +%s%N)
# -DD: the creator stays in the foreground (so $! is the main pid), workers
# are its children.  setsid: detach from the caller's process group/terminal.
setsid "$KAMAILIO_BIN" -DD -E -f "$CFG" -P "$PIDFILE" -m "$SHM_MB" -M 8 \
  -A SIP_PORT="$PORT" \
  -A "SIP_DOMAIN=\"$DOMAIN\"" \
  -A "DB_URL=\"text://$RUN_DIR/db\"" \
  -A "CTL_SOCK=\"unix:$RUN_DIR/kamailio_ctl\"" \
  -A "PUBL_CACHE=$PUBL_CACHE" \
  -A "MOD_PATH=\"$MODPATH/\"" \
  -A "DEBUG_LEVEL=$DEBUG_LEVEL" \
  -A "SELF_URI=\"sip:127.0.0.1:$PORT\"" \
  -A "RLS_ADDR=\"sip:rls@127.0.0.1:$PORT\"" \
  "${EXTRA_DEFINES[@]}" \
  >"$LOG" 2>&1 </dev/null &
pid=$!
echo "$pid" > "$RUN_DIR/started.pid"

deadline=$(( $(date +%s) + READY_TIMEOUT ))
until probe u1; do
  if ! kill -0 "$pid" 2>/dev/null; then
    say "kamailio exited during start-up; last log lines:"
    tail -n 30 "$LOG" >&2 || true
    exit 1
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    say "no OPTIONS answer within ${READY_TIMEOUT}s; last log lines:"
    tail -n 30 "$LOG" >&2 || true
    kill -TERM "$pid" 2>/dev/null || true
    exit 1
  fi
  sleep 0.05
done
# the TCP workers may come up a little after the UDP ones: retry until the deadline
until probe t1; do
  if ! kill -0 "$pid" 2>/dev/null || [ "$(date +%s)" -ge "$deadline" ]; then
    say "UDP answers but TCP does not within ${READY_TIMEOUT}s; last log lines:"
    tail -n 30 "$LOG" >&2 || true
    kill -TERM "$pid" 2>/dev/null || true
    exit 1
  fi
  sleep 0.05
done
t1=$(date +%s%N)
[ -f "$PIDFILE" ] && [ "$(cat "$PIDFILE")" != "$pid" ] && say "warning: pidfile says $(cat "$PIDFILE"), \$! was $pid"
echo "$pid" > "$PIDFILE"
say "kamailio $("$KAMAILIO_BIN" -v | sed -n 's/^version: kamailio \([^ ]*\).*/\1/p') ($PROFILE) ready in $(( (t1 - t0) / 1000000 )) ms: pid $pid, udp+tcp 127.0.0.1:$PORT, domain $DOMAIN, log $LOG"
echo "$pid"
