/**
 * The fuzzing loop, in a worker thread so that the main thread can stop an
 * input stuck in a synchronous loop (Worker.terminate) and report it as a
 * hang. Fuzz mode: run the seeds and the given corpus, then mutate or
 * generate inputs until the time or run budget is spent, keeping the inputs
 * that reach new blocks (coverage.ts). Replay mode: run the given inputs once.
 */
import { Buffer } from 'node:buffer';
import { parentPort, workerData } from 'node:worker_threads';
import { Corpus } from './corpus.js';
import { type CoverageSample, CoverageTracker } from './coverage.js';
import { mutateBytes, type MutationContext } from './mutator.js';
import {
  CONTROL_LENGTH,
  CONTROL_RUNNING,
  CONTROL_RUNS,
  CONTROL_SEQ,
  CONTROL_STOP,
  crashSignature,
  type ErrorInfo,
  errorInfo,
  type WorkerMessage,
  type WorkerSetup,
  type WorkerStats,
} from './protocol.js';
import { targetIn } from './registry.js';
import { inputKey } from './hash.js';
import { FuzzRng } from './rng.js';
import { type FuzzTarget, isCodedError } from './target.js';

const setup = workerData as WorkerSetup;
const port = parentPort!;
const control = new Int32Array(setup.control);
const shared = new Uint8Array(setup.input);
const send = (message: WorkerMessage): void => port.postMessage(message);

type Outcome = 'ok' | 'expected-error' | ErrorInfo;

/**
 * Refused inputs throw thousands of errors a second, and capturing their
 * stack traces is most of what refusing costs; so inputs run without stack
 * traces (Error.stackTraceLimit = 0), and an input that crashes is run once
 * more with them to report where it crashed.
 */
const STACK_FRAMES = 12;

/** Per input: the discovery rate is measured over roughly the last 20 000 inputs. */
const DISCOVERY_DECAY = 1 - 1 / 20_000;

class Runner {
  private seq = 0;
  private readonly isExpected: (error: unknown) => boolean;

  constructor(private readonly target: FuzzTarget) {
    this.isExpected = target.isExpected ?? isCodedError;
    Error.stackTraceLimit = 0;
  }

  /** Runs one input; synchronous targets stay synchronous (no promise per input). */
  execute(input: Uint8Array): Outcome | Promise<Outcome> {
    const outcome = this.attempt(input);
    if (typeof outcome === 'object' && 'then' in outcome) return outcome.then((o) => (typeof o === 'object' ? this.withStack(input, o) : o));
    return typeof outcome === 'object' ? this.withStack(input, outcome) : outcome;
  }

  private async withStack(input: Uint8Array, first: ErrorInfo): Promise<Outcome> {
    Error.stackTraceLimit = STACK_FRAMES;
    try {
      const again = await this.attempt(input);
      return typeof again === 'object' ? again : first;
    } finally {
      Error.stackTraceLimit = 0;
    }
  }

  private attempt(input: Uint8Array): Outcome | Promise<Outcome> {
    const n = Math.min(input.length, shared.length);
    shared.set(n === input.length ? input : input.subarray(0, n));
    Atomics.store(control, CONTROL_LENGTH, n);
    Atomics.store(control, CONTROL_SEQ, ++this.seq);
    Atomics.store(control, CONTROL_RUNNING, 1);
    let result: void | Promise<void>;
    try {
      result = this.target.run(input);
    } catch (error) {
      Atomics.store(control, CONTROL_RUNNING, 0);
      return this.classify(error);
    }
    if (result === undefined || typeof (result as Promise<void>).then !== 'function') {
      Atomics.store(control, CONTROL_RUNNING, 0);
      return 'ok';
    }
    return (result as Promise<void>).then(
      () => {
        Atomics.store(control, CONTROL_RUNNING, 0);
        return 'ok' as const;
      },
      (error: unknown) => {
        Atomics.store(control, CONTROL_RUNNING, 0);
        return this.classify(error);
      },
    );
  }

  private classify(error: unknown): Outcome {
    return this.isExpected(error) ? 'expected-error' : errorInfo(error);
  }
}

async function replay(runner: Runner): Promise<void> {
  for (let index = 0; index < setup.inputs.length; index++) {
    const input = setup.inputs[index]!;
    let outcome = runner.execute(input);
    if (typeof outcome === 'object' && 'then' in outcome) outcome = await outcome;
    if (typeof outcome === 'object') send({ type: 'crash', seq: index, input, error: outcome });
    else send({ type: 'replayed', index, outcome });
  }
  send({ type: 'done', stats: emptyStats() });
}

function emptyStats(): WorkerStats {
  return { runs: 0, corpus: 0, features: 0, crashes: 0, coverageMs: 0, elapsedMs: 0, batch: 0, slowestMs: 0, slowestBytes: 0, timing: { make: 0, run: 0, sample: 0, attribute: 0 } };
}

