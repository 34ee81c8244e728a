/**
 * The stalls of a W2 step, from a run with `--stages` (`node dist/bench/fine-timeline-summary.js
 * RESULT.json [--min-gap MS] [--top K]`): every time the SUT read nothing from its socket for
 * `--min-gap` ms or more (default 5) while its step ran, what happened in that time, in the SUT's
 * and the generator's 10 ms buckets (bench/sut/fine-timeline.ts, GeneratorTimeline):
 *
 * - `sent`: NOTIFYs the generator sent in the 10 ms buckets the gap touches; none sent in the buckets
 *   wholly inside it means the SUT had nothing to read (the generator stalled: the bench, not the SUT)
 *   and the gap is not a stall of the SUT;
 * - `wait`, `invol`: the SUT's main thread runnable but not running, and its involuntary context
 *   switches: the machine took its core (preemption);
 * - `gc`: GC pauses (kinds: 1 scavenge, 4 mark-compact, 8 start of incremental marking; flags 64:
 *   kGCCallbackScheduleIdleGarbageCollection);
 * - `tick`: the longest timer-scheduler wake-up and the timers fired in it;
 * - `other`: the SUT's other threads (V8's GC helpers and compiler) ran on its core;
 * - `genLate`: how late the generator's sends ran against its schedule just after the gap (a burst).
 *
 * Each stall is put down to the largest of: the wait (split into what the SUT's own other threads ran,
 * "own helper threads", and the rest, "preempted" by other processes), gc and tick, when it covers half
 * the gap; else to the generator when its sends right after the gap were late by half the gap or more
 * (it stalled, then sent a burst); else to nothing known ("?"). Then: the latency episodes (buckets whose worst NOTIFY took ≥ 5 ms) and the
 * stalls that began them, and the totals per cause.
 */
import { readFileSync } from 'node:fs';
import type { GeneratorTimeline } from './load/presence-server-sim.js';
import type { FineTimelineSummary } from './sut/fine-timeline.js';

interface Step {
  rate: number;
  sent: number;
  sut: { fine?: FineTimelineSummary; gcByKind?: Record<string, { count: number; totalMs: number }> };
  generator?: GeneratorTimeline;
  retransmissions: number;
  responses: Record<string, number>;
}

export interface Stall {
  endBucket: number;
  gapMs: number;
  sent: number;
  waitMs: number;
  invol: number;
  gcMs: number;
  gcKinds: number;
  gcFlags: number;
  tickMs: number;
  fired: number;
  otherMs: number;
  genLateMs: number;
  cause: string;
}

/** NOTIFYs sent while the generator was (or had just been) late, against those sent on time. */
export interface GeneratorTailRow {
  /** The worst lateness of the generator over the NOTIFY's send bucket and the `lookBack` buckets before it. */
  lateness: string;
  buckets: number;
  notifies: number;
  slow: number;
}

export interface GeneratorTail {
  rows: GeneratorTailRow[];
  /** Buckets where the generator's sends ran late by more than 1, 2 and 5 ms. */
  lateOver1ms: number;
  lateOver2ms: number;
  lateOver5ms: number;
  burstMax: number;
  gcMs: number;
  gcBuckets: number;
}

/**
 * The tail by what the generator was doing when each NOTIFY was sent (`fine.bySend`, GeneratorTimeline):
 * a NOTIFY sent in a burst, or within `lookBack` buckets after one, waits behind the burst at the SUT
 * whatever the SUT does; the rows split the NOTIFYs and the slow ones (≥ 5 ms) by the generator's worst
 * lateness over the send bucket and the `lookBack` before it: < 2 ms (the pacing loop's own 1 ms timer
 * and its granularity), 2-5 ms, ≥ 5 ms.
 */
