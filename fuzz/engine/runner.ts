/**
 * The main-thread side: runs a target in a worker and watches it. Every
 * 100 ms the watchdog reads the sequence number of the input the worker is
 * running; an input still running after `timeoutMs` of CPU time (see
 * overLimit) is a hang: its octets
 * are read from the shared buffer, the worker is terminated (which stops a
 * synchronous loop too) and a new worker goes on with the corpus kept so far
 * and another seed. A worker that dies (uncaught exception, out of memory,
 * stack overflow outside a try) is a crash of the input it was running.
 */
import { Worker } from 'node:worker_threads';
import {
  CONTROL_LENGTH,
  CONTROL_RUNNING,
  CONTROL_RUNS,
  CONTROL_SEQ,
  CONTROL_SLOTS,
  CONTROL_STOP,
  type CoverageMode,
  type ErrorInfo,
  errorInfo,
  type WorkerMessage,
  type WorkerSetup,
  type WorkerStats,
} from './protocol.js';
import { inputKey } from './hash.js';
import type { FuzzTarget } from './target.js';

const WORKER_URL = new URL('./worker.js', import.meta.url);
const WATCHDOG_MS = 100;
const MAX_RESTARTS = 20;

export interface Finding {
  kind: 'crash' | 'hang';
  target: string;
  input: Uint8Array;
  /** For a hang: what the watchdog saw. */
  error: ErrorInfo;
}

export interface RunTargetOptions {
  target: FuzzTarget;
  moduleUrl: string;
  seed: number;
  durationMs: number;
  maxRuns: number;
  /** Per-input time limit. */
  timeoutMs: number;
  coverage: CoverageMode;
  /** Inputs to start from beside the seeds (e.g. the regression fixtures). */
  corpus?: Uint8Array[];
  /** Worker heap limit. */
  maxOldGenerationSizeMb?: number;
  onFinding?: (finding: Finding) => void;
  onStats?: (stats: TargetStats) => void;
}

export interface TargetStats {
  target: string;
  runs: number;
  corpus: number;
  features: number;
  crashingInputs: number;
  hangs: number;
  elapsedMs: number;
  coverageMs: number;
  slowestMs: number;
  slowestBytes: number;
  restarts: number;
  batch: number;
  timing: WorkerStats['timing'];
}

type WorkerEnd =
  | { kind: 'done'; stats: WorkerStats }
  | { kind: 'hang'; input: Uint8Array; runs: number; stats: WorkerStats | undefined }
  | { kind: 'died'; input: Uint8Array | undefined; error: ErrorInfo; runs: number; stats: WorkerStats | undefined };

