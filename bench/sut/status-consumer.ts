/**
 * The internal client of the benchmark, in the SUT process: it drains one QSA
 * queue and timestamps every status message. From the PIDF tuple id stamped by
 * the simulator (pidf-body.ts) it gets the NOTIFY's global sequence number and
 * its send time, so it measures NOTIFY-to-queue latency across processes on the
 * same monotonic clock and counts every sequence number it sees (loss and
 * duplication are decided by comparing with the simulator's `expected`).
 * From the subscription's `data` (the user index) it tracks establishment:
 * the first `active` message after `qsa.subscribe()`.
 *
 * Everything is preallocated (typed arrays sized for the run) so that the
 * consumer adds almost nothing per held subscription to the memory figures.
 */
import { LatencyHistogram } from '../harness/latency-histogram.js';
import type { FineTimeline } from './fine-timeline.js';
import { StepTimeline } from './step-timeline.js';

/** The parts of a QSA status message the consumer reads (src/qsa/status-message.ts). */
/** The presence package's document as far as the consumer reads it (the tuple id carries the stamp). */
type PidfLike = { readonly tuples: ReadonlyArray<{ readonly id: string }> };

export interface ConsumedMessage {
  readonly state: string;
  readonly document?: unknown;
  readonly subscription: { readonly data: unknown };
}

/**
 * The consumer's counters. A class of its own, not an object literal: a literal's hidden class is
 * reached from the plain object's by adding `messages` first, as other literals in this process do
 * with an array there (the step summary's `messages`). V8 then widens that field from small
 * integers to any value for every object on the path, and `handle`'s optimized code, which counted
 * on small integers, was thrown away at the end of each step: the next step began in the
 * interpreter and with a 15 ms recompilation on the SUT's one core (`--trace-deopt`: "code
 * dependencies"; `--trace-generalization`).
 */
export class ConsumerCounters {
  messages = 0;
  active = 0;
  pending = 0;
  terminated = 0;
  rejected = 0;
  /** Messages without a bench stamp (no body, or a body the parser rejected). */
  unstamped = 0;
  /** Stamped messages whose sequence number had been seen already. */
  duplicates = 0;
}

function stampSeq(id: string): number {
  // `s<seq>t<ns>`; -1 if not ours. No allocation.
  if (id.charCodeAt(0) !== 115) return -1;
  let n = 0;
  let i = 1;
  for (; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (c === 116) break;
    if (c < 48 || c > 57) return -1;
    n = n * 10 + (c - 48);
  }
  return i > 1 && i < id.length ? n : -1;
}

function stampNs(id: string): number {
  const t = id.indexOf('t', 1);
  let n = 0;
  for (let i = t + 1; i < id.length; i++) n = n * 10 + (id.charCodeAt(i) - 48);
  return n;
}

/** Read time of a sequence number at the SUT's socket (stage-probe.ts), in monotonic ns; 0 = unknown. */
export interface ReadTimes {
  readTime(seq: number): number;
  /** Messages read after `seq` so far (-1: not read). */
  readsAfter(seq: number): number;
}

/** Counts 0…4095 exactly (one bucket each), larger ones in the last bucket. */
export class CountHistogram {
  private readonly buckets = new Uint32Array(4096);
  private n = 0;
  private sum = 0;
  private largest = 0;

  record(value: number): void {
    const v = Math.max(0, Math.round(value));
    this.buckets[Math.min(v, 4095)]!++;
    this.n++;
    this.sum += v;
    if (v > this.largest) this.largest = v;
  }

  reset(): void {
    this.buckets.fill(0);
    this.n = 0;
    this.sum = 0;
    this.largest = 0;
  }

  summary(): CountSummary {
    const at = (q: number): number => {
      if (this.n === 0) return 0;
      const rank = Math.ceil(q * this.n);
      let seen = 0;
      for (let i = 0; i < this.buckets.length; i++) {
        seen += this.buckets[i]!;
        if (seen >= rank) return Math.min(i, this.largest);
      }
      return this.largest;
    };
    return { count: this.n, p50: at(0.5), p99: at(0.99), max: this.largest, mean: this.n === 0 ? 0 : Math.round((this.sum / this.n) * 100) / 100 };
  }
}

