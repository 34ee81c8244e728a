import { PerformanceObserver } from 'node:perf_hooks';

/**
 * Heap and ArrayBuffer bytes allocated per item, from rounds during which no
 * GC ran (a GC would hide what was allocated): up to 20 attempts for 3 clean
 * rounds, the smallest heap figure first. `round` does the work of `items`
 * items and returns the growth it measured around exactly that work.
 */
export async function roundsWithoutGc(
  items: number,
  round: () => Promise<{ heapBytes: number; arrayBytes: number }> | { heapBytes: number; arrayBytes: number },
): Promise<Array<{ heap: number; external: number }>> {
  let gcs = 0;
  const observer = new PerformanceObserver((list) => {
    gcs += list.getEntries().length;
  });
  observer.observe({ entryTypes: ['gc'] });
  const results: Array<{ heap: number; external: number }> = [];
  for (let attempt = 0; attempt < 20 && results.length < 3; attempt++) {
    // Let pending GC entries arrive, so that a GC before the round is not counted in it.
    await new Promise((r) => setTimeout(r, 20));
    const gcBefore = gcs;
    const out = await round();
    await new Promise((r) => setTimeout(r, 20));
    if (gcs !== gcBefore) continue;
    results.push({ heap: out.heapBytes / items, external: out.arrayBytes / items });
  }
  observer.disconnect();
  return results.sort((a, b) => a.heap - b.heap);
}