/** Fuzzes one target for its budget, across as many workers as hangs and deaths require. */
export async function runTarget(options: RunTargetOptions): Promise<TargetStats> {
  const started = performance.now();
  const timeoutMs = effectiveTimeout(options.target, options.timeoutMs);
  const kept: Uint8Array[] = [...(options.corpus ?? [])];
  let keptBytes = 0;
  const skip: string[] = [];
  const total: TargetStats = {
    target: options.target.name,
    runs: 0,
    corpus: 0,
    features: 0,
    crashingInputs: 0,
    hangs: 0,
    elapsedMs: 0,
    coverageMs: 0,
    slowestMs: 0,
    slowestBytes: 0,
    restarts: 0,
    batch: 0,
    timing: { make: 0, run: 0, sample: 0, attribute: 0 },
  };
  const finish = (stats: WorkerStats | undefined, runs: number): void => {
    total.runs += runs;
    if (stats !== undefined) {
      total.crashingInputs += stats.crashes;
      total.coverageMs += stats.coverageMs;
      if (stats.slowestMs > total.slowestMs) {
        total.slowestMs = stats.slowestMs;
        total.slowestBytes = stats.slowestBytes;
      }
      total.features = Math.max(total.features, stats.features);
      total.corpus = Math.max(total.corpus, stats.corpus);
      total.batch = stats.batch;
      for (const k of ['make', 'run', 'sample', 'attribute'] as const) total.timing[k] += stats.timing[k];
    }
  };
  for (let incarnation = 0; ; incarnation++) {
    const remainingMs = options.durationMs - (performance.now() - started);
    const remainingRuns = options.maxRuns - total.runs;
    if (remainingMs <= 0 || remainingRuns <= 0) break;
    const base = { ...total };
    const end = await runWorker(
      {
        moduleUrl: options.moduleUrl,
        targetName: options.target.name,
        mode: 'fuzz',
        seed: (options.seed + incarnation * 0x9e3779b1) >>> 0,
        maxRuns: remainingRuns,
        durationMs: remainingMs,
        coverage: options.coverage,
        corpus: kept,
        skip,
        inputs: [],
        control: new SharedArrayBuffer(CONTROL_SLOTS * 4),
        input: new SharedArrayBuffer(Math.max(options.target.maxInputBytes, 1 << 20)),
      },
      { timeoutMs, ...(options.maxOldGenerationSizeMb !== undefined ? { maxOldGenerationSizeMb: options.maxOldGenerationSizeMb } : {}) },
      {
        onCrash: (input, error) => {
          options.onFinding?.({ kind: 'crash', target: options.target.name, input, error });
        },
        onCorpus: (input) => {
          // What a restarted worker starts from: bounded like the worker's own corpus.
          if (kept.length < 20_000 && keptBytes + input.length <= 64 * 1024 * 1024) {
            kept.push(input);
            keptBytes += input.length;
          }
        },
        onStats: (stats) => {
          options.onStats?.({
            ...base,
            runs: base.runs + stats.runs,
            corpus: stats.corpus,
            features: stats.features,
            crashingInputs: base.crashingInputs + stats.crashes,
            elapsedMs: performance.now() - started,
            coverageMs: base.coverageMs + stats.coverageMs,
            slowestMs: Math.max(base.slowestMs, stats.slowestMs),
            slowestBytes: stats.slowestMs > base.slowestMs ? stats.slowestBytes : base.slowestBytes,
            batch: stats.batch,
            timing: stats.timing,
          });
        },
      },
    );
    if (end.kind === 'done') {
      finish(end.stats, end.stats.runs);
      break;
    }
    finish(end.stats, end.runs);
    total.restarts++;
    // The next worker starts from the seeds and the corpus again: not from this input.
    if (end.input !== undefined) skip.push(inputKey(end.input));
    if (end.kind === 'hang') {
      total.hangs++;
      options.onFinding?.({
        kind: 'hang',
        target: options.target.name,
        input: end.input,
        error: { name: 'Hang', message: `input still running after ${timeoutMs} ms of CPU time`, stack: '' },
      });
    } else {
      total.crashingInputs++;
      options.onFinding?.({ kind: 'crash', target: options.target.name, input: end.input ?? new Uint8Array(0), error: end.error });
      if (end.input === undefined) break; // not caused by an input: the harness or the target's setup is broken
    }
    if (total.restarts >= MAX_RESTARTS) break;
  }
  total.elapsedMs = performance.now() - started;
  return total;
}

export interface ReplayResult {
  index: number;
  outcome: 'ok' | 'expected-error' | 'crash' | 'hang';
  error?: ErrorInfo;
}

/** Runs each input once under the same watchdog (the regression tests). */
export async function replayInputs(options: {
  target: FuzzTarget;
  moduleUrl: string;
  inputs: Uint8Array[];
  timeoutMs: number;
}): Promise<ReplayResult[]> {
  const results: ReplayResult[] = [];
  let next = 0;
  while (next < options.inputs.length) {
    const inputs = options.inputs.slice(next);
    const offset = next;
    const end = await runWorker(
      {
        moduleUrl: options.moduleUrl,
        targetName: options.target.name,
        mode: 'replay',
        seed: 0,
        maxRuns: inputs.length,
        durationMs: Number.POSITIVE_INFINITY,
        coverage: 'off',
        corpus: [],
        skip: [],
        inputs,
        control: new SharedArrayBuffer(CONTROL_SLOTS * 4),
        input: new SharedArrayBuffer(Math.max(options.target.maxInputBytes, ...inputs.map((i) => i.length), 1)),
      },
      { timeoutMs: effectiveTimeout(options.target, options.timeoutMs) },
      {
        onCrash: (_input, error, seq) => results.push({ index: offset + seq, outcome: 'crash', error }),
        onReplayed: (index, outcome) => results.push({ index: offset + index, outcome }),
      },
    );
    if (end.kind === 'done') break;
    // The input that hung or killed the worker is the one after the last result (one result per input).
    const index = results.length;
    results.push(end.kind === 'hang' ? { index, outcome: 'hang' } : { index, outcome: 'crash', error: end.error });
    next = index + 1;
  }
  return results;
}

function effectiveTimeout(target: FuzzTarget, timeoutMs: number): number {
  return Math.min(timeoutMs, target.timeoutMs ?? Number.POSITIVE_INFINITY);
}

