/**
 * What the main thread and a fuzzing worker share. The worker writes each
 * input into `input` and bumps the sequence number in `control` before it
 * runs the input, so that the main thread, which watches the sequence
 * number, can tell an input that runs too long (a hang) and read it back
 * even when the worker is stuck in a synchronous loop and can post nothing.
 */

/** Int32 slots of the control buffer. */
export const CONTROL_SEQ = 0;
export const CONTROL_LENGTH = 1;
/** 1 while an input runs, 0 between inputs. */
export const CONTROL_RUNNING = 2;
/** Set to 1 by the main thread: finish the current input, report, exit. */
export const CONTROL_STOP = 3;
/** Inputs run so far (fuzz mode; re-runs for coverage attribution not counted). */
export const CONTROL_RUNS = 4;
export const CONTROL_SLOTS = 5;

export interface WorkerSetup {
  /** URL of the module that exports the target (default export: a target or an array). */
  moduleUrl: string;
  targetName: string;
  mode: 'fuzz' | 'replay';
  seed: number;
  /** Stop after this many inputs (fuzz mode). */
  maxRuns: number;
  /** Stop after this long (fuzz mode). */
  durationMs: number;
  /** Fuzz mode: coverage guides the corpus, is only counted (blocks reached, no guidance), or is off. */
  coverage: CoverageMode;
  /** Inputs to run first: the regression fixtures and the corpus kept by the main thread. */
  corpus: Uint8Array[];
  /** Inputs not to run again (inputKey): they hung or killed an earlier worker. */
  skip: string[];
  /** Replay mode: the inputs, each run once, in order. */
  inputs: Uint8Array[];
  control: SharedArrayBuffer;
  input: SharedArrayBuffer;
}

export type CoverageMode = 'guide' | 'count' | 'off';

export interface ErrorInfo {
  name: string;
  message: string;
  code?: string;
  stack: string;
}

export interface WorkerStats {
  runs: number;
  corpus: number;
  features: number;
  crashes: number;
  coverageMs: number;
  elapsedMs: number;
  batch: number;
  slowestMs: number;
  /** Length of that slowest input. */
  slowestBytes: number;
  /** Where the time went (ms): making inputs, running them, coverage samples, re-runs to attribute new coverage. */
  timing: { make: number; run: number; sample: number; attribute: number };
}

export type WorkerMessage =
  | { type: 'ready'; seeds: number }
  | { type: 'stats'; stats: WorkerStats }
  | { type: 'crash'; seq: number; input: Uint8Array; error: ErrorInfo }
  | { type: 'corpus'; input: Uint8Array }
  | { type: 'replayed'; index: number; outcome: 'ok' | 'expected-error' }
  | { type: 'done'; stats: WorkerStats };

export function errorInfo(error: unknown): ErrorInfo {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      name: error.name,
      message: error.message,
      ...(typeof code === 'string' ? { code } : {}),
      stack: error.stack ?? `${error.name}: ${error.message}`,
    };
  }
  return { name: typeof error, message: String(error), stack: String(error) };
}

/**
 * Crashes with the same signature are the same bug: the error's name and
 * code and the first stack frame that is not the harness, without columns.
 */
export function crashSignature(error: ErrorInfo): string {
  const frames = error.stack.split('\n').filter((l) => l.trimStart().startsWith('at '));
  const own = frames.find((f) => !/\/fuzz\/(engine|targets)\/|\(node:|at node:/.test(f)) ?? frames[0] ?? '';
  const where = own.replace(/^\s*at\s+/, '').replace(/:\d+\)?$/, '').replace(/^.*\(/, '').replace(/^.*?\/(dist|node_modules)\//, '$1/');
  // A broken property names itself before the first colon (its details follow).
  const what = error.name === 'FuzzPropertyError' ? ` (${error.message.split(':')[0]})` : '';
  return `${error.name}${error.code !== undefined ? `[${error.code}]` : ''}${what} at ${where}`;
}
