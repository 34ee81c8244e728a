/**
 * A W2 step second by second, in the SUT: for each second of the measurement
 * window, how many status messages the consumer took, how many of them came
 * 5 ms or more after the simulator sent their NOTIFY, the largest latency,
 * the GC pauses that started in it, what the main thread ran and waited
 * for the CPU in it and what the process's other threads ran (/proc schedstat, sampled at the first message of each
 * second). Whether a step's tail is spread over the step or sits in its first
 * seconds (warm-up after the establishment) shows here, which a p99 over the
 * whole step cannot say (docs/latency-tail.md, "Over TCP, at 5,000/s").
 *
 * Costs one comparison per message and a few /proc reads per second.
 */
import { type ThreadTimes, threadTimes } from './thread-times.js';

/** Latency at or above this counts as "slow" (the service level's p99 bound). */
const SLOW_US = 5000;
/** Longest window kept, in seconds; later messages go to the last second. */
const MAX_SECONDS = 600;

export interface StepTimelineSummary {
  /** Per second of the window, from its start. */
  messages: number[];
  slow: number[];
  maxMs: number[];
  gcMs: number[];
  mainRunMs: number[];
  mainWaitMs: number[];
  /** The process's other threads (V8's GC helpers and compiler jobs, on the SUT's core). */
  otherRunMs: number[];
}

export class StepTimeline {
  private startNs = 0;
  private startPerfMs = 0;
  private current = -1;
  private readonly messages = new Uint32Array(MAX_SECONDS);
  private readonly slow = new Uint32Array(MAX_SECONDS);
  private readonly maxUs = new Float64Array(MAX_SECONDS);
  private readonly gcMs = new Float64Array(MAX_SECONDS);
  /** Thread times at the first message of each second (undefined off Linux). */
  private marks: Array<ThreadTimes | undefined> = [];

  /** Starts a window now (`nowNs`: process.hrtime, `nowPerfMs`: performance.now()). */
  begin(nowNs: number, nowPerfMs: number): void {
    this.startNs = nowNs;
    this.startPerfMs = nowPerfMs;
    this.current = -1;
    this.messages.fill(0);
    this.slow.fill(0);
    this.maxUs.fill(0);
    this.gcMs.fill(0);
    this.marks = [];
  }

  record(nowNs: number, latencyUs: number): void {
    const s = this.second((nowNs - this.startNs) / 1e9);
    if (s !== this.current) {
      // The first message of a new second: mark the thread times (seconds without a message share the mark).
      const t = threadTimes();
      for (let k = this.current + 1; k <= s; k++) this.marks[k] = t;
      this.current = s;
    }
    this.messages[s]!++;
    if (latencyUs >= SLOW_US) this.slow[s]!++;
    if (latencyUs > this.maxUs[s]!) this.maxUs[s] = latencyUs;
  }

  /** A GC pause (PerformanceObserver entry: startTime and duration in performance.now() ms). */
  gc(startPerfMs: number, durationMs: number): void {
    if (startPerfMs < this.startPerfMs) return;
    this.gcMs[this.second((startPerfMs - this.startPerfMs) / 1000)]! += durationMs;
  }

  summary(): StepTimelineSummary {
    const n = this.current + 1;
    const r = (x: number) => Math.round(x * 10) / 10;
    const out: StepTimelineSummary = { messages: [], slow: [], maxMs: [], gcMs: [], mainRunMs: [], mainWaitMs: [], otherRunMs: [] };
    const end = threadTimes();
    for (let s = 0; s < n; s++) {
      out.messages.push(this.messages[s]!);
      out.slow.push(this.slow[s]!);
      out.maxMs.push(r(this.maxUs[s]! / 1000));
      out.gcMs.push(r(this.gcMs[s]!));
      const a = this.marks[s];
      const b = s + 1 < n ? this.marks[s + 1] : end;
      out.mainRunMs.push(a !== undefined && b !== undefined ? r(b.mainRunMs - a.mainRunMs) : 0);
      out.mainWaitMs.push(a !== undefined && b !== undefined ? r(b.mainWaitMs - a.mainWaitMs) : 0);
      out.otherRunMs.push(a !== undefined && b !== undefined ? r(Math.max(0, b.otherRunMs - a.otherRunMs)) : 0);
    }
    return out;
  }

  private second(elapsedS: number): number {
    return Math.min(MAX_SECONDS - 1, Math.max(0, Math.floor(elapsedS)));
  }
}
