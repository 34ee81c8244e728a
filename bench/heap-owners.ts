/**
 * Who holds the bytes of a V8 heap snapshot: starting at every instance of
 * the given owner classes (default: the engine's and the broker's per
 * subscription records), follows strong edges and adds the self size of each
 * object reached for the first time under the path that reached it
 * (`SubscriptionDialog.lastStatus.document.tuples[]`); ` *` marks objects with
 * several retainers (counted once, under the first owner that reached them), so
 * a copy per dialog shows up per dialog and a string shared by all dialogs once. The
 * large Maps and Sets (registry indexes) are listed with their tables.
 *
 *   node --max-old-space-size=8000 dist/bench/heap-owners.js FILE.heapsnapshot --per N [--owners A,B] [--depth 4]
 */
import { HeapSnapshotLayout, type RawHeapSnapshot, readHeapSnapshot } from './support/heap-snapshot-layout.js';

const DEFAULT_OWNERS = ['SubscriptionDialog', 'SubscriptionRecord', 'Assignment', 'NotifyReader', 'HeapEntry'];

export interface OwnerRow {
  path: string;
  count: number;
  bytes: number;
}

export function heapOwners(s: RawHeapSnapshot, owners: readonly string[], depth: number): { rows: OwnerRow[]; maps: OwnerRow[] } {
  const heap = new HeapSnapshotLayout(s);
  const count = heap.nodeCount;
  const retainers = new Uint32Array(count);
  for (let e = 0; e < heap.edgeCount; e++) if (heap.isStrong(e)) retainers[heap.edgeTo(e)]!++;
  const label = (n: number) => (heap.typeOf(n) === 'object' ? heap.nameOf(n) : `(${heap.typeOf(n)})`);
  const edgeName = (e: number) => {
    const t = heap.edgeTypeOf(e);
    const v = heap.edgeNameOrIndex(e);
    if (t === 'element' || t === 'hidden') return '[]';
    return t === 'context' ? `ctx:${s.strings[v]}` : String(s.strings[v]);
  };
  const ownerSet = new Set(owners);
  const rows = new Map<string, OwnerRow>();
  const add = (path: string, bytes: number) => {
    let r = rows.get(path);
    if (r === undefined) {
      r = { path, count: 0, bytes: 0 };
      rows.set(path, r);
    }
    r.count++;
    r.bytes += bytes;
  };
  const seen = new Uint8Array(count);
  const walk = (n: number, path: string, level: number) => {
    for (let e = heap.firstEdge(n); e < heap.firstEdge(n + 1); e++) {
      if (!heap.isStrong(e)) continue;
      const c = heap.edgeTo(e);
      if (seen[c] || (heap.typeOf(c) === 'object' && ownerSet.has(heap.nameOf(c)))) continue;
      const name = edgeName(e);
      if (name === 'map' || name === '__proto__') continue;
      seen[c] = 1;
      const p = level < depth ? `${path}.${name}` : path;
      add(`${p} ${label(c)}${retainers[c]! > 1 ? ' *' : ''}`, heap.selfSizeOf(c));
      walk(c, p, level + 1);
    }
  };
  for (let n = 0; n < count; n++) {
    if (heap.typeOf(n) !== 'object' || !ownerSet.has(heap.nameOf(n))) continue;
    seen[n] = 1;
    add(`${heap.nameOf(n)} (self)`, heap.selfSizeOf(n));
    walk(n, heap.nameOf(n), 1);
  }
  // Large Maps and Sets: their tables (the registry and broker indexes, the timer heap…).
  const maps: OwnerRow[] = [];
  for (let n = 0; n < count; n++) {
    const nm = heap.nameOf(n);
    if (heap.typeOf(n) !== 'object' || (nm !== 'Map' && nm !== 'Set' && nm !== 'Array')) continue;
    let table = 0;
    for (let e = heap.firstEdge(n); e < heap.firstEdge(n + 1); e++) {
      const c = heap.edgeTo(e);
      if (heap.typeOf(c) === 'array' && retainers[c] === 1) table += heap.selfSizeOf(c);
    }
    if (table < 200_000) continue;
    maps.push({ path: `${nm} of ${(table / 1e6).toFixed(2)} MB`, count: 1, bytes: table });
  }
  return { rows: [...rows.values()].sort((a, b) => b.bytes - a.bytes), maps: maps.sort((a, b) => b.bytes - a.bytes) };
}

function main(): void {
  const argv = process.argv.slice(2);
  const file = argv.find((a) => a.endsWith('.heapsnapshot'));
  if (file === undefined) {
    console.error('usage: node dist/bench/heap-owners.js FILE.heapsnapshot --per N [--owners A,B] [--depth 4] [--top 60]');
    process.exit(2);
  }
  const opt = (name: string) => {
    const at = argv.indexOf(name);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  const per = Number(opt('--per') ?? 1);
  const owners = opt('--owners')?.split(',') ?? DEFAULT_OWNERS;
  const { rows, maps } = heapOwners(readHeapSnapshot(file), owners, Number(opt('--depth') ?? 4));
  const total = rows.reduce((a, r) => a + r.bytes, 0);
  console.log(`held only by ${owners.join(', ')}: ${Math.round(total / per)} B per subscription (N=${per})\n`);
  console.log(`${'B/sub'.padStart(7)}${'#/sub'.padStart(7)}  path`);
  for (const r of rows.slice(0, Number(opt('--top') ?? 60))) {
    console.log(`${String(Math.round(r.bytes / per)).padStart(7)}${(r.count / per).toFixed(2).padStart(7)}  ${r.path}`);
  }
  console.log(`\nlarge Map/Set/Array tables:`);
  for (const m of maps) console.log(`${String(Math.round(m.bytes / per)).padStart(7)}         ${m.path}`);
}

if (process.argv[1]?.endsWith('heap-owners.js')) main();
