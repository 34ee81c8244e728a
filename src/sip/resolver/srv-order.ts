import type { Random } from '../../util/random.js';
import type { SrvRecord } from './dns-client.js';

/**
 * Orders SRV records for use, per RFC 2782 ("Usage rules"): lowest priority
 * first; within one priority, a weighted random order in which a record is
 * picked with probability weight / (sum of the remaining weights), records
 * of weight 0 placed first so that they get a small chance. A target of "."
 * means the service is decidedly not available there, so such records are dropped.
 */
export function orderSrvRecords(records: ReadonlyArray<SrvRecord>, random: Random): SrvRecord[] {
  const usable = records.filter((r) => r.name !== '' && r.name !== '.');
  usable.sort((a, b) => a.priority - b.priority);
  const out: SrvRecord[] = [];
  let start = 0;
  while (start < usable.length) {
    let end = start + 1;
    while (end < usable.length && usable[end]!.priority === usable[start]!.priority) end++;
    orderByWeight(usable.slice(start, end), random, out);
    start = end;
  }
  return out;
}

function orderByWeight(group: SrvRecord[], random: Random, out: SrvRecord[]): void {
  // Zero weights first (stable otherwise), as RFC 2782 describes the selection.
  const remaining = group.filter((r) => r.weight === 0).concat(group.filter((r) => r.weight !== 0));
  while (remaining.length > 0) {
    let total = 0;
    for (const r of remaining) total += Math.max(0, r.weight);
    // A uniform integer in [0, total]; the first record whose running sum reaches it wins.
    const pick = Math.min(total, Math.floor(random.next() * (total + 1)));
    let running = 0;
    let chosen = remaining.length - 1;
    for (let i = 0; i < remaining.length; i++) {
      running += Math.max(0, remaining[i]!.weight);
      if (running >= pick) {
        chosen = i;
        break;
      }
    }
    out.push(remaining[chosen]!);
    remaining.splice(chosen, 1);
  }
}
