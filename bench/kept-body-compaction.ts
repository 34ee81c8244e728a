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
 *
 * Then (docs/establishment.md §14) the same N bodies kept again in a store
 * that compacts (compactAfterMs 1,000 on the real clock), left alone until
 * the thin sweep has compacted them: its ticks, longest tick, total µs and
 * tick-duration histogram (its own counts, KeptBodySweepStats); and the
 * external bytes per body of a store with compaction off and on before any
 * compaction (the sweep's epoch per slot, keptIn, exists only when on).
 */
import { type KeptBody, KeptBodyStore, SWEEP_BUDGET_US, SWEEP_TICK_BUCKETS_US, SWEEP_TICK_MS } from '../src/qsa/kept-body-store.js';
import { systemClock } from '../src/util/clock.js';
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

// The thin sweep on the real clock.
handles.length = 0;
const baseOn = sample();
const thin = new KeptBodyStore({ clock: systemClock, compactAfterMs: 1000 });
const thinHandles: KeptBody[] = [];
for (let i = 0; i < n; i++) {
  const body = encoder.encode(pidfBody(`sip:user${i}@example.net`, i, start + BigInt(i) * 1000n, i % 2 === 0));
  thinHandles.push(thin.keep(body) as KeptBody);
}
const keptOn = sample();
const offStore = new KeptBodyStore();
const offHandles: KeptBody[] = [];
const baseOff = sample();
for (let i = 0; i < n; i++) {
  const body = encoder.encode(pidfBody(`sip:user${i}@example.net`, i, start + BigInt(i) * 1000n, i % 2 === 0));
  offHandles.push(offStore.keep(body) as KeptBody);
}
const keptOff = sample();
console.log(
  `external per body before compaction: compaction off ${((keptOff.external - baseOff.external) / n).toFixed(2)} B, on ${((keptOn.external - baseOn.external) / n).toFixed(2)} B (slabs: ${offStore.stats().slabs} / ${thin.stats().slabs})`,
);
for (const h of offHandles) h.release();
const sweepCpu0 = cpuUs();
const waitStart = performance.now();
while (thin.stats().compacted < n && performance.now() - waitStart < 120_000) await new Promise((r) => setTimeout(r, 100));
const sweepCpu = cpuUs() - sweepCpu0;
const sw = thin.sweepStats();
thin.stopCompaction();
console.log(
  `thin sweep (budget ${SWEEP_BUDGET_US} µs per tick, a tick every ${SWEEP_TICK_MS} ms): ${thin.stats().compacted} of ${n} compacted ` +
    `${((performance.now() - waitStart) / 1000).toFixed(1)} s after the wait began; ${sw.passes} passes, ${sw.ticks} ticks, ` +
    `${(sw.totalUs / 1000).toFixed(1)} ms in ticks (${(sw.totalUs / sw.compactedBySweep).toFixed(2)} µs per body), longest tick ${sw.longestUs.toFixed(0)} µs; ` +
    `process CPU meanwhile ${(sweepCpu / 1000).toFixed(0)} ms`,
);
console.log(`  ticks by duration (µs): ${SWEEP_TICK_BUCKETS_US.map((b, i) => `≤${b}: ${sw.tickHistogram[i]}`).join(', ')}, more: ${sw.tickHistogram[SWEEP_TICK_BUCKETS_US.length]}`);
