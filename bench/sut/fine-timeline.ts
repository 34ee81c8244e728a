/**
 * A W2 step in 10 ms buckets, in the SUT (with `--stages`): what the SUT did
 * and what happened to it in each bucket, so that a latency tail made of a few
 * stalls can be lined up with their cause (docs/latency-tail.md, "The 10,000/s
 * step: its stalls and its backlog"). Per bucket:
 *
 * - datagrams read from the socket and the longest gap between two reads that
 *   ended in it (a gap is time the SUT was not reading: busy, paused, or off
 *   its core);
 * - status messages taken by the consumer, the largest NOTIFY-to-queue
 *   latency, the consumer's wake-ups;
 * - GC pauses that started in it (ms, and the kinds as a bit mask: 1 scavenge,
 *   4 mark-compact, 8 incremental marking start, 16 weak callbacks);
 * - the timer scheduler's wake-ups: how long the longest ran, and how many
 *   timers fired in them;
 * - the main thread's run and run-queue wait, the other threads' run
 *   (/proc schedstat) and the process's involuntary context switches, sampled
 *   at the first read of each bucket: a preemption shows as wait and
 *   involuntary switches, not as code.
 *
 * The generator's side (its send lateness per bucket) is in the simulator's
 * RateResult; both are on the monotonic clock (`startNs`), so they line up.
 * Costs a few /proc reads per bucket (≈100 per second): a diagnostic mode.
 */
import { type ThreadTimes, threadTimes } from './thread-times.js';
import { wakeupInterrupts } from './wakeup-interrupts.js';

export const FINE_BUCKET_MS = 10;
/** The service level's p99 bound (5 ms): a NOTIFY at or above it is counted slow. */
const SLOW_US = 5000;
/** Iterations of the core probe's loop: about 5 µs on this machine's 2.x GHz Xeon (0.25 % of the core per 10 ms bucket). */
const CORE_PROBE_ITERATIONS = 5000;
/** Longest window kept: 60 s; later events go to the last bucket. */
const MAX_BUCKETS = 6000;

export interface FineTimelineSummary {
  bucketMs: number;
  /** Monotonic ns (process.hrtime) of the window's start. */
  startNs: number;
  reads: number[];
  readGapMaxMs: number[];
  messages: number[];
  maxLatencyMs: number[];
  /**
   * The same NOTIFYs by the 10 ms bucket they were SENT in (their stamp, on the generator's clock, from
   * this window's `startNs`): how many, how many took 5 ms or more, and the worst. Lines a NOTIFY's
   * latency up with what the generator did when it sent it (GeneratorTimeline), not with when it came out.
   */
  bySend?: { messages: number[]; slow: number[]; maxLatencyMs: number[] };
  wakeups: number[];
  gcMs: number[];
  gcKinds: number[];
  /** V8's GCCallbackFlags of the pauses, OR'd (64: kGCCallbackScheduleIdleGarbageCollection, which the memory reducer sets, among others; 4: forced). */
  gcFlags: number[];
  tickMaxMs: number[];
  timersFired: number[];
  mainRunMs: number[];
  mainWaitMs: number[];
  otherRunMs: number[];
  involuntarySwitches: number[];
  /**
   * How long a fixed loop of register-only arithmetic (CORE_PROBE_ITERATIONS) took on the main
   * thread at the first read of the bucket, µs: the speed of the core as the SUT sees it. Code that
   * got slower (a deoptimization, cold caches, a backlog) leaves it unchanged; a core that slowed
   * under us (a hypervisor's other tenant on the same physical core, a lower clock) does not.
   * 0: the bucket had no read.
   */
  coreProbeUs?: number[];
  /**
   * Cross-CPU wake-up interrupts (RES + CAL, all CPUs) from the first read of the bucket to the
   * next's (wakeup-interrupts.ts): the SUT waking the sleeping generator shows here.
   */
  wakeupInterrupts?: number[];
  /** Timer callbacks over the window by function name: count and ms (only when the scheduler is instrumented). */
  timerCallbacks: Record<string, { count: number; totalMs: number; maxMs: number }>;
}

interface Mark {
  threads: ThreadTimes | undefined;
  involuntary: number;
  wakeups: number | undefined;
}

