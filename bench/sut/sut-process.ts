/**
 * The system under test as its own process, pinned by the runner to core 1
 * (`taskset -c 1 node --expose-gc dist/bench/sut/sut-process.js`): a real
 * `createPresenceB2B()` on 127.0.0.1, one QSA queue drained by the
 * StatusConsumer, and the internal client that subscribes, churns and
 * unsubscribes. The runner drives it over IPC (ops at the bottom); the IPC
 * traffic is a few messages per measurement window, never per NOTIFY.
 *
 * Measurements taken here: process.cpuUsage() deltas, process.memoryUsage()
 * after forced GC (`--expose-gc`), GC pauses (PerformanceObserver 'gc', pauses
 * caused by our own forced GCs excluded), event-loop delay
 * (perf_hooks.monitorEventLoopDelay), and the consumer's latency histograms.
 */
import { subscribe } from 'node:diagnostics_channel';
import { ENGINE_CHANNEL_STATE, type EngineStateEvent } from '../../src/subscription/engine-diagnostics.js';
import { PerformanceObserver, monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString, writeHeapSnapshot } from 'node:v8';
import { type PresenceB2B, createPresenceB2B } from '../../src/b2b/create-presence-b2b.js';
import type { QsaSubscriptionHandle, StatusQueue } from '../../src/qsa/index.js';
import { SqliteSubscriptionStore } from '../../src/store/sqlite-store.js';
import { startHelperThreadLowering } from '../../src/util/helper-thread-lowering.js';
import { startMarkingAtTheLimit } from '../../src/util/marking-at-the-limit.js';
import { applyHeapGrowing, DEFAULT_HEAP_GROWING } from '../../src/util/heap-growing.js';
import { runsWithSingleThreadedGc } from '../../src/util/single-threaded-gc.js';
import { DEFAULT_HELPER_THREADS_NICE, DEFAULT_HELPER_THREADS_NICE_AFTER_S } from '../../src/util/helper-thread-priority.js';
import { serveRpc } from '../harness/child-rpc.js';
import { maxInAnySecond } from '../harness/rate-window.js';
import type { LatencySummary } from '../harness/latency-histogram.js';
import { type IoSyscalls, ioSyscalls, ioSyscallsBetween } from './io-syscalls.js';
import { smapsSummary } from './smaps-summary.js';
import { StageProbe } from './stage-probe.js';
import { FineTimeline, type FineTimelineSummary } from './fine-timeline.js';
import { systemClock } from '../../src/util/clock.js';
import { TimerScheduler } from '../../src/util/timer-scheduler.js';
import type { StepTimelineSummary } from './step-timeline.js';
import { type CountSummary, StatusConsumer } from './status-consumer.js';
import { type ThreadTimes, threadTimes, threadTimesBetween } from './thread-times.js';
import { udpDrops } from './udp-drops.js';
import { writeFileSync } from 'node:fs';
import { SamplingHeapProfiler } from '../support/allocation-profile.js';

export interface SutStartArgs {
  /** SIP port of the SUT (UDP and TCP). */
  port: number;
  /** The simulator's address, for record URIs. */
  simPort: number;
  /** Transport towards the simulator (`;transport=tcp` on the record URIs). */
  transport: 'udp' | 'tcp';
  /** Largest user index + 1 this run will use. */
  capacity: number;
  /** EngineSettings overrides (seconds, as in engine-options.ts). */
  settings: Record<string, number | boolean | string>;
  /** A SQLite store file: dialogs are persisted, and those it holds are resumed (the resume benchmark). */
  storePath?: string;
  /** Record the time of every SUBSCRIBE the engine sends (state to subscribing or refreshing), from the start on. */
  recordSends?: boolean;
  /** Split NOTIFY latency at the socket read (stage-probe.ts); costs a little CPU per message. */
  stages?: boolean;
  /** Nice value of this process's threads but the main one, as the daemon's `helper_threads_nice` sets it at start (0: left alone). */
  helperThreadsNice?: number;
  /** Seconds after the start before they are lowered, once the main thread is quiet, as the daemon's `helper_threads_nice_after_s`. */
  helperThreadsNiceAfterS?: number;
  /** createPresenceB2B's keptBodyCompactionMs (the daemon's kept_body_compaction_ms); undefined: its default. */
  keptBodyCompactionMs?: number;
}

