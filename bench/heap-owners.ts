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
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]]; edge_fields: string[]; edge_types: [string[], ...unknown[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

const DEFAULT_OWNERS = ['SubscriptionDialog', 'SubscriptionRecord', 'Assignment', 'NotifyReader', 'HeapEntry'];

export interface OwnerRow {
  path: string;
  count: number;
  bytes: number;
}

export function heapOwners(s: Snapshot, owners: readonly string[], depth: number): { rows: OwnerRow[]; maps: OwnerRow[] } {
  const nf = s.snapshot.meta.node_fields;
  const W = nf.length;
  const ef = s.snapshot.meta.edge_fields;
  const EW = ef.length;
  const tAt = nf.indexOf('type');
  const nAt = nf.indexOf('name');
  const szAt = nf.indexOf('self_size');
  const ecAt = nf.indexOf('edge_count');
  const etAt = ef.indexOf('type');
  const enAt = ef.indexOf('name_or_index');
  const toAt = ef.indexOf('to_node');
  const nodeTypes = s.snapshot.meta.node_types[0];
  const edgeTypes = s.snapshot.meta.edge_types[0];
  const count = s.nodes.length / W;
  const firstEdge = new Uint32Array(count + 1);
  for (let i = 0; i < count; i++) firstEdge[i + 1] = firstEdge[i]! + s.nodes[i * W + ecAt]!;
  const weak = edgeTypes.indexOf('weak');
  const shortcut = edgeTypes.indexOf('shortcut');
  const retainers = new Uint32Array(count);
  for (let e = 0; e < s.edges.length; e += EW) {
    const t = s.edges[e + etAt]!;
    if (t === weak || t === shortcut) continue;
    retainers[s.edges[e + toAt]! / W]!++;
  }
  const typeOf = (n: number) => nodeTypes[s.nodes[n * W + tAt]!] ?? '?';
  const nameOf = (n: number) => s.strings[s.nodes[n * W + nAt]!] ?? '?';
  const label = (n: number) => (typeOf(n) === 'object' ? nameOf(n) : `(${typeOf(n)})`);
  const edgeName = (e: number) => {
    const t = edgeTypes[s.edges[e + etAt]!];
    const v = s.edges[e + enAt]!;
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
    for (let e = firstEdge[n]! * EW; e < firstEdge[n + 1]! * EW; e += EW) {
      const t = s.edges[e + etAt]!;
      if (t === weak || t === shortcut) continue;
      const c = s.edges[e + toAt]! / W;
      if (seen[c] || (typeOf(c) === 'object' && ownerSet.has(nameOf(c)))) continue;
      const name = edgeName(e);
      if (name === 'map' || name === '__proto__') continue;
      seen[c] = 1;
      const p = level < depth ? `${path}.${name}` : path;
      add(`${p} ${label(c)}${retainers[c]! > 1 ? ' *' : ''}`, s.nodes[c * W + szAt]!);
      walk(c, p, level + 1);
    }
  };
  for (let n = 0; n < count; n++) {
    if (typeOf(n) !== 'object' || !ownerSet.has(nameOf(n))) continue;
    seen[n] = 1;
    add(`${nameOf(n)} (self)`, s.nodes[n * W + szAt]!);
    walk(n, nameOf(n), 1);
  }
  // Large Maps and Sets: their tables (the registry and broker indexes, the timer heap…).
  const maps: OwnerRow[] = [];
  for (let n = 0; n < count; n++) {
    const nm = nameOf(n);
    if (typeOf(n) !== 'object' || (nm !== 'Map' && nm !== 'Set' && nm !== 'Array')) continue;
    let table = 0;
    for (let e = firstEdge[n]! * EW; e < firstEdge[n + 1]! * EW; e += EW) {
      const c = s.edges[e + toAt]! / W;
      if (typeOf(c) === 'array' && retainers[c] === 1) table += s.nodes[c * W + szAt]!;
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
  const { rows, maps } = heapOwners(JSON.parse(readFileSync(file, 'utf8')) as Snapshot, owners, Number(opt('--depth') ?? 4));
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