export class FineTimeline {
  private startNs = 0;
  private startPerfMs = 0;
  private active = false;
  private current = -1;
  private lastReadMs = 0;
  private readonly reads = new Uint32Array(MAX_BUCKETS);
  private readonly readGapMaxMs = new Float64Array(MAX_BUCKETS);
  private readonly messages = new Uint32Array(MAX_BUCKETS);
  private readonly maxLatencyUs = new Float64Array(MAX_BUCKETS);
  private readonly sendMessages = new Uint32Array(MAX_BUCKETS);
  private readonly sendSlow = new Uint32Array(MAX_BUCKETS);
  private readonly sendMaxLatencyUs = new Float64Array(MAX_BUCKETS);
  private lastSendBucket = -1;
  private readonly wakeups = new Uint32Array(MAX_BUCKETS);
  private readonly gcMs = new Float64Array(MAX_BUCKETS);
  private readonly gcKinds = new Uint8Array(MAX_BUCKETS);
  private readonly gcFlags = new Uint8Array(MAX_BUCKETS);
  private readonly tickMaxMs = new Float64Array(MAX_BUCKETS);
  private readonly timersFired = new Uint32Array(MAX_BUCKETS);
  private readonly coreProbeNs = new Float64Array(MAX_BUCKETS);
  /** The probe loop's result, kept so that the loop is not optimized away. */
  private probeSink = 1;
  private marks: Array<Mark | undefined> = [];
  private callbacks = new Map<string, { count: number; totalMs: number; maxMs: number }>();

  begin(nowNs: number, nowPerfMs: number): void {
    this.startNs = nowNs;
    this.startPerfMs = nowPerfMs;
    this.active = true;
    this.current = -1;
    this.lastSendBucket = -1;
    this.lastReadMs = nowPerfMs;
    for (const a of [this.reads, this.readGapMaxMs, this.messages, this.maxLatencyUs, this.sendMessages, this.sendSlow, this.sendMaxLatencyUs, this.wakeups, this.gcMs, this.gcKinds, this.gcFlags, this.tickMaxMs, this.timersFired, this.coreProbeNs]) a.fill(0);
    this.marks = [];
    this.callbacks = new Map();
  }

  /** A datagram or stream message read from the socket (`nowPerfMs`: performance.now()). */
  read(nowPerfMs: number): void {
    if (!this.active) return;
    const b = this.bucket(nowPerfMs);
    if (b !== this.current) {
      const mark: Mark = { threads: threadTimes(), involuntary: process.resourceUsage().involuntaryContextSwitches, wakeups: wakeupInterrupts() };
      for (let k = this.current + 1; k <= b; k++) this.marks[k] = mark;
      this.current = b;
      this.coreProbeNs[b] = this.probeCore();
    }
    this.reads[b]!++;
    const gap = nowPerfMs - this.lastReadMs;
    if (gap > this.readGapMaxMs[b]!) this.readGapMaxMs[b] = gap;
    this.lastReadMs = nowPerfMs;
  }

  /**
   * A status message taken by the consumer (`nowNs`: process.hrtime, as the consumer stamps it); `sentNs`,
   * its stamp, buckets it by send time too (NOTIFYs sent before the window are left out of that).
   */
  message(nowNs: number, latencyUs: number, sentNs = Number.NaN): void {
    if (!this.active) return;
    const b = this.bucket(this.startPerfMs + (nowNs - this.startNs) / 1e6);
    this.messages[b]!++;
    if (latencyUs > this.maxLatencyUs[b]!) this.maxLatencyUs[b] = latencyUs;
    if (!(sentNs >= this.startNs)) return;
    const s = Math.min(MAX_BUCKETS - 1, Math.floor((sentNs - this.startNs) / 1e6 / FINE_BUCKET_MS));
    this.sendMessages[s]!++;
    if (latencyUs >= SLOW_US) this.sendSlow[s]!++;
    if (latencyUs > this.sendMaxLatencyUs[s]!) this.sendMaxLatencyUs[s] = latencyUs;
    if (s > this.lastSendBucket) this.lastSendBucket = s;
  }

  wakeup(nowPerfMs: number): void {
    if (this.active) this.wakeups[this.bucket(nowPerfMs)]!++;
  }

  gc(startPerfMs: number, durationMs: number, kind: number, flags = 0): void {
    if (!this.active || startPerfMs < this.startPerfMs) return;
    const b = this.bucket(startPerfMs);
    this.gcMs[b]! += durationMs;
    this.gcKinds[b]! |= kind;
    this.gcFlags[b]! |= flags;
  }

  /** One wake-up of the timer scheduler: when it started, how long it ran, how many timers fired or were cancelled in it. */
  tick(startPerfMs: number, durationMs: number, fired: number): void {
    if (!this.active) return;
    const b = this.bucket(startPerfMs);
    if (durationMs > this.tickMaxMs[b]!) this.tickMaxMs[b] = durationMs;
    this.timersFired[b]! += fired;
  }