export interface CpuWindow {
  elapsedMs: number;
  cpuUs: number;
  userUs: number;
  systemUs: number;
  messages: number;
  latency: LatencySummary;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  gcMaxPauseMs: number;
  /** What the largest pause of the window was, and when. */
  gcLargest?: GcPause;
  gcCount: number;
  gcTotalMs: number;
  /** Pauses by GC kind (perf_hooks constants: 1 minor/scavenge, 2 minor mark-compact, 4 major, 8 incremental, 16 weak callbacks). */
  gcByKind: Record<string, { count: number; totalMs: number; maxMs: number }>;
  /** Main-thread CPU and run-queue wait, other threads' CPU over the window (Linux). */
  threads?: ThreadTimes;
  /** With `--stages`: the latency split at the SUT's socket read. */
  stages?: { sendToRead: LatencySummary; readToDequeue: LatencySummary; readAhead: CountSummary };
  /** Read- and write-type system calls over the window (/proc/self/io, Linux). */
  syscalls?: IoSyscalls;
  /** The window second by second (step-timeline.ts). */
  timeline?: StepTimelineSummary;
  /** With `--stages`: the window in 10 ms buckets (fine-timeline.ts). */
  fine?: FineTimelineSummary;
  /** What the SUT did over the window, counted (load-independent): see WindowCounters. */
  counters?: WindowCounters;
}

/**
 * Counts over a window, for what a backlog costs per NOTIFY (docs/latency-tail.md, "The 10,000/s step: its
 * stalls and its backlog"): messages read and sent, NOTIFYs answered again from their Timer J record
 * (retransmissions of a request already answered, RFC 3261 §17.2.2), new server transactions, SUBSCRIBEs
 * sent (confirming refreshes after an answered retransmission among them), requests shed with 503 by
 * the overload guard, datagrams the kernel dropped at the receive buffer, scavenges (each one a new
 * space's worth of allocation) and the consumer's wake-ups.
 */
export interface WindowCounters {
  received: number;
  sent: number;
  retransmissionsAnswered: number;
  serverTransactions: number;
  clientTransactions: number;
  subscribesSent: number;
  requestsShed: number;
  udpDrops: number;
  scavenges: number;
  markCompacts: number;
  /** Of the mark-compacts, those with GC flag 64 (kGCCallbackScheduleIdleGarbageCollection). */
  markCompactsFlag64: number;
}

export interface MemorySample {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** Duration of the forced full GC (worst-case pause with everything live). */
  forcedGcMs: number;
}

export interface EstablishResult {
  requested: number;
  established: number;
  failed: number;
  elapsedMs: number;
  cpuUs: number;
  perSecond: number;
  cpuUsPerEstablishment: number;
  latency: LatencySummary;
  gcMaxPauseMs: number;
  /** What the largest pause of the burst was, and when (docs/establishment.md §7). */
  gcLargest?: GcPause;
  /** The burst's pauses by kind, as CpuWindow.gcByKind. */
  gcByKind: Record<string, { count: number; totalMs: number; maxMs: number }>;
  loopDelayMaxMs: number;
  /** Main-thread CPU and run-queue wait over the burst (Linux): a long wait says a long pause is the machine's. */
  threads?: ThreadTimes;
}

/**
 * One GC pause as perf_hooks reports it: `kind` 1 scavenge, 2 minor mark-compact, 4 mark-compact (its atomic
 * pause), 8 the start of incremental marking, 16 weak callbacks; `flags` V8's GCCallbackFlags (4 forced, 8
 * synchronous phantom callbacks, 16 all available garbage, 32 all external memory, 64 idle; 8 and 32 together: external
 * memory pressure, 32 alone: V8's memory reducer).
 */
export interface GcPause {
  ms: number;
  kind: number;
  flags: number;
  /** Its start, ms after the start of the window (of the SUT's life for the whole run's largest). */
  atMs: number;
}

