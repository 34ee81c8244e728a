/**
 * Coverage feedback from V8's own block counters, through node:inspector in
 * the worker (Profiler.startPreciseCoverage, callCount + detailed): every
 * function and block of the scripts in scope is counted, and each
 * takePreciseCoverage returns the counts since the previous one and resets
 * them. A session connected to its own thread answers synchronously.
 *
 * V8 reports a block only where its count differs from the enclosing range
 * (nested ranges with the parent's count are merged away, and uncovered
 * blocks inside uncovered ranges are dropped), so a block is identified by
 * its source range and called covered when the innermost reported range
 * containing it has a non-zero count. Ranges are learnt as V8 reports them;
 * a block that always runs with its parent is never reported and carries no
 * information anyway.
 *
 * A feature is a covered block (script id, start, end); an input is kept in
 * the corpus when it covers a feature no earlier input did.
 */
import { Session } from 'node:inspector';

interface CoverageRange {
  startOffset: number;
  endOffset: number;
  count: number;
}

interface FunctionCoverage {
  functionName: string;
  ranges: CoverageRange[];
}

interface ScriptCoverage {
  scriptId: string;
  url: string;
  functions: FunctionCoverage[];
}

/** One takePreciseCoverage result. */
export type CoverageSample = readonly ScriptCoverage[];

/** What is known of one function: every range V8 reported for it, and which of them were covered. */
interface FunctionState {
  /** Flat [start0, end0, start1, end1, …]. */
  ranges: number[];
  /** start * 2**26 + end of each known range (scripts are far below 64 MiB). */
  keys: Set<number>;
  /** 1 where the range at the same index (ranges[2i], ranges[2i+1]) was seen covered. */
  covered: number[];
  /** Ranges not yet seen covered. */
  uncovered: number;
}

export class CoverageTracker {
  private readonly session = new Session();
  /** Per script id, per function start offset. */
  private readonly functions = new Map<string, Map<number, FunctionState>>();
  /** Scripts in scope, by id (decided once per script from its URL). */
  private readonly inScope = new Map<string, boolean>();
  private featureCount = 0;
  takes = 0;

  constructor(private readonly scope: RegExp) {
    this.session.connect();
    this.post('Profiler.enable');
    this.post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
  }

  /** Features (covered blocks) seen so far. */
  get features(): number {
    return this.featureCount;
  }

  /** The counts since the last take, for the scripts in scope (and resets them). */
  take(): CoverageSample {
    const result = this.post('Profiler.takePreciseCoverage') as { result: ScriptCoverage[] };
    const out: ScriptCoverage[] = [];
    for (const script of result.result) {
      let inScope = this.inScope.get(script.scriptId);
      if (inScope === undefined) {
        inScope = this.scope.test(script.url);
        this.inScope.set(script.scriptId, inScope);
      }
      if (inScope && script.functions.length > 0) out.push(script);
    }
    this.takes++;
    return out;
  }

  /**
   * Number of features in `sample` not seen before; with `commit`, they are
   * recorded as seen. Only ranges never seen covered are looked at, so once
   * coverage settles this costs little more than walking the sample.
   */
  newFeatures(sample: CoverageSample, commit: boolean): number {
    let fresh = 0;
    for (const script of sample) {
      let byStart = this.functions.get(script.scriptId);
      if (byStart === undefined) {
        byStart = new Map();
        this.functions.set(script.scriptId, byStart);
      }
      for (const fn of script.functions) {
        const ranges = fn.ranges;
        if (ranges.length === 0) continue;
        const state = learn(byStart, ranges);
        if (ranges[0]!.count === 0 || state.uncovered === 0) continue;
        const known = state.ranges;
        for (let k = 0; k < state.covered.length; k++) {
          if (state.covered[k] === 1 || countAt(ranges, known[2 * k]!, known[2 * k + 1]!) === 0) continue;
          fresh++;
          if (commit) {
            state.covered[k] = 1;
            state.uncovered--;
            this.featureCount++;
          }
        }
      }
    }
    return fresh;
  }

  stop(): void {
    try {
      this.post('Profiler.stopPreciseCoverage');
      this.post('Profiler.disable');
    } finally {
      this.session.disconnect();
    }
  }

  private post(method: string, params?: object): unknown {
    let out: unknown;
    let failure: Error | null = null;
    this.session.post(method, params, (error, result) => {
      failure = error;
      out = result;
    });
    if (failure !== null) throw failure;
    // A session connected to its own thread dispatches synchronously; anything else is unusable here.
    if (out === undefined) throw new Error(`inspector did not answer ${method} synchronously`);
    return out;
  }
}

/** The function's state, with any range reported for the first time added. */
function learn(byStart: Map<number, FunctionState>, ranges: readonly CoverageRange[]): FunctionState {
  const start = ranges[0]!.startOffset;
  let state = byStart.get(start);
  if (state === undefined) {
    state = { ranges: [], keys: new Set(), covered: [], uncovered: 0 };
    byStart.set(start, state);
  }
  for (const r of ranges) {
    const key = r.startOffset * 0x4000000 + r.endOffset;
    if (state.keys.has(key)) continue;
    state.keys.add(key);
    state.ranges.push(r.startOffset, r.endOffset);
    state.covered.push(0);
    state.uncovered++;
  }
  return state;
}
/** The count of the innermost reported range containing [start, end) (ranges are reported outermost first). */
function countAt(ranges: readonly CoverageRange[], start: number, end: number): number {
  let count = 0;
  let width = Number.POSITIVE_INFINITY;
  for (const r of ranges) {
    if (r.startOffset <= start && end <= r.endOffset && r.endOffset - r.startOffset <= width) {
      width = r.endOffset - r.startOffset;
      count = r.count;
    }
  }
  return count;
}
