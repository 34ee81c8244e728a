#!/usr/bin/env bash
# Bounded SUBSCRIBE/NOTIFY capacity probe against the running Kamailio peer.
# Loopback only; every run is bounded by a call count and a time limit.
#
#   ./bench-subscribe.sh [CALLS_PER_RUN] [RATE ...]      (defaults: 500  100 250 500 1000)
#
# One call = SUBSCRIBE(60 s) -> 200 -> NOTIFY -> 200 -> SUBSCRIBE(0) -> 200 ->
# NOTIFY(terminated) -> 200, i.e. 2 SUBSCRIBE + 2 NOTIFY transactions.
# Before the runs it PUBLISHes a state for the presentity (user "user1") so
# every NOTIFY carries a PIDF body.  Prints, per target rate: calls ok/failed,
# achieved calls/s, SUBSCRIBE+NOTIFY transactions/s, SUBSCRIBE->NOTIFY delay
# repartition, and the CPU seconds kamailio (all its processes) used.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SIPP_DIR="$HERE/sipp"
PORT="${KAMAILIO_PORT:-5070}"
RUN_DIR="${KAMAILIO_RUN_DIR:-/tmp/presence-b2b-peers/kamailio-presence-$PORT}"
CALLS="${1:-500}"
shift || true
RATES=("$@")
[ "${#RATES[@]}" -gt 0 ] || RATES=(100 250 500 1000)
[ "$CALLS" -le 2000 ] || { echo "keep it bounded: at most 2000 calls per run" >&2; exit 2; }
OUT="$(mktemp -d /tmp/presence-bench.XXXXXX)"
cd "$OUT"

pid="$(cat "$RUN_DIR/kamailio.pid")"
kam_cpu() {  # utime+stime (clock ticks) of the main process and its children
  local total=0 p f
  for p in "$pid" $(ps -o pid= --ppid "$pid"); do
    f=$(cut -d' ' -f14,15 "/proc/$p/stat" 2>/dev/null) || continue
    total=$(( total + ${f% *} + ${f#* } ))
  done
  echo "$total"
}
TCK=$(getconf CLK_TCK)

sipp -sf "$SIPP_DIR/publish-once.xml" -s user1 -key basic open -key note Bench -key expires 3600 \
  -i 127.0.0.1 -m 1 -nostdin -timeout 10s -timeout_error "127.0.0.1:$PORT" >/dev/null 2>&1

printf '%-6s %-6s %-6s %-9s %-10s %-22s %s\n' rate ok failed calls/s trans/s "sub->notify <1/<2/<5/<10/<20/>=20ms" "kamailio_cpu_s"
for r in "${RATES[@]}"; do
  c0=$(kam_cpu); t0=$(date +%s%N)
  sipp -sf "$SIPP_DIR/subscribe-load.xml" -s user1 -i 127.0.0.1 -r "$r" -m "$CALLS" -l $(( r * 2 + 10 )) \
    -nostdin -timeout 60s -max_recv_loops 5000 -trace_stat -stf "$OUT/stat-$r.csv" -fd 60 \
    -trace_screen -screen_file "$OUT/screen-$r.txt" -trace_err -error_file "$OUT/errors-$r.log" \
    "127.0.0.1:$PORT" >"$OUT/sipp-$r.out" 2>&1 || true
  t1=$(date +%s%N); c1=$(kam_cpu)
  ok=$(awk -F'|' '/Successful call/{gsub(/ /,"",$3); print $3}' "$OUT/screen-$r.txt" | tail -1)
  failed=$(awk -F'|' '/Failed call/{gsub(/ /,"",$3); print $3}' "$OUT/screen-$r.txt" | tail -1)
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", (b-a)/1e9}')
  cps=$(awk -v n="${ok:-0}" -v s="$secs" 'BEGIN{printf "%.0f", n/s}')
  tps=$(awk -v n="${ok:-0}" -v s="$secs" 'BEGIN{printf "%.0f", 4*n/s}')
  rep=$(sed -n '/Average Response Time Repartition 1/,/n >= *500/p' "$OUT/screen-$r.txt" | tail -n +2 \
        | awk -F: '{gsub(/ /,"",$2); a[NR]=$2} END{printf "%s/%s/%s/%s/%s/%s", a[1],a[2],a[3],a[4],a[5],a[6]+a[7]+a[8]+a[9]+a[10]}')
  cpu=$(awk -v a="$c0" -v b="$c1" -v t="$TCK" 'BEGIN{printf "%.2f", (b-a)/t}')
  printf '%-6s %-6s %-6s %-9s %-10s %-22s %s\n' "$r" "${ok:-?}" "${failed:-?}" "$cps" "$tps" "$rep" "$cpu (${secs}s wall)"
done
echo "(details in $OUT)"