type Gc = () => void;

const LOOP_DELAY_RESOLUTION_MS = 20;
const loopDelayMs = (ns: number): number => Math.max(0, ns / 1e6 - LOOP_DELAY_RESOLUTION_MS);

/** `{ [key]: value }`, or nothing when value is undefined (exactOptionalPropertyTypes). */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** kB committed and used by each V8 heap space (new space, old space, large objects, code, …). */
function heapSpaces(): Record<string, { committedKb: number; usedKb: number }> {
  const out: Record<string, { committedKb: number; usedKb: number }> = {};
  for (const space of getHeapSpaceStatistics()) {
    out[space.space_name] = { committedKb: Math.round(space.physical_space_size / 1024), usedKb: Math.round(space.space_used_size / 1024) };
  }
  return out;
}

const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/**
 * The product's timer scheduler on the system clock, told to `fine`: each wake-up's start, length and
 * timers fired (or cancelled) in it, and each callback's time by its function's name. The wrapping
 * costs a closure per timer armed: diagnostic mode only (`--stages`).
 */
function instrumentedScheduler(fine: FineTimeline): TimerScheduler {
  let scheduler: TimerScheduler | undefined;
  const clock = {
    now: systemClock.now,
    wallTime: systemClock.wallTime,
    setTimer(fn: () => void, delayMs: number): () => void {
      return systemClock.setTimer(() => {
        const s = scheduler;
        const at = performance.now();
        const armed0 = s?.armedCount ?? 0;
        const size0 = s?.size ?? 0;
        fn();
        const fired = s === undefined ? 0 : size0 + (s.armedCount - armed0) - s.size;
        fine.tick(at, performance.now() - at, fired);
      }, delayMs);
    },
  };
  const s = new TimerScheduler(clock);
  const after = s.after.bind(s);
  const afterCall = s.afterCall.bind(s);
  const timed = (name: string, run: () => void): void => {
    const at = performance.now();
    try {
      run();
    } finally {
      fine.callback(name, performance.now() - at);
    }
  };
  s.after = (delayMs, fn) => after(delayMs, () => timed(fn.name || 'anonymous', fn));
  s.afterCall = (delayMs, fn, arg) => afterCall(delayMs, (x) => timed(fn.name || 'anonymous', () => fn(x)), arg);
  scheduler = s;
  return s;
}

/** The broker's kept-body store figures (slabs, bodies, moves), where the build has one (src/qsa/kept-body-store.ts). */
function keptBodyStats(b2b: PresenceB2B): object | undefined {
  const store = (b2b.qsa as unknown as { keptBodies?: { stats(): object; sweepStats?(): object } }).keptBodies;
  if (store === undefined) return undefined;
  // The sweep's own figures, where the build counts them: its compactAfterMs is what the SUT was configured with.
  return { ...store.stats(), ...(store.sweepStats !== undefined ? { sweep: store.sweepStats() } : {}) };
}

class SutHarness {
  b2b: PresenceB2B | undefined;
  store: SqliteSubscriptionStore | undefined;
  /** Send times of SUBSCRIBEs (recordSends). */
  readonly sendTimes: number[] = [];
  queue: StatusQueue | undefined;
  consumer: StatusConsumer | undefined;
  handles: Array<QsaSubscriptionHandle | undefined> = [];
  recordPrefix = '';
  recordSuffix = '';
  /** The histogram records whole timer intervals, so the delay is what exceeds the resolution. */
  private readonly loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
  private readonly forced: Array<[number, number]> = [];
  private gcWindow: { max: number; count: number; total: number; since: number; largest?: GcPause } = { max: 0, count: 0, total: 0, since: 0 };
  private gcKinds: Record<string, { count: number; totalMs: number; maxMs: number }> = {};
  gcAll: { max: number; count: number; total: number; maxKind: number; largest?: GcPause } = { max: 0, count: 0, total: 0, maxKind: 0 };
  private windowStart: { hr: number; cpu: NodeJS.CpuUsage; messages: number; threads?: ThreadTimes | undefined; io?: IoSyscalls | undefined; counters?: WindowCounters } = {
    hr: 0,
    cpu: process.cpuUsage(),
    messages: 0,
  };
  private readonly gc: Gc | undefined;
  private consuming = false;
  /** Mark-compacts with GC flag 64 (kGCCallbackScheduleIdleGarbageCollection) since the start. */
  private markCompactsFlag64 = 0;

