/**
 * Summarises a V8 heap snapshot (`npm run bench -- w0 --heap-snapshot`): self
 * size and count per constructor (objects, closures) or per node type
 * (strings, arrays, code), largest first; divide by N for bytes per
 * subscription.
 *
 *   node dist/bench/heap-summary.js FILE.heapsnapshot [--per N] [--top 30]
 */
import { HeapSnapshotLayout, type RawHeapSnapshot, readHeapSnapshot } from './support/heap-snapshot-layout.js';
import { summaryArgs } from './support/summary-args.js';

export interface HeapGroup {
  name: string;
  count: number;
  selfBytes: number;
}

export function summarizeHeap(s: RawHeapSnapshot): { totalBytes: number; groups: HeapGroup[] } {
  const heap = new HeapSnapshotLayout(s);
  const groups = new Map<string, HeapGroup>();
  let total = 0;
  for (let n = 0; n < heap.nodeCount; n++) {
    const type = heap.typeOf(n);
    const size = heap.selfSizeOf(n);
    total += size;
    // Objects and closures group by constructor; strings, arrays, code… by type only.
    const key = type === 'object' || type === 'closure' ? `${type} ${heap.nameOf(n)}` : `(${type})`;
    let g = groups.get(key);
    if (g === undefined) {
      g = { name: key, count: 0, selfBytes: 0 };
      groups.set(key, g);
    }
    g.count++;
    g.selfBytes += size;
  }
  return { totalBytes: total, groups: [...groups.values()].sort((a, b) => b.selfBytes - a.selfBytes) };
}

function main(): void {
  const args = summaryArgs(process.argv.slice(2), ['--per', '--top'], 'node dist/bench/heap-summary.js FILE.heapsnapshot [--per N] [--top 30]');
  const file = args.file;
  const per = args.number('--per', 0);
  const top = args.number('--top', 30);
  const s = summarizeHeap(readHeapSnapshot(file));
  console.log(`heap ${file}: ${(s.totalBytes / 1e6).toFixed(1)} MB in snapshot${per > 0 ? `, ${Math.round(s.totalBytes / per)} B per subscription (N=${per})` : ''}`);
  console.log(`\n${'self MB'.padStart(9)} ${'count'.padStart(10)}${per > 0 ? `${'B/sub'.padStart(8)}${'#/sub'.padStart(7)}` : ''}  what`);
  for (const g of s.groups.slice(0, top)) {
    const extra = per > 0 ? `${String(Math.round(g.selfBytes / per)).padStart(8)}${(g.count / per).toFixed(1).padStart(7)}` : '';
    console.log(`${(g.selfBytes / 1e6).toFixed(2).padStart(9)} ${String(g.count).padStart(10)}${extra}  ${g.name}`);
  }
}

if (process.argv[1]?.endsWith('heap-summary.js')) main();
