#!/usr/bin/env bash
# Runs a command with the third-party SIP peers of the interop tests up, and
# stops them again, whatever happens:
#
#   bash scripts/with-peers.sh node --test --test-concurrency=1 dist/test/interop/
#
# 1. installs the Debian packages when missing (scripts/install-peers.sh)
# 2. starts, in parallel, on 127.0.0.1 only:
#      Kamailio profile presence  udp+tcp :5070   (peers/start-kamailio.sh)
#      Kamailio profile auth      udp+tcp :5078   digest auth, 423 Min-Expires 60
#      Kamailio profile reginfo   udp+tcp :5072   registrar + Event: reg (RFC 3680)
#      Kamailio profile dialoginfo udp+tcp :5074  proxy + Event: dialog (RFC 4235)
#      Kamailio profile rls       udp+tcp :5076   resource lists (RFC 4662) + presence
#      baresip notifier           udp+tcp :5080   sip:carol@..., ctrl_tcp :4444
#    each start waits until the peer answers OPTIONS; if one fails, the reason
#    (its log tail) is printed and the script exits non-zero: no silent skip
# 3. exports for the tests (see test/support/peers.ts):
#      PB2B_KAMAILIO=127.0.0.1:5070        PB2B_KAMAILIO_RUN_DIR=<its run dir>
#      PB2B_KAMAILIO_AUTH=127.0.0.1:5078   PB2B_KAMAILIO_AUTH_RUN_DIR=<its run dir>
#      PB2B_KAMAILIO_REGINFO=127.0.0.1:5072      PB2B_KAMAILIO_REGINFO_RUN_DIR=<its run dir>
#      PB2B_KAMAILIO_DIALOGINFO=127.0.0.1:5074   PB2B_KAMAILIO_DIALOGINFO_RUN_DIR=<its run dir>
#      PB2B_KAMAILIO_RLS=127.0.0.1:5076          PB2B_KAMAILIO_RLS_RUN_DIR=<its run dir>
#      PB2B_BARESIP=127.0.0.1:5080         PB2B_BARESIP_RUN_DIR=<its run dir>
#      PB2B_BARESIP_CTRL=127.0.0.1:4444    PB2B_PEERS_DIR=<absolute peers/ dir>
#      PB2B_PEERS_SCRATCH=<per-run scratch dir under /tmp, removed at the end>
#      PB2B_KAMAILIO_TLS_PORT=5084  (profile tls, udp+tcp, TLS on the next port: started and
#                                    stopped by its own test with a certificate it makes;
#                                    stopped here too when a run left it behind)
# 4. runs CMD in its own process group, and on exit, INT or TERM stops CMD's
#    group (if still running) and then each peer by the pid in its pidfile
#    (peers/stop-*.sh), never by name; exits with CMD's status.
#
# Runs of this script are serialised by a lock (/tmp/presence-b2b-peers/
# with-peers.lock, waited for up to PB2B_PEERS_LOCK_WAIT seconds, 900): each
# run gets freshly started peers with empty state.  Other ports:
# PB2B_KAMAILIO_PORT, PB2B_KAMAILIO_AUTH_PORT, PB2B_KAMAILIO_REGINFO_PORT,
# PB2B_KAMAILIO_DIALOGINFO_PORT, PB2B_KAMAILIO_RLS_PORT, PB2B_BARESIP_PORT,
# PB2B_BARESIP_CTRL_PORT.  Everything is written under /tmp, nothing in the
# repository.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PEERS_DIR="$ROOT/peers"
say() { echo "with-peers: $*" >&2; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# CI may start us with stdin closed: give CMD /dev/null then (see `<&0` below)
{ : 3<&0; } 2>/dev/null || exec 0</dev/null

if [ "$#" -eq 0 ]; then
  echo "usage: bash scripts/with-peers.sh CMD [ARGS...]" >&2
  exit 2
fi

KPORT="${PB2B_KAMAILIO_PORT:-5070}"
APORT="${PB2B_KAMAILIO_AUTH_PORT:-5078}"
RPORT="${PB2B_KAMAILIO_REGINFO_PORT:-5072}"
DPORT="${PB2B_KAMAILIO_DIALOGINFO_PORT:-5074}"
LPORT="${PB2B_KAMAILIO_RLS_PORT:-5076}"
BPORT="${PB2B_BARESIP_PORT:-5080}"
BCTRL="${PB2B_BARESIP_CTRL_PORT:-4444}"
STATE_ROOT=/tmp/presence-b2b-peers
KDIR="$STATE_ROOT/kamailio-presence-$KPORT"
ADIR="$STATE_ROOT/kamailio-auth-$APORT"
RDIR="$STATE_ROOT/kamailio-reginfo-$RPORT"
DDIR="$STATE_ROOT/kamailio-dialoginfo-$DPORT"
LDIR="$STATE_ROOT/kamailio-rls-$LPORT"
BDIR="$STATE_ROOT/baresip-$BPORT"
# Kamailio profile tls is started by its test (test/interop/kamailio-tls.test.ts) with a
# certificate the test makes; here it is only stopped, when a run left it behind.
TPORT="${PB2B_KAMAILIO_TLS_PORT:-5084}"
TDIR="$STATE_ROOT/kamailio-tls-$TPORT"
mkdir -p "$STATE_ROOT" || exit 1

# ------------------------------------------------------------------ lock
LOCK_FD=""
if command -v flock >/dev/null 2>&1; then
  exec {LOCK_FD}>>"$STATE_ROOT/with-peers.lock" || exit 1
  if ! flock -n "$LOCK_FD"; then
    say "another with-peers run holds $STATE_ROOT/with-peers.lock: waiting (at most ${PB2B_PEERS_LOCK_WAIT:-900} s)"
    flock -w "${PB2B_PEERS_LOCK_WAIT:-900}" "$LOCK_FD" || { say "gave up waiting for the lock"; exit 1; }
  fi
else
  say "warning: flock not found; concurrent runs are not serialised"
fi

# Every child gets the lock fd closed, so that a peer (or a test) that
# outlives this script cannot keep the lock.
nolock() {
  if [ -n "$LOCK_FD" ]; then "$@" {LOCK_FD}>&-; else "$@"; fi
}
kamailio_peer() {  # start|stop PROFILE PORT RUN_DIR
  KAMAILIO_PROFILE="$2" KAMAILIO_PORT="$3" KAMAILIO_RUN_DIR="$4" nolock bash "$PEERS_DIR/$1-kamailio.sh"
}
baresip_peer() {   # start|stop
  BARESIP_PORT="$BPORT" BARESIP_CTRL_PORT="$BCTRL" BARESIP_RUN_DIR="$BDIR" nolock bash "$PEERS_DIR/$1-baresip.sh"
}
stop_all() {       # in parallel; each one only acts on the pid in its own pidfile
  local pids=()
  kamailio_peer stop presence "$KPORT" "$KDIR" 2>/dev/null &
  pids+=($!)
  kamailio_peer stop auth "$APORT" "$ADIR" 2>/dev/null &
  pids+=($!)
  kamailio_peer stop reginfo "$RPORT" "$RDIR" 2>/dev/null &
  pids+=($!)
  kamailio_peer stop dialoginfo "$DPORT" "$DDIR" 2>/dev/null &
  pids+=($!)
  kamailio_peer stop rls "$LPORT" "$LDIR" 2>/dev/null &
  pids+=($!)
  baresip_peer stop 2>/dev/null &
  pids+=($!)
  kamailio_peer stop tls "$TPORT" "$TDIR" 2>/dev/null &
  pids+=($!)
  wait "${pids[@]}"
}

CHILD=""
SCRATCH=""
CLEANED=0
cleanup() {
  local status="$1"
  [ "$CLEANED" = 1 ] && return
  CLEANED=1
  trap '' INT TERM
  if [ -n "$CHILD" ] && kill -0 "$CHILD" 2>/dev/null; then
    kill -TERM -- "-$CHILD" 2>/dev/null || kill -TERM "$CHILD" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$CHILD" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$CHILD" 2>/dev/null || true
  fi
  local t0; t0=$(now_ms)
  stop_all
  [ -n "$SCRATCH" ] && rm -rf "$SCRATCH"
  say "peers stopped in $(( $(now_ms) - t0 )) ms; exit status $status"
}
on_signal() {  # $1 = signal name, $2 = exit status
  say "got SIG$1: stopping the command and the peers"
  if [ -n "$CHILD" ]; then kill -"$1" -- "-$CHILD" 2>/dev/null || kill -"$1" "$CHILD" 2>/dev/null; fi
  cleanup "$2"
  exit "$2"
}
trap 'cleanup $?' EXIT
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM
trap 'on_signal HUP 129' HUP

# ------------------------------------------------------------------ install
t_start=$(now_ms)
nolock bash "$ROOT/scripts/install-peers.sh" || { say "installing the peer packages failed"; exit 1; }

# ------------------------------------------------------------------ start
# We hold the lock, so anything still running from our run dirs is left over
# from an earlier run that was killed: stop it (by its pidfile) to start clean.
stop_all
SCRATCH="$(mktemp -d "$STATE_ROOT/run.XXXXXX")" || exit 1
kamailio_peer start presence "$KPORT" "$KDIR" >"$SCRATCH/kamailio.pid" 2>"$SCRATCH/kamailio.err" &
pk=$!
kamailio_peer start auth "$APORT" "$ADIR" >"$SCRATCH/kamailio-auth.pid" 2>"$SCRATCH/kamailio-auth.err" &
pa=$!
kamailio_peer start reginfo "$RPORT" "$RDIR" >"$SCRATCH/kamailio-reginfo.pid" 2>"$SCRATCH/kamailio-reginfo.err" &
pr=$!
kamailio_peer start dialoginfo "$DPORT" "$DDIR" >"$SCRATCH/kamailio-dialoginfo.pid" 2>"$SCRATCH/kamailio-dialoginfo.err" &
pd=$!
kamailio_peer start rls "$LPORT" "$LDIR" >"$SCRATCH/kamailio-rls.pid" 2>"$SCRATCH/kamailio-rls.err" &
pl=$!
baresip_peer start >"$SCRATCH/baresip.pid" 2>"$SCRATCH/baresip.err" &
pb=$!
failed=()
wait "$pk" || failed+=("kamailio (presence, 127.0.0.1:$KPORT):kamailio")
wait "$pa" || failed+=("kamailio (auth, 127.0.0.1:$APORT):kamailio-auth")
wait "$pr" || failed+=("kamailio (reginfo, 127.0.0.1:$RPORT):kamailio-reginfo")
wait "$pd" || failed+=("kamailio (dialoginfo, 127.0.0.1:$DPORT):kamailio-dialoginfo")
wait "$pl" || failed+=("kamailio (rls, 127.0.0.1:$LPORT):kamailio-rls")
wait "$pb" || failed+=("baresip (127.0.0.1:$BPORT, ctrl $BCTRL):baresip")
if [ "${#failed[@]}" -gt 0 ]; then
  for f in "${failed[@]}"; do
    say "FAILED to start ${f%:*}:"
    sed 's/^/    /' "$SCRATCH/${f##*:}.err" >&2
  done
  say "(other ports: PB2B_KAMAILIO_PORT, PB2B_KAMAILIO_AUTH_PORT, PB2B_KAMAILIO_REGINFO_PORT, PB2B_KAMAILIO_DIALOGINFO_PORT, PB2B_KAMAILIO_RLS_PORT, PB2B_BARESIP_PORT, PB2B_BARESIP_CTRL_PORT)"
  exit 1
fi
say "peers up in $(( $(now_ms) - t_start )) ms: kamailio pid $(cat "$SCRATCH/kamailio.pid") :$KPORT," \
    "kamailio-auth pid $(cat "$SCRATCH/kamailio-auth.pid") :$APORT," \
    "kamailio-reginfo pid $(cat "$SCRATCH/kamailio-reginfo.pid") :$RPORT," \
    "kamailio-dialoginfo pid $(cat "$SCRATCH/kamailio-dialoginfo.pid") :$DPORT," \
    "kamailio-rls pid $(cat "$SCRATCH/kamailio-rls.pid") :$LPORT, baresip pid $(cat "$SCRATCH/baresip.pid") :$BPORT"

export PB2B_KAMAILIO="127.0.0.1:$KPORT"
export PB2B_KAMAILIO_AUTH="127.0.0.1:$APORT"
export PB2B_KAMAILIO_TLS_PORT="$TPORT"
export PB2B_KAMAILIO_REGINFO="127.0.0.1:$RPORT"
export PB2B_KAMAILIO_DIALOGINFO="127.0.0.1:$DPORT"
export PB2B_KAMAILIO_RLS="127.0.0.1:$LPORT"
export PB2B_BARESIP="127.0.0.1:$BPORT"
export PB2B_BARESIP_CTRL="127.0.0.1:$BCTRL"
export PB2B_PEERS_DIR="$PEERS_DIR"
export PB2B_KAMAILIO_RUN_DIR="$KDIR"
export PB2B_KAMAILIO_AUTH_RUN_DIR="$ADIR"
export PB2B_KAMAILIO_REGINFO_RUN_DIR="$RDIR"
export PB2B_KAMAILIO_DIALOGINFO_RUN_DIR="$DDIR"
export PB2B_KAMAILIO_RLS_RUN_DIR="$LDIR"
export PB2B_BARESIP_RUN_DIR="$BDIR"
export PB2B_PEERS_SCRATCH="$SCRATCH"

# ------------------------------------------------------------------ run
# set -m: CMD gets its own process group, so that on a signal the whole
# group (node --test and its per-file test processes) can be stopped.
set -m
nolock "$@" <&0 &
CHILD=$!
set +m
wait "$CHILD"
status=$?
CHILD=""
exit "$status"
