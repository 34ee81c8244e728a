/**
 * What compacting the kept bodies saves and costs (docs/establishment.md §13),
 * in this process, without the SIP stack: N bench PIDF bodies (each a
 * subscription's last status, bench/load/pidf-body.ts) kept in one
 * KeptBodyStore, then compacted against a frame.
 *
 *   npm run build && node --expose-gc dist/bench/kept-body-compaction.js [N]
 *
 * Prints, per body: the slots' bytes in use and the slabs' committed address
 * space, external memory and RSS, whole and then compacted; µs of CPU per
 * compaction and per read (copy) of a compacted and of a whole body. Bytes do
 * not depend on the machine's load; the µs do.
 */
import { type KeptBody, KeptBodyStore } from '../src/qsa/kept-body-store.js';
import { pidfBody } from './load/pidf-body.js';

const n = Number(process.argv[2] ?? 100_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');
const encoder = new TextEncoder();

function sample(): { external: number; rss: number } {
  gc!();
  gc!();
  const m = process.memoryUsage();
  return { external: m.external, rss: m.rss };
}

function cpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

const before = sample();
const store = new KeptBodyStore();
const handles: KeptBody[] = [];
const start = process.hrtime.bigint();
for (let i = 0; i < n; i++) {
  const body = encoder.encode(pidfBody(`sip:user${i}@example.net`, i, start + BigInt(i) * 1000n, i % 2 === 0));
  handles.push(store.keep(body) as KeptBody);
}
const whole = sample();
const wholeStats = store.stats();
let readCpu = cpuUs();
for (const h of handles) h.copy();
const readWholeUs = (cpuUs() - readCpu) / n;
let cpu = cpuUs();
store.compactAll();
const compactUs = (cpuUs() - cpu) / n;
const compacted = sample();
const compactedStats = store.stats();
readCpu = cpuUs();
for (const h of handles) h.copy();
const readCompactedUs = (cpuUs() - readCpu) / n;
// Read back: the same bytes as kept.
for (let i = 0; i < n; i += 97) {
  const expected = encoder.encode(pidfBody(`sip:user${i}@example.net`, i, start + BigInt(i) * 1000n, i % 2 === 0));
  if (Buffer.compare(Buffer.from(handles[i]!.copy()), Buffer.from(expected)) !== 0) throw new Error(`body ${i} read back differs`);
}
cpu = cpuUs();
const per = (x: number) => Math.round(x / n);
console.log(`N=${n}, body ${encoder.encode(pidfBody('sip:user1@example.net', 1, start, true)).length} B`);
console.log(`whole:     slots ${per(wholeStats.slotBytesLive)} B, slabs ${per(wholeStats.slabBytes)} B, external ${per(whole.external - before.external)} B, RSS ${per(whole.rss - before.rss)} B per body`);
console.log(
  `compacted: slots ${per(compactedStats.slotBytesLive)} B, slabs ${per(compactedStats.slabBytes)} B, external ${per(compacted.external - before.external)} B, RSS ${per(compacted.rss - before.rss)} B per body (${compactedStats.compacted} of ${compactedStats.bodies} compacted, ${compactedStats.slabs} slabs)`,
);
console.log(`µs CPU: compaction ${compactUs.toFixed(2)} per body; read ${readWholeUs.toFixed(2)} whole, ${readCompactedUs.toFixed(2)} compacted`);
