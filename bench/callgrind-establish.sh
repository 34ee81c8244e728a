#!/usr/bin/env bash
# Instructions per establishment on the in-process establishment path (bench/establish-path.ts
# --once), counted by callgrind: repeatable whatever else runs on the machine, unlike CPU time.
# The bench calls os.getPriority() (uv_os_getpriority) just before and just after each of its two
# measured parts (qsa.subscribe to the SUBSCRIBE sent; the 200 and the first NOTIFY to the status
# message); callgrind dumps its counts at each call, so dumps 2 and 4 are the measured parts.
#   npm run build && bash bench/callgrind-establish.sh [N]   (several minutes on a busy 2-core box)
set -euo pipefail
N="${1:-1000}"
OUT="$(mktemp -d /tmp/presence-b2b-callgrind.XXXXXX)"
valgrind --tool=callgrind --dump-before=uv_os_getpriority --callgrind-out-file="$OUT/cg.out" \
  node --single-threaded --expose-gc --trace-gc --max-semi-space-size=256 --min-semi-space-size=256 --hash-seed=1 --random-seed=1 \
  dist/bench/establish-path.js --once "$N" >"$OUT/log" 2>&1 || { tail -20 "$OUT/log"; exit 1; }
part() { grep -m1 '^summary:' "$(ls "$OUT"/cg.out.* | sort -t. -k3 -n | sed -n "${1}p")" | awk '{print $2}'; }
A="$(part 2)"
B="$(part 4)"
TOTAL=$((A + B))
# With a young generation this large, no GC should run in the measured round (allocation is
# measured by establish-path.js --alloc): say so if one did.
GCS="$(sed -n '/measured part: begin/,/measured part: end/p' "$OUT/log" | grep -c 'Scavenge\|Mark-Compact' || true)"
echo "callgrind: $TOTAL instructions for $N establishments = $((TOTAL / N)) per establishment (SUBSCRIBE part $((A / N)), 200 + NOTIFY part $((B / N))); $GCS GC in the measured round ($OUT)"