export interface CountSummary {
  count: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

export class StatusConsumer {
  readonly latency = new LatencyHistogram();
  /** With `--stages`: simulator send → SUT socket read, and SUT socket read → dequeue. */
  readonly sendToRead = new LatencyHistogram();
  readonly readToDequeue = new LatencyHistogram();
  /** With `--stages`: messages read from the socket after a NOTIFY and before its dequeue. */
  readonly readAhead = new CountHistogram();
  /** The measurement window second by second. */
  readonly timeline = new StepTimeline();
  /** With `--stages`: the window in 10 ms buckets (fine-timeline.ts). */
  fine: FineTimeline | undefined;
  stages: ReadTimes | undefined;
  readonly establishLatency = new LatencyHistogram();
  readonly counters = new ConsumerCounters();
  /** How often each sequence number was seen (saturating at 255). */
  private seen: Uint8Array;
  /** Per user index: 1 once active since the last `newEpoch()`. */
  private readonly activeSinceEpoch: Uint8Array;
  /** Per user index: 1 once terminated/rejected before becoming active since the last epoch. */
  private readonly failedSinceEpoch: Uint8Array;
  /** Per user index: monotonic ms of the subscribe call (0 = not timed). */
  readonly subscribedAtMs: Float64Array;
  activeCount = 0;
  failedCount = 0;
  private epochStartMs = 0;
  lastActiveAtMs = 0;
  lastMessageAtMs = 0;

  constructor(capacity: number, seqCapacity: number) {
    this.seen = new Uint8Array(seqCapacity);
    this.activeSinceEpoch = new Uint8Array(capacity);
    this.failedSinceEpoch = new Uint8Array(capacity);
    this.subscribedAtMs = new Float64Array(capacity);
  }

  /** Forget who is active (W4: after the peer's restart, count re-establishment from zero). */
  newEpoch(nowMs: number): void {
    this.activeSinceEpoch.fill(0);
    this.failedSinceEpoch.fill(0);
    this.activeCount = 0;
    this.failedCount = 0;
    this.epochStartMs = nowMs;
  }

  get epochStart(): number {
    return this.epochStartMs;
  }

  /** Whether user `i` has been active since the epoch. */
  isActive(i: number): boolean {
    return this.activeSinceEpoch[i] === 1;
  }

  isFailed(i: number): boolean {
    return this.failedSinceEpoch[i] === 1;
  }

  handle(m: ConsumedMessage, nowNs: number): void {
    const c = this.counters;
    c.messages++;
    const nowMs = nowNs / 1e6;
    this.lastMessageAtMs = nowMs;
    const tuples = (m.document as PidfLike | undefined)?.tuples;
    const id = tuples !== undefined && tuples.length > 0 ? tuples[0]?.id : undefined;
    const seq = id === undefined ? -1 : stampSeq(id);
    if (seq < 0 || id === undefined) c.unstamped++;
    else {
      if (seq >= this.seen.length) this.growSeen(seq);
      const count = this.seen[seq] ?? 0;
      if (count > 0) c.duplicates++;
      if (count < 255) this.seen[seq] = count + 1;
      const sentNs = stampNs(id);
      this.latency.recordUs((nowNs - sentNs) / 1000);
      this.timeline.record(nowNs, (nowNs - sentNs) / 1000);
      this.fine?.message(nowNs, (nowNs - sentNs) / 1000, sentNs);
      const readNs = this.stages?.readTime(seq) ?? 0;
      if (readNs > 0) {
        this.sendToRead.recordUs((readNs - sentNs) / 1000);
        this.readToDequeue.recordUs((nowNs - readNs) / 1000);
        this.readAhead.record(this.stages?.readsAfter(seq) ?? 0);
      }
    }
    const user = typeof m.subscription.data === 'number' ? m.subscription.data : -1;
    switch (m.state) {
      case 'active':
        c.active++;
        if (user >= 0 && this.activeSinceEpoch[user] === 0) {
          this.activeSinceEpoch[user] = 1;
          this.activeCount++;
          this.lastActiveAtMs = nowMs;
          const at = this.subscribedAtMs[user] ?? 0;
          if (at > 0) this.establishLatency.recordUs((nowMs - Math.max(at, this.epochStartMs)) * 1000);
        }
        break;
      case 'pending':
        c.pending++;
        break;
      case 'terminated':
      case 'rejected':
        if (m.state === 'terminated') c.terminated++;
        else c.rejected++;
        if (user >= 0 && this.activeSinceEpoch[user] === 0 && this.failedSinceEpoch[user] === 0) {
          this.failedSinceEpoch[user] = 1;
          this.failedCount++;
        }
        break;
      default:
        break;
    }
  }

  private growSeen(seq: number): void {
    let size = this.seen.length * 2;
    while (size <= seq) size *= 2;
    const bigger = new Uint8Array(size);
    bigger.set(this.seen);
    this.seen = bigger;
  }

  /** Seen counts for sequence numbers [from, to). */
  seenRange(from: number, to: number): Uint8Array {
    const out = new Uint8Array(Math.max(0, to - from));
    out.set(this.seen.subarray(from, Math.min(to, this.seen.length)));
    return out;
  }
}