class Fuzzer {
  private readonly rng: FuzzRng;
  private readonly corpus: Corpus;
  private readonly coverage: CoverageTracker | undefined;
  private readonly mutation: MutationContext;
  private readonly started = performance.now();
  private runs = 0;
  private crashes = 0;
  private readonly reported = new Map<string, number>();
  private slowestMs = 0;
  private slowestBytes = 0;
  private generated: Uint8Array[] = [];
  // coverage batching
  private batch: Uint8Array[] = [];
  private batchTarget = 1;
  private batchStarted = 0;
  private execMsEma = 0.05;
  private takeMsEma = 1;
  /** Batches that held new coverage, and inputs sampled, both decayed (see analyzeBatch). */
  private discoveries = 0;
  private analyzed = 0;
  /** Time spent sampling coverage and re-running inputs to attribute it. */
  private coverageMs = 0;
  private readonly timing = { make: 0, run: 0, sample: 0, attribute: 0 };

  constructor(
    private readonly target: FuzzTarget,
    private readonly runner: Runner,
  ) {
    this.rng = new FuzzRng(setup.seed);
    this.corpus = new Corpus(this.rng);
    this.coverage = setup.coverage !== 'off' ? new CoverageTracker(target.coverageScope ?? /\/dist\/src\//) : undefined;
    const dictionary = (target.dictionary ?? []).map((t) => Buffer.from(t, 'utf8'));
    this.mutation = { rng: this.rng, maxBytes: target.maxInputBytes, dictionary, other: () => this.corpus.pick() };
  }

  stats(): WorkerStats {
    return {
      runs: this.runs,
      corpus: this.corpus.size,
      features: this.coverage?.features ?? 0,
      crashes: this.crashes,
      coverageMs: this.coverageMs,
      elapsedMs: performance.now() - this.started,
      batch: this.batchTarget,
      slowestMs: this.slowestMs,
      slowestBytes: this.slowestBytes,
      timing: { ...this.timing },
    };
  }

  async run(): Promise<void> {
    const seeds = this.target.seeds();
    send({ type: 'ready', seeds: seeds.length });
    const deadline = this.started + setup.durationMs;
    // The seeds, then what earlier workers kept: all kept, so one coverage sample for all of them.
    for (const seed of seeds) this.corpus.addSeed(seed);
    for (const input of setup.corpus) this.corpus.add(input);
    this.coverage?.take();
    const skip = new Set(setup.skip);
    for (const input of [...seeds, ...setup.corpus]) if (!skip.has(inputKey(input))) await this.one(input, true);
    if (this.coverage !== undefined) this.coverage.newFeatures(this.coverage.take(), true);
    let nextStats = performance.now() + 1000;
    while (this.runs < setup.maxRuns && Atomics.load(control, CONTROL_STOP) === 0) {
      const m0 = performance.now();
      const input = this.nextInput();
      this.timing.make += performance.now() - m0;
      await this.one(input, false);
      if ((this.runs & 63) === 0) {
        const now = performance.now();
        if (now >= deadline) break;
        if (now >= nextStats) {
          nextStats = now + 1000;
          send({ type: 'stats', stats: this.stats() });
        }
      }
    }
    if (this.batch.length > 0) await this.analyzeBatch();
    // Counting only: the blocks this run reached, for comparison with a guided run.
    if (setup.coverage === 'count' && this.coverage !== undefined) this.coverage.newFeatures(this.coverage.take(), true);
    this.coverage?.stop();
    send({ type: 'done', stats: this.stats() });
  }

  private nextInput(): Uint8Array {
    const target = this.target;
    if (target.generate !== undefined && this.rng.chance(0.1)) {
      if (this.generated.length === 0) this.generated = target.generate(this.rng.next32(), 64);
      const input = this.generated.pop();
      if (input !== undefined) return input;
    }
    const base = this.corpus.pick();
    if (target.mutate !== undefined && this.rng.chance(0.5)) {
      const custom = target.mutate(base, this.rng, this.mutation.other);
      if (custom !== undefined) return custom.length > target.maxInputBytes ? custom.subarray(0, target.maxInputBytes) : custom;
    }
    return mutateBytes(base, this.mutation);
  }

  /** Runs one input; `kept`: already in the corpus (its coverage is sampled by the caller). */
  private async one(input: Uint8Array, kept: boolean): Promise<void> {
    const t0 = performance.now();
    let outcome = this.runner.execute(input);
    if (typeof outcome === 'object' && 'then' in outcome) outcome = await outcome;
    const ms = performance.now() - t0;
    this.timing.run += ms;
    if (ms > this.slowestMs) {
      this.slowestMs = ms;
      this.slowestBytes = input.length;
    }
    this.runs++;
    Atomics.store(control, CONTROL_RUNS, this.runs);
    if (typeof outcome === 'object') {
      this.crash(input, outcome);
      return;
    }
    if (this.coverage === undefined || kept || setup.coverage === 'count') return;
    if (this.batch.length === 0) this.batchStarted = t0;
    this.batch.push(input);
    if (this.batch.length >= this.batchTarget) await this.analyzeBatch();
  }

  private crash(input: Uint8Array, error: ErrorInfo): void {
    this.crashes++;
    // Report the first few inputs of each kind of crash; the rest are counted.
    const signature = crashSignature(error);
    const seen = this.reported.get(signature) ?? 0;
    this.reported.set(signature, seen + 1);
    if (seen < 3) send({ type: 'crash', seq: this.runs, input: Uint8Array.from(input), error });
  }

  /**
   * One coverage sample for the whole batch. When it holds new blocks, the
   * batch is split in halves, each re-run and sampled, down to the inputs
   * that reach the new blocks: those join the corpus.
   *
   * The batch size B trades the sample's cost T, paid once per batch, against
   * the re-runs, about B inputs of cost e each time a batch holds something
   * new, which happens to a fraction p of the inputs: the cost per input,
   * T/B + p·B·e, is least at B = √(T / (p·e)). T, e and p are measured as
   * the run goes (p over roughly the last 20 000 inputs).
   */
  private async analyzeBatch(): Promise<void> {
    const coverage = this.coverage!;
    const batch = this.batch;
    this.batch = [];
    const t0 = performance.now();
    const execMs = (t0 - this.batchStarted) / batch.length;
    const sample = coverage.take();
    const fresh = coverage.newFeatures(sample, false);
    const sampled = performance.now() - t0;
    this.timing.sample += sampled;
    this.takeMsEma = 0.8 * this.takeMsEma + 0.2 * sampled;
    this.execMsEma = 0.8 * this.execMsEma + 0.2 * execMs;
    const decay = DISCOVERY_DECAY ** batch.length;
    this.discoveries = this.discoveries * decay + (fresh > 0 ? 1 : 0);
    this.analyzed = this.analyzed * decay + batch.length;
    if (fresh > 0) {
      const a0 = performance.now();
      if (batch.length === 1) this.keep(batch[0]!);
      else await this.bisect(batch);
      this.timing.attribute += performance.now() - a0;
      coverage.newFeatures(sample, true); // also what no single input reproduced (state, caches)
    }
    // A prior of one discovery in 100 inputs, soon outweighed by what is measured.
    const p = (this.discoveries + 1) / (this.analyzed + 100);
    const best = Math.sqrt(this.takeMsEma / (p * Math.max(this.execMsEma, 0.001)));
    this.batchTarget = Math.max(1, Math.min(4096, Math.round(best)));
    this.coverageMs += performance.now() - t0;
  }

  /**
   * Finds the inputs behind new coverage by halving. Called right after a
   * sample, so the counters start from zero. The first half is re-run and
   * sampled; if it holds nothing new, the second half must (inputs run
   * deterministically) and is halved in turn without a sample of its own;
   * otherwise the second half is re-run and sampled too. Halving stops at
   * four inputs, which are all kept: a sample costs as much as dozens of
   * inputs, more than a slightly larger corpus does.
   */
  private async bisect(inputs: Uint8Array[]): Promise<void> {
    const coverage = this.coverage!;
    if (inputs.length <= 4) {
      for (const input of inputs) this.keep(input);
      return;
    }
    const half = inputs.length >> 1;
    const first = inputs.slice(0, half);
    const second = inputs.slice(half);
    const sampleFirst = await this.rerun(first);
    if (coverage.newFeatures(sampleFirst, false) === 0) {
      await this.bisect(second);
      return;
    }
    if (first.length <= 4) for (const input of first) this.keep(input);
    else await this.bisect(first);
    coverage.newFeatures(sampleFirst, true);
    const sampleSecond = await this.rerun(second);
    if (coverage.newFeatures(sampleSecond, false) === 0) return;
    if (second.length <= 4) for (const input of second) this.keep(input);
    else await this.bisect(second);
    coverage.newFeatures(sampleSecond, true);
  }

  /** Runs the inputs again (their outcome is known) and samples their coverage. */
  private async rerun(inputs: Uint8Array[]): Promise<CoverageSample> {
    for (const input of inputs) {
      const outcome = this.runner.execute(input);
      if (typeof outcome === 'object' && 'then' in outcome) await outcome;
    }
    return this.coverage!.take();
  }

  private keep(input: Uint8Array): void {
    this.corpus.add(input);
    send({ type: 'corpus', input });
  }
}

const target = await targetIn(setup.moduleUrl, setup.targetName);
await target.setup?.();
const runner = new Runner(target);
if (setup.mode === 'replay') await replay(runner);
else await new Fuzzer(target, runner).run();