export function tailByGenerator(f: FineTimelineSummary, g: GeneratorTimeline, lookBack = 5): GeneratorTail | undefined {
  const by = f.bySend;
  if (by === undefined) return undefined;
  // SUT send bucket j covers [f.startNs + j·b, +b); generator bucket k covers [g.startNs + k·b, +b).
  const offset = Math.round((g.startNs - f.startNs) / 1e6 / f.bucketMs);
  const rows: GeneratorTailRow[] = [
    { lateness: '< 2 ms', buckets: 0, notifies: 0, slow: 0 },
    { lateness: '2-5 ms', buckets: 0, notifies: 0, slow: 0 },
    { lateness: '≥ 5 ms', buckets: 0, notifies: 0, slow: 0 },
  ];
  for (let k = 0; k < g.sent.length; k++) {
    const j = k + offset;
    if (j < 0 || j >= by.messages.length) continue;
    let late = 0;
    for (let i = Math.max(0, k - lookBack); i <= k; i++) late = Math.max(late, g.lateMaxMs[i] ?? 0);
    const row = rows[late < 2 ? 0 : late < 5 ? 1 : 2]!;
    row.buckets++;
    row.notifies += by.messages[j] ?? 0;
    row.slow += by.slow[j] ?? 0;
  }
  return {
    rows,
    lateOver1ms: g.lateMaxMs.filter((x) => x > 1).length,
    lateOver2ms: g.lateMaxMs.filter((x) => x > 2).length,
    lateOver5ms: g.lateMaxMs.filter((x) => x > 5).length,
    burstMax: Math.max(0, ...(g.burstMax ?? [])),
    gcMs: Math.round((g.gcMs ?? []).reduce((a, x) => a + x, 0) * 10) / 10,
    gcBuckets: (g.gcMs ?? []).filter((x) => x > 0).length,
  };
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

const r1 = (x: number): string => (Math.round(x * 10) / 10).toFixed(1);

export function stallsOf(f: FineTimelineSummary, g: GeneratorTimeline | undefined, minGapMs: number): Stall[] {
  const b = f.bucketMs;
  // Generator bucket k covers [offset + k·b, offset + (k+1)·b) ms of the SUT's window.
  const offsetMs = g === undefined ? 0 : (g.startNs - f.startNs) / 1e6;
  const genBuckets = (fromMs: number, toMs: number): number[] => {
    if (g === undefined) return [];
    const out: number[] = [];
    for (let k = Math.max(0, Math.floor((fromMs - offsetMs) / b)); k <= Math.floor((toMs - offsetMs) / b) && k < g.sent.length; k++) out.push(k);
    return out;
  };
  const stalls: Stall[] = [];
  for (let end = 0; end < f.reads.length; end++) {
    const gap = f.readGapMaxMs[end] ?? 0;
    if (gap < minGapMs) continue;
    const endMs = (end + 1) * b;
    const startMs = endMs - gap - b;
    const first = Math.max(0, Math.floor(startMs / b));
    let waitMs = 0;
    let invol = 0;
    let gcMs = 0;
    let gcKinds = 0;
    let gcFlags = 0;
    let tickMs = 0;
    let fired = 0;
    let otherMs = 0;
    // The thread marks of a bucket cover the time to the next bucket with a read: the gap's first bucket holds it.
    for (let k = first; k <= end; k++) {
      waitMs += f.mainWaitMs[k] ?? 0;
      invol += f.involuntarySwitches[k] ?? 0;
      gcMs += f.gcMs[k] ?? 0;
      gcKinds |= f.gcKinds[k] ?? 0;
      gcFlags |= f.gcFlags?.[k] ?? 0;
      if ((f.tickMaxMs[k] ?? 0) > tickMs) tickMs = f.tickMaxMs[k] ?? 0;
      fired += f.timersFired[k] ?? 0;
      otherMs += f.otherRunMs[k] ?? 0;
    }
    // The generator's buckets wholly inside the gap, wherever in its first and last bucket it began and ended.
    const inGap = genBuckets(startMs + b, endMs - b).filter((k) => offsetMs + k * b >= startMs + b && offsetMs + (k + 1) * b <= endMs - b);
    // Sent in the buckets the gap touches (a display figure); nothing sent in those wholly inside it says the generator stalled.
    const sent = g === undefined ? -1 : genBuckets(startMs + b, endMs - b).reduce((a, k) => a + (g.sent[k] ?? 0), 0);
    const sentInside = g === undefined ? -1 : inGap.reduce((a, k) => a + (g.sent[k] ?? 0), 0);
    let genLateMs = 0;
    for (const k of genBuckets(startMs, endMs + b)) if ((g?.lateMaxMs[k] ?? 0) > genLateMs) genLateMs = g?.lateMaxMs[k] ?? 0;
    // While the main thread waited, its own other threads (V8's concurrent marking) may be what ran on its core.
    const ownThreads = Math.min(waitMs, otherMs, gap);
    const candidates: Array<[string, number]> = [
      ['preempted', Math.min(waitMs - ownThreads, gap)],
      ['own helper threads', ownThreads],
      ['gc', gcMs],
      ['timer tick', tickMs],
    ];
    candidates.sort((x, y) => y[1] - x[1]);
    const top = candidates[0]!;
    const afterStep = g !== undefined && startMs + b >= offsetMs + g.sent.length * b;
    const cause = afterStep
      ? 'after the step (retransmissions only)'
      : sentInside === 0 && inGap.length > 0
        ? 'generator (nothing sent)'
        : top[1] >= gap / 2
          ? top[0]
          : genLateMs >= gap / 2
            ? 'generator late (then a burst)'
            : '?';
    stalls.push({ endBucket: end, gapMs: gap, sent, waitMs, invol, gcMs, gcKinds, gcFlags, tickMs, fired, otherMs, genLateMs, cause });
  }
  return stalls;
}

function main(): void {
  const file = process.argv[2];
  if (file === undefined) throw new Error('usage: fine-timeline-summary RESULT.json [--min-gap MS] [--top K]');
  const minGap = arg('--min-gap', 5);
  const top = arg('--top', 15);
  const result = JSON.parse(readFileSync(file, 'utf8')) as { workloads: { w2?: { steps: Step[] } } };
  for (const step of result.workloads.w2?.steps ?? []) {
    const f = step.sut.fine;
    if (f === undefined) {
      console.log(`${step.rate}/s: no fine timeline (run with --stages)`);
      continue;
    }
    const g = step.generator;
    const stalls = stallsOf(f, g, minGap);
    const sum = (xs: number[]): number => xs.reduce((a, x) => a + x, 0);
    console.log(
      `\n${step.rate}/s: ${step.sent} sent, ${sum(f.reads)} read, ${sum(f.messages)} taken; retransmissions ${step.retransmissions}; answers ${JSON.stringify(step.responses)}`,
    );
    console.log(
      `  main thread waited ${r1(sum(f.mainWaitMs))} ms, ${sum(f.involuntarySwitches)} involuntary switches; GC ${r1(sum(f.gcMs))} ms; ` +
        `timer wake-ups over 1 ms: ${f.tickMaxMs.filter((x) => x > 1).length}; consumer wake-ups ${sum(f.wakeups)}; ` +
        `generator late > 5 ms in ${g === undefined ? '?' : g.lateMaxMs.filter((x) => x > 5).length} buckets (worst ${g === undefined ? '?' : r1(Math.max(0, ...g.lateMaxMs))} ms)`,
    );
    const tail = g === undefined ? undefined : tailByGenerator(f, g);
    if (tail !== undefined) {
      console.log(
        `  generator: late > 1 ms in ${tail.lateOver1ms} buckets, > 2 ms in ${tail.lateOver2ms}, > 5 ms in ${tail.lateOver5ms}; largest burst ${tail.burstMax}; its GC ${tail.gcMs} ms in ${tail.gcBuckets} buckets`,
      );
      console.log('  NOTIFYs by the generator\'s worst lateness over their send bucket and the 50 ms before: buckets | NOTIFYs | ≥ 5 ms (share)');
      for (const row of tail.rows) {
        console.log(`    ${row.lateness}: ${row.buckets} | ${row.notifies} | ${row.slow} (${row.notifies === 0 ? '-' : ((row.slow * 100) / row.notifies).toFixed(1)} %)`);
      }
    }
    console.log(`  timer callbacks: ${Object.entries(f.timerCallbacks).map(([n, c]) => `${n} ${c.count}× ${r1(c.totalMs)} ms (max ${r1(c.maxMs)})`).join(', ')}`);
    const byCause = new Map<string, { n: number; ms: number }>();
    for (const s of stalls) {
      const c = byCause.get(s.cause) ?? { n: 0, ms: 0 };
      c.n++;
      c.ms += s.gapMs;
      byCause.set(s.cause, c);
    }
    console.log(`  read gaps ≥ ${minGap} ms: ${stalls.length}; by cause: ${[...byCause].map(([k, c]) => `${k} ${c.n} (${r1(c.ms)} ms)`).join(', ')}`);
    // Latency episodes: runs of buckets whose worst NOTIFY took ≥ 5 ms.
    const episodes: Array<{ from: number; to: number; peak: number }> = [];
    for (let k = 0; k < f.maxLatencyMs.length; k++) {
      if ((f.maxLatencyMs[k] ?? 0) < 5) continue;
      const last = episodes.at(-1);
      if (last !== undefined && last.to >= k - 2) {
        last.to = k;
        last.peak = Math.max(last.peak, f.maxLatencyMs[k] ?? 0);
      } else episodes.push({ from: k, to: k, peak: f.maxLatencyMs[k] ?? 0 });
    }
    const slowMessages = (e: { from: number; to: number }): number => {
      let n = 0;
      for (let k = e.from; k <= e.to; k++) n += f.messages[k] ?? 0;
      return n;
    };
    console.log(`  latency episodes (buckets with a NOTIFY ≥ 5 ms): ${episodes.length}, ${episodes.reduce((a, e) => a + slowMessages(e), 0)} NOTIFYs taken in them`);
    const speed = bucketSpeedOf(f);
    const stepSpeed = speed === undefined ? [] : [speed.readsPerMs, speed.probeUs, speed.wakeups].map(medianMeasured);
    for (const e of [...episodes].sort((x, y) => y.peak - x.peak).slice(0, top)) {
      const inside = stalls.filter((s) => s.endBucket >= e.from - 1 && s.endBucket <= e.to);
      const why = inside.length === 0 ? 'no read gap ≥ min: a backlog of work' : inside.map((s) => `${r1(s.gapMs)} ms ${s.cause}`).join('; ');
      console.log(`    at ${e.from * f.bucketMs} ms, ${(e.to - e.from + 1) * f.bucketMs} ms long, peak ${r1(e.peak)} ms, ${slowMessages(e)} NOTIFYs: ${why}${speedIn(speed, stepSpeed, e)}`);
    }
    console.log(`  the ${top} longest read gaps:`);
    console.log('    end ms | gap ms | sent around the gap | wait ms | invol | gc ms (kinds/flags) | tick ms (fired) | other ms | gen late ms | cause');
    for (const s of [...stalls].sort((x, y) => y.gapMs - x.gapMs).slice(0, top)) {
      console.log(
        `    ${(s.endBucket + 1) * f.bucketMs} | ${r1(s.gapMs)} | ${s.sent} | ${r1(s.waitMs)} | ${s.invol} | ${r1(s.gcMs)} (${s.gcKinds}/${s.gcFlags}) | ${r1(s.tickMs)} (${s.fired}) | ${r1(s.otherMs)} | ${r1(s.genLateMs)} | ${s.cause}`,
      );
    }
  }
}

/** Per bucket: NOTIFYs read per ms of main-thread run, the core probe (µs) and the wake-up interrupts. */
interface BucketSpeed {
  readsPerMs: number[];
  probeUs: number[];
  wakeups: number[];
}

/** The step's BucketSpeed, or undefined for a run from before these fields. */
function bucketSpeedOf(f: FineTimelineSummary): BucketSpeed | undefined {
  if (f.coreProbeUs === undefined || f.wakeupInterrupts === undefined) return undefined;
  return {
    readsPerMs: f.reads.map((n, k) => (f.mainRunMs[k]! > 0 ? n / f.mainRunMs[k]! : 0)),
    probeUs: f.coreProbeUs,
    wakeups: f.wakeupInterrupts,
  };
}

/** Median of the non-zero values (a bucket without a read has none of these figures). */
const medianMeasured = (xs: readonly number[]): string => r1(median(xs.filter((x) => x > 0)));

/**
 * For an episode, when the run recorded them: NOTIFYs read per ms of main-thread run, the core probe
 * and the wake-up interrupts per bucket, each against the step's median (`step`, computed once per
 * step). Half the reads per ms with the probe unchanged is code running slower on a core as fast as
 * ever (docs/latency-tail.md, "Episodes of half speed, and the generator's pacing").
 */
function speedIn(speed: BucketSpeed | undefined, step: string[], e: { from: number; to: number }): string {
  if (speed === undefined) return '';
  const [reads, probe, wakeups] = [speed.readsPerMs, speed.probeUs, speed.wakeups].map((xs) => medianMeasured(xs.slice(e.from, e.to + 1)));
  return ` [reads per ms run ${reads} (step ${step[0]}), core probe ${probe} µs (${step[1]}), wake-up IPIs per bucket ${wakeups} (${step[2]})]`;
}

function median(xs: number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

if (process.argv[1]?.endsWith('fine-timeline-summary.js')) main();