  constructor() {
    const g = (globalThis as { gc?: unknown }).gc;
    this.gc = typeof g === 'function' ? (g as Gc) : undefined;
    const obs = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        if (this.isForced(e.startTime)) continue;
        const d = e.duration;
        const detail = (e as { detail?: { kind?: number; flags?: number } }).detail;
        const kind = String(detail?.kind ?? 0);
        const k = this.gcKinds[kind] ?? { count: 0, totalMs: 0, maxMs: 0 };
        k.count++;
        k.totalMs += d;
        if (d > k.maxMs) k.maxMs = d;
        this.gcKinds[kind] = k;
        this.consumer?.timeline.gc(e.startTime, d);
        this.consumer?.fine?.gc(e.startTime, d, detail?.kind ?? 0, detail?.flags ?? 0);
        // kGCCallbackScheduleIdleGarbageCollection (64): V8's memory reducer sets it, but not only it (the
        // mark-compacts of a run with --no-memory-reducer have it too, docs/latency-tail.md).
        if (((detail?.flags ?? 0) & 64) !== 0 && detail?.kind === 4) this.markCompactsFlag64++;
        this.gcWindow.count++;
        this.gcWindow.total += d;
        if (d > this.gcWindow.max) {
          this.gcWindow.max = d;
          this.gcWindow.largest = { ms: d, kind: detail?.kind ?? 0, flags: detail?.flags ?? 0, atMs: e.startTime - this.gcWindow.since };
        }
        this.gcAll.count++;
        this.gcAll.total += d;
        if (d > this.gcAll.max) {
          this.gcAll.max = d;
          this.gcAll.maxKind = detail?.kind ?? 0;
          this.gcAll.largest = { ms: d, kind: detail?.kind ?? 0, flags: detail?.flags ?? 0, atMs: e.startTime };
        }
      }
    });
    obs.observe({ entryTypes: ['gc'] });
    this.loopDelay.enable();
  }

  private isForced(t: number): boolean {
    for (const [a, b] of this.forced) if (t >= a - 1 && t <= b + 1) return true;
    return false;
  }

  /** The SIP port (UDP and TCP), once started. */
  port = 0;

  async start(a: SutStartArgs): Promise<{ pid: number; listening: unknown }> {
    this.port = a.port;
    // What `presence-b2b start` does first (src/cli/start-command.ts), so that the bench measures the daemon's policy.
    const singleThreadedGc = runsWithSingleThreadedGc(process.execArgv);
    if (startMarkingAtTheLimit(singleThreadedGc, process.execArgv)) {
      process.stderr.write('[sut] single-threaded GC: marking starts at the old generation limit (--no-incremental-marking-task)\n');
    }
    // heap_growing_percent at its default (auto); `--sut-node-args "--heap-growing-percent=0"` gives V8's own factor back.
    const heapGrowingPercent = applyHeapGrowing(DEFAULT_HEAP_GROWING, singleThreadedGc, process.execArgv);
    process.stderr.write(`[sut] heap growing percent ${heapGrowingPercent === 0 ? "V8's own" : heapGrowingPercent}\n`);
    const nice = a.helperThreadsNice ?? DEFAULT_HELPER_THREADS_NICE;
    startHelperThreadLowering(nice, a.helperThreadsNiceAfterS ?? DEFAULT_HELPER_THREADS_NICE_AFTER_S, (r, atMs) => {
      if (r.skipped === undefined) process.stderr.write(`[sut] helper threads lowered to nice ${nice}, ${(atMs / 1000).toFixed(1)} s after the start (${r.lowered} of ${r.threads})\n`);
    });
    if (a.recordSends === true) {
      // Through the engine's diagnostics channel: each SUBSCRIBE sent moves its dialog to subscribing or refreshing.
      subscribe(ENGINE_CHANNEL_STATE, (m) => {
        const to = (m as EngineStateEvent).to;
        if (to === 'subscribing' || to === 'refreshing') this.sendTimes.push(nowMs());
      });
    }
    this.store = a.storePath === undefined ? undefined : SqliteSubscriptionStore.open(a.storePath);
    const probe = a.stages === true ? new StageProbe(1 << 22) : undefined;
    const fine = a.stages === true ? new FineTimeline() : undefined;
    if (probe !== undefined) probe.fine = fine;
    const scheduler = fine !== undefined ? instrumentedScheduler(fine) : undefined;
    this.b2b = await createPresenceB2B({
      ...(probe !== undefined ? { observer: probe } : {}),
      ...(scheduler !== undefined ? { scheduler } : {}),
      ...(this.store !== undefined ? { store: this.store } : {}),
      ...(a.keptBodyCompactionMs !== undefined ? { keptBodyCompactionMs: a.keptBodyCompactionMs } : {}),
      listen: [
        { transport: 'udp', host: '127.0.0.1', port: a.port },
        { transport: 'tcp', host: '127.0.0.1', port: a.port },
      ],
      ...a.settings,
    });
    // Big enough that the overflow policy never coalesces: every message must reach the consumer.
    this.queue = this.b2b.qsa.createQueue({ capacity: Math.max(100_000, a.capacity * 4) });
    this.consumer = new StatusConsumer(a.capacity, 1 << 22);
    this.consumer.stages = probe;
    this.consumer.fine = fine;
    this.handles = new Array<QsaSubscriptionHandle | undefined>(a.capacity).fill(undefined);
    this.recordPrefix = 'sip:user';
    this.recordSuffix = `@127.0.0.1:${a.simPort}${a.transport === 'tcp' ? ';transport=tcp' : ''}`;
    void this.consume();
    return { pid: process.pid, listening: this.b2b.transport.listening() };
  }

  /** Drains the queue: one await per wake-up, then every queued message synchronously. */
  private async consume(): Promise<void> {
    const queue = this.queue;
    const consumer = this.consumer;
    if (queue === undefined || consumer === undefined || this.consuming) return;
    this.consuming = true;
    for (;;) {
      const first = await queue.take();
      if (first === undefined) return;
      consumer.fine?.wakeup(performance.now());
      consumer.handle(first, Number(process.hrtime.bigint()));
      for (let m = queue.poll(); m !== undefined; m = queue.poll()) consumer.handle(m, Number(process.hrtime.bigint()));
    }
  }

  private need(): { b2b: PresenceB2B; queue: StatusQueue; consumer: StatusConsumer } {
    if (this.b2b === undefined || this.queue === undefined || this.consumer === undefined) throw new Error('not started');
    return { b2b: this.b2b, queue: this.queue, consumer: this.consumer };
  }

  subscribeOne(i: number): void {
    const { b2b, queue, consumer } = this.need();
    consumer.subscribedAtMs[i] = nowMs();
    this.handles[i] = b2b.qsa.subscribe({ record: this.recordPrefix + i + this.recordSuffix, subscriber: `sip:w${i}@b2b.bench`, queue, data: i });
  }

  unsubscribeOne(i: number): void {
    const h = this.handles[i];
    if (h === undefined) return;
    this.need().b2b.qsa.unsubscribe(h);
    this.handles[i] = undefined;
  }

  /**
   * Subscribes users [from, to) keeping at most `window` not yet established,
   * and resolves when all are active (or failed) or `timeoutMs` has passed.
   */
  async establish(a: { from: number; to: number; window: number; timeoutMs: number; epoch?: boolean }): Promise<EstablishResult> {
    const { consumer } = this.need();
    if (a.epoch === true) consumer.newEpoch(nowMs());
    const t0 = nowMs();
    const cpu0 = process.cpuUsage();
    const threads0 = threadTimes();
    consumer.establishLatency.reset();
    this.resetWindowGc();
    this.loopDelay.reset();
    const doneIn = (): number => {
      let n = 0;
      // Counting over the range keeps this exact when other users come and go (churn).
      for (let i = a.from; i < a.to; i++) if (consumer.isActive(i) || consumer.isFailed(i)) n++;
      return n;
    };
    const baseActive = consumer.activeCount + consumer.failedCount;
    let next = a.from;
    const deadline = t0 + a.timeoutMs;
    await new Promise<void>((resolve) => {
      const step = () => {
        const finished = consumer.activeCount + consumer.failedCount - baseActive;
        const outstanding = next - a.from - finished;
        let budget = Math.min(a.window - outstanding, 500, a.to - next);
        while (budget-- > 0) this.subscribeOne(next++);
        if ((next >= a.to && finished >= a.to - a.from) || nowMs() > deadline) {
          resolve();
          return;
        }
        if (next < a.to && a.window - outstanding > 0) setImmediate(step);
        else setTimeout(step, 2);
      };
      step();
    });
    const end = consumer.lastActiveAtMs > t0 ? Math.min(nowMs(), Math.max(consumer.lastActiveAtMs, t0)) : nowMs();
    const cpu = process.cpuUsage(cpu0);
    const established = (() => {
      let n = 0;
      for (let i = a.from; i < a.to; i++) if (consumer.isActive(i)) n++;
      return n;
    })();
    const finishedTotal = doneIn();
    const elapsedMs = end - t0;
    const cpuUs = cpu.user + cpu.system;
    return {
      requested: a.to - a.from,
      established,
      failed: finishedTotal - established,
      elapsedMs,
      cpuUs,
      perSecond: (established * 1000) / Math.max(1, elapsedMs),
      cpuUsPerEstablishment: established > 0 ? cpuUs / established : 0,
      latency: consumer.establishLatency.summary(),
      gcMaxPauseMs: this.gcWindow.max,
      ...optional('gcLargest', this.gcWindow.largest),
      gcByKind: this.gcKinds,
      loopDelayMaxMs: loopDelayMs(this.loopDelay.max),
      ...optional('threads', threadTimesBetween(threads0, threadTimes())),
    };
  }

  /** Resolves when users [from, to) are all active since the epoch, or after `timeoutMs`. */
  async waitActive(a: { from: number; to: number; timeoutMs: number }): Promise<{ active: number; elapsedMsSinceEpoch: number; lastActiveAtMs: number }> {
    const { consumer } = this.need();
    const t0 = nowMs();
    const count = () => {
      let n = 0;
      for (let i = a.from; i < a.to; i++) if (consumer.isActive(i)) n++;
      return n;
    };
    let n = count();
    while (n < a.to - a.from && nowMs() - t0 < a.timeoutMs) {
      await new Promise((r) => setTimeout(r, 50));
      n = count();
    }
    return { active: n, elapsedMsSinceEpoch: nowMs() - consumer.epochStart, lastActiveAtMs: consumer.lastActiveAtMs };
  }

  newEpoch(): void {
    this.need().consumer.newEpoch(nowMs());
  }

  /** Unsubscribes users [from, to). */
  unsubscribeRange(a: { from: number; to: number }): number {
    let n = 0;
    for (let i = a.from; i < a.to; i++) {
      if (this.handles[i] !== undefined) {
        this.unsubscribeOne(i);
        n++;
      }
    }
    return n;
  }

  /**
   * Churn: every 100 ms, unsubscribe the oldest `rate/10` users from `oldestFrom`
   * and subscribe as many new ones from `newFrom`, for `durationMs`.
   */
  async churn(a: { rate: number; durationMs: number; oldestFrom: number; newFrom: number }): Promise<{ subscribed: number; unsubscribed: number; newTo: number; oldestTo: number }> {
    let oldest = a.oldestFrom;
    let next = a.newFrom;
    const t0 = nowMs();
    let owed = 0;
    while (nowMs() - t0 < a.durationMs) {
      owed += a.rate / 10;
      const k = Math.floor(owed);
      owed -= k;
      for (let j = 0; j < k && next < this.handles.length; j++) {
        this.unsubscribeOne(oldest++);
        this.subscribeOne(next++);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return { subscribed: next - a.newFrom, unsubscribed: oldest - a.oldestFrom, newTo: next, oldestTo: oldest };
  }

  private resetWindowGc(): void {
    this.gcWindow = { max: 0, count: 0, total: 0, since: performance.now() };
    this.gcKinds = {};
  }

  /** The counters of WindowCounters since the start (GC ones: since the window's start, from gcKinds). */
  private counters(): WindowCounters {
    const { b2b } = this.need();
    const t = b2b.ua.transactions.stats();
    const kinds = this.gcKinds;
    return {
      received: b2b.transport.stats.received,
      sent: b2b.transport.stats.sent,
      retransmissionsAnswered: t.retransmittedRequestsAbsorbed,
      serverTransactions: t.serverTransactionsCreated,
      clientTransactions: t.clientTransactionsCreated,
      subscribesSent: b2b.engine.stats.subscribesSent,
      requestsShed: b2b.transport.stats.requestsShed,
      udpDrops: udpDrops(this.port) ?? 0,
      scavenges: kinds['1']?.count ?? 0,
      markCompacts: kinds['4']?.count ?? 0,
      markCompactsFlag64: this.markCompactsFlag64,
    };
  }

  beginWindow(): void {
    const { consumer } = this.need();
    this.resetWindowGc();
    this.windowStart = { hr: nowMs(), cpu: process.cpuUsage(), messages: consumer.counters.messages, threads: threadTimes(), io: ioSyscalls(), counters: this.counters() };
    consumer.latency.reset();
    consumer.sendToRead.reset();
    consumer.readToDequeue.reset();
    consumer.readAhead.reset();
    consumer.timeline.begin(Number(process.hrtime.bigint()), performance.now());
    consumer.fine?.begin(Number(process.hrtime.bigint()), performance.now());
    this.loopDelay.reset();
    this.resetWindowGc();
  }

  endWindow(): CpuWindow {
    const { consumer } = this.need();
    const cpu = process.cpuUsage(this.windowStart.cpu);
    const c0 = this.windowStart.counters;
    const c1 = this.counters();
    const counters = c0 === undefined ? undefined : (Object.fromEntries(Object.entries(c1).map(([k, v]) => [k, v - (k === 'scavenges' || k === 'markCompacts' ? 0 : c0[k as keyof WindowCounters])])) as unknown as WindowCounters);
    return {
      elapsedMs: nowMs() - this.windowStart.hr,
      cpuUs: cpu.user + cpu.system,
      userUs: cpu.user,
      systemUs: cpu.system,
      messages: consumer.counters.messages - this.windowStart.messages,
      latency: consumer.latency.summary(),
      loopDelayP99Ms: loopDelayMs(this.loopDelay.percentile(99)),
      loopDelayMaxMs: loopDelayMs(this.loopDelay.max),
      gcMaxPauseMs: this.gcWindow.max,
      ...optional('gcLargest', this.gcWindow.largest),
      gcCount: this.gcWindow.count,
      gcTotalMs: this.gcWindow.total,
      gcByKind: this.gcKinds,
      ...optional('threads', threadTimesBetween(this.windowStart.threads, threadTimes())),
      ...optional('syscalls', ioSyscallsBetween(this.windowStart.io, ioSyscalls())),
      timeline: consumer.timeline.summary(),
      ...optional('fine', consumer.fine?.summary()),
      ...optional('counters', counters),
      ...optional('stages', consumer.stages !== undefined ? { sendToRead: consumer.sendToRead.summary(), readToDequeue: consumer.readToDequeue.summary(), readAhead: consumer.readAhead.summary() } : undefined),
    };
  }

  /** One full GC that compacts every fragmented page, its pause (kept out of the GC figures, as the forced ones), then a sample. */
  async compactingGc(): Promise<{ ms: number; memory: MemorySample; smaps: object } | undefined> {
    if (this.gc === undefined) return undefined;
    setFlagsFromString('--compact-on-every-full-gc');
    const at = performance.now();
    this.gc();
    const ms = performance.now() - at;
    this.forced.push([at, at + ms]);
    setFlagsFromString('--no-compact-on-every-full-gc');
    return { ms, memory: await this.memory(), smaps: { ...smapsSummary(), spaces: heapSpaces() } };
  }

  async memory(): Promise<MemorySample> {
    let forcedGcMs = 0;
    if (this.gc !== undefined) {
      for (let k = 0; k < 3; k++) {
        const a = performance.now();
        this.gc();
        const b = performance.now();
        this.forced.push([a, b]);
        if (k === 0) forcedGcMs = b - a;
        await new Promise((r) => setImmediate(r));
      }
    }
    const m = process.memoryUsage();
    return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, forcedGcMs };
  }

  stats(): object {
    const { b2b, queue, consumer } = this.need();
    return {
      engine: b2b.engine.stats,
      restart: { ...b2b.engine.restartStats },
      queue: queue.stats,
      queueDepth: queue.depth,
      consumer: consumer.counters,
      lastMessageAtMs: consumer.lastMessageAtMs,
      activeCount: consumer.activeCount,
      failedCount: consumer.failedCount,
      gc: { ...this.gcAll },
      keptBodies: keptBodyStats(b2b),
      // Dialogs the engine holds and subscriptions the broker holds (W3: what is left after a churn).
      dialogs: b2b.engine.size,
      subscriptions: b2b.qsa.size,
      // Datagrams the kernel dropped at the SUT's full UDP receive buffer (Linux), since the socket was made.
      udpDrops: udpDrops(this.port),
      cpu: process.cpuUsage(),
      forcedGc: this.gc !== undefined,
    };
  }
}