  callback(name: string, durationMs: number): void {
    if (!this.active) return;
    const c = this.callbacks.get(name) ?? { count: 0, totalMs: 0, maxMs: 0 };
    c.count++;
    c.totalMs += durationMs;
    if (durationMs > c.maxMs) c.maxMs = durationMs;
    this.callbacks.set(name, c);
  }

  summary(): FineTimelineSummary {
    const n = this.current + 1;
    const r = (x: number): number => Math.round(x * 100) / 100;
    const coreProbeUs: number[] = [];
    const wakeups: number[] = [];
    const end: Mark = { threads: threadTimes(), involuntary: process.resourceUsage().involuntaryContextSwitches, wakeups: wakeupInterrupts() };
    const out: FineTimelineSummary = {
      bucketMs: FINE_BUCKET_MS,
      startNs: this.startNs,
      reads: [],
      readGapMaxMs: [],
      messages: [],
      maxLatencyMs: [],
      wakeups: [],
      gcMs: [],
      gcKinds: [],
      gcFlags: [],
      tickMaxMs: [],
      timersFired: [],
      mainRunMs: [],
      mainWaitMs: [],
      otherRunMs: [],
      involuntarySwitches: [],
      timerCallbacks: {},
    };
    for (let b = 0; b < n; b++) {
      out.reads.push(this.reads[b]!);
      out.readGapMaxMs.push(r(this.readGapMaxMs[b]!));
      out.messages.push(this.messages[b]!);
      out.maxLatencyMs.push(r(this.maxLatencyUs[b]! / 1000));
      out.wakeups.push(this.wakeups[b]!);
      out.gcMs.push(r(this.gcMs[b]!));
      out.gcKinds.push(this.gcKinds[b]!);
      out.gcFlags.push(this.gcFlags[b]!);
      out.tickMaxMs.push(r(this.tickMaxMs[b]!));
      out.timersFired.push(this.timersFired[b]!);
      coreProbeUs.push(r(this.coreProbeNs[b]! / 1000));
      // A mark is taken at the first read of its bucket; what ran from it to the next bucket's mark is this bucket's.
      const a = this.marks[b];
      const z = b + 1 < n ? this.marks[b + 1] : end;
      const ta = a?.threads;
      const tz = z?.threads;
      const same = a === z;
      out.mainRunMs.push(ta !== undefined && tz !== undefined && !same ? r(tz.mainRunMs - ta.mainRunMs) : 0);
      out.mainWaitMs.push(ta !== undefined && tz !== undefined && !same ? r(tz.mainWaitMs - ta.mainWaitMs) : 0);
      out.otherRunMs.push(ta !== undefined && tz !== undefined && !same ? r(Math.max(0, tz.otherRunMs - ta.otherRunMs)) : 0);
      out.involuntarySwitches.push(a !== undefined && z !== undefined && !same ? z.involuntary - a.involuntary : 0);
      wakeups.push(a?.wakeups !== undefined && z?.wakeups !== undefined && !same ? z.wakeups - a.wakeups : 0);
    }
    const bySend = { messages: [] as number[], slow: [] as number[], maxLatencyMs: [] as number[] };
    for (let b = 0; b <= this.lastSendBucket; b++) {
      bySend.messages.push(this.sendMessages[b]!);
      bySend.slow.push(this.sendSlow[b]!);
      bySend.maxLatencyMs.push(r(this.sendMaxLatencyUs[b]! / 1000));
    }
    out.bySend = bySend;
    out.coreProbeUs = coreProbeUs;
    out.wakeupInterrupts = wakeups;
    for (const [name, c] of this.callbacks) out.timerCallbacks[name] = { count: c.count, totalMs: r(c.totalMs), maxMs: r(c.maxMs) };
    this.active = false;
    return out;
  }

  /** Runs the core probe's loop, ns (see FineTimelineSummary.coreProbeUs). */
  private probeCore(): number {
    let x = this.probeSink;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < CORE_PROBE_ITERATIONS; i++) x = (Math.imul(x, 1103515245) + 12345) | 0;
    const ns = Number(process.hrtime.bigint() - t0);
    this.probeSink = x | 1;
    return ns;
  }

  private bucket(perfMs: number): number {
    return Math.min(MAX_BUCKETS - 1, Math.max(0, Math.floor((perfMs - this.startPerfMs) / FINE_BUCKET_MS)));
  }
}
