#!/usr/bin/env bash
# Instructions per NOTIFY on the in-process NOTIFY path (bench/notify-path.ts --once),
# counted by callgrind: repeatable whatever else runs on the machine, unlike CPU time.
# The counts are dumped when os.getPriority() is called (uv_os_getpriority), which the
# bench does just before and just after the N measured NOTIFYs; dump 2 is theirs.
#   npm run build && bash bench/callgrind-notify.sh [N]   (≈ 5 min on a busy 2-core box)
set -euo pipefail
N="${1:-2000}"
OUT="$(mktemp -d /tmp/presence-b2b-callgrind.XXXXXX)"
valgrind --tool=callgrind --dump-before=uv_os_getpriority --callgrind-out-file="$OUT/cg.out" \
  node --single-threaded --trace-gc --max-semi-space-size=256 --min-semi-space-size=256 --hash-seed=1 --random-seed=1 \
  dist/bench/notify-path.js --once "$N" >"$OUT/log" 2>&1 || { tail -20 "$OUT/log"; exit 1; }
MEASURED="$(ls "$OUT"/cg.out.* | sort -t. -k3 -n | sed -n 2p)"
TOTAL="$(grep -m1 '^summary:' "$MEASURED" | awk '{print $2}')"
# With a young generation this large, no GC should run between the markers (the count is then
# the code's own; allocation is measured by notify-path.js --alloc): say so if one did.
GCS="$(sed -n '/measured part: begin/,/measured part: end/p' "$OUT/log" | grep -c 'Scavenge\|Mark-Compact' || true)"
echo "callgrind: $TOTAL instructions for $N NOTIFYs = $((TOTAL / N)) per NOTIFY, $GCS GC in the measured part ($MEASURED)"