/** Bytes between two samples of the survivor profile (smaller than V8's 32 KB default: small, frequent objects count). */
const SURVIVOR_SAMPLING_INTERVAL = 4096;

async function main(): Promise<void> {
  const h = new SutHarness();
  const survivorSampling = new SamplingHeapProfiler();
  serveRpc(
    {
      start: (a: SutStartArgs) => h.start(a),
      establish: (a: { from: number; to: number; window: number; timeoutMs: number; epoch?: boolean }) => h.establish(a),
      waitActive: (a: { from: number; to: number; timeoutMs: number }) => h.waitActive(a),
      newEpoch: () => h.newEpoch(),
      unsubscribe: (a: { from: number; to: number }) => h.unsubscribeRange(a),
      churn: (a: { rate: number; durationMs: number; oldestFrom: number; newFrom: number }) => h.churn(a),
      beginWindow: () => h.beginWindow(),
      endWindow: () => h.endWindow(),
      memory: () => h.memory(),
      smaps: () => ({ ...smapsSummary(), spaces: heapSpaces() }),
      seen: (a: { from: number; to: number }) => h.consumer?.seenRange(a.from, a.to) ?? new Uint8Array(0),
      stats: () => h.stats(),
      sendRate: () => ({ count: h.sendTimes.length, maxInAnySecond: maxInAnySecond(h.sendTimes) }),
      cpu: () => process.cpuUsage(),
      // For finding what holds memory per subscription: summarise with dist/bench/heap-summary.js.
      heapSnapshot: (a: { path: string }) => writeHeapSnapshot(a.path),
      // What outlives a scavenge (docs/latency-tail.md, W4's largest GC pause): V8's sampling heap
      // profiler, keeping the samples of objects a mark-compact freed and dropping those a scavenge did.
      startSurvivorSampling: () => survivorSampling.start(SURVIVOR_SAMPLING_INTERVAL, false),
      stopSurvivorSampling: async (a: { path: string }) => {
        writeFileSync(a.path, JSON.stringify(await survivorSampling.stop()));
        return a.path;
      },
      // Bench only (W0 --memory-levers, docs/establishment.md §14): one full GC that compacts every
      // fragmented page (V8 compacts only its chosen candidates otherwise), its pause, then the sample.
      compactingGc: () => h.compactingGc(),
    },
    async () => {
      await h.b2b?.close(2000);
      await h.store?.close();
    },
  );
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
