/** The most events within any sliding second of `times` (ms, ascending): what max_subscribe_rate bounds. */
export function maxInAnySecond(times: readonly number[]): number {
  let max = 0;
  let from = 0;
  for (let i = 0; i < times.length; i++) {
    while ((times[i] ?? 0) - (times[from] ?? 0) >= 1000) from++;
    max = Math.max(max, i - from + 1);
  }
  return max;
}