/**
 * The input's time is the process's CPU time since it started (the main
 * thread idles while a worker runs), so that a machine shared with other
 * work does not turn slow inputs into hangs; an input that waits without
 * using the CPU (a promise that never settles) is caught by wall time, at
 * ten times the limit.
 */
function overLimit(wallMs: number, cpu: NodeJS.CpuUsage, timeoutMs: number): boolean {
  return (cpu.user + cpu.system) / 1000 >= timeoutMs || wallMs >= 10 * timeoutMs;
}

interface WorkerHooks {
  onCrash?: (input: Uint8Array, error: ErrorInfo, seq: number) => void;
  onCorpus?: (input: Uint8Array) => void;
  onStats?: (stats: WorkerStats) => void;
  onReplayed?: (index: number, outcome: 'ok' | 'expected-error') => void;
}

function runWorker(setup: WorkerSetup, options: { timeoutMs: number; maxOldGenerationSizeMb?: number }, hooks: WorkerHooks): Promise<WorkerEnd> {
  const control = new Int32Array(setup.control);
  const shared = new Uint8Array(setup.input);
  const currentInput = (): Uint8Array | undefined =>
    Atomics.load(control, CONTROL_RUNNING) === 1 ? shared.slice(0, Atomics.load(control, CONTROL_LENGTH)) : undefined;
  return new Promise<WorkerEnd>((resolve) => {
    const worker = new Worker(WORKER_URL, {
      workerData: setup,
      // The daemon parses on a main thread with V8's default stack (about 1 MB), not a worker's 4 MB.
      resourceLimits: { maxOldGenerationSizeMb: options.maxOldGenerationSizeMb ?? 1024, stackSizeMb: 1 },
      stdout: true,
      stderr: true,
    });
    // Targets must not print; what they print anyway is dropped rather than interleaved with the progress.
    worker.stdout.resume();
    worker.stderr.resume();
    let lastStats: WorkerStats | undefined;
    let ended = false;
    let lastSeq = -1;
    let since = performance.now();
    let cpuSince = process.cpuUsage();
    let stopSentAt: number | undefined;
    const end = (result: WorkerEnd, terminate: boolean): void => {
      if (ended) return;
      ended = true;
      clearInterval(watchdog);
      if (terminate) void worker.terminate();
      resolve(result);
    };
    const watchdog = setInterval(() => {
      const now = performance.now();
      const seq = Atomics.load(control, CONTROL_SEQ);
      const running = Atomics.load(control, CONTROL_RUNNING) === 1;
      if (seq !== lastSeq || !running) {
        lastSeq = seq;
        since = now;
        cpuSince = process.cpuUsage();
      } else if (overLimit(now - since, process.cpuUsage(cpuSince), options.timeoutMs)) {
        const input = currentInput() ?? new Uint8Array(0);
        end({ kind: 'hang', input, runs: Atomics.load(control, CONTROL_RUNS), stats: lastStats }, true);
        return;
      }
      // Past the budget (plus slack for the last batch): ask the worker to stop, then insist.
      if (setup.mode === 'fuzz' && lastStats !== undefined && lastStats.elapsedMs > setup.durationMs + 2000) {
        if (stopSentAt === undefined) {
          stopSentAt = now;
          Atomics.store(control, CONTROL_STOP, 1);
        } else if (now - stopSentAt > 5000) {
          end({ kind: 'done', stats: { ...lastStats, runs: Atomics.load(control, CONTROL_RUNS) } }, true);
        }
      }
    }, WATCHDOG_MS);
    worker.on('message', (message: WorkerMessage) => {
      switch (message.type) {
        case 'stats':
          lastStats = message.stats;
          hooks.onStats?.(message.stats);
          break;
        case 'crash':
          hooks.onCrash?.(message.input, message.error, message.seq);
          break;
        case 'corpus':
          hooks.onCorpus?.(message.input);
          break;
        case 'replayed':
          hooks.onReplayed?.(message.index, message.outcome);
          break;
        case 'done':
          lastStats = message.stats;
          end({ kind: 'done', stats: message.stats }, false);
          break;
        case 'ready':
          break;
      }
    });
    worker.on('error', (error) => {
      end({ kind: 'died', input: currentInput(), error: errorInfo(error), runs: Atomics.load(control, CONTROL_RUNS), stats: lastStats }, true);
    });
    worker.on('exit', (code) => {
      const error = { name: 'WorkerExit', message: `worker exited with code ${code}`, stack: '' };
      end({ kind: 'died', input: currentInput(), error, runs: Atomics.load(control, CONTROL_RUNS), stats: lastStats }, false);
    });
  });
}
