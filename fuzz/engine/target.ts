/**
 * What a fuzz target is. One file under fuzz/targets/ per target (or per
 * small family of targets) default-exports a FuzzTarget or an array of them;
 * the registry finds the files by listing that directory, so adding a parser
 * to the fuzzer is adding one file.
 */
import { PresenceB2BError } from '../../src/util/errors.js';
import type { FuzzRng } from './rng.js';

export interface FuzzTarget {
  /** Unique, kebab-case: names the `--target` option and the regression fixture directory. */
  readonly name: string;
  /** One line for `--list` and the progress lines. */
  readonly description: string;
  /** File extension of the regression fixtures (`sip`, `xml`, `yaml`, `json`). */
  readonly extension: string;
  /** Longest input the mutator may produce. */
  readonly maxInputBytes: number;
  /**
   * A per-input CPU time limit tighter than the run's (`--timeout-ms`, 1 s), for a target whose
   * inputs are bounded and cheap, so that super-linear work shows as a hang too.
   */
  readonly timeoutMs?: number;
  /**
   * Which loaded scripts count for coverage feedback (matched against the
   * script URL). Default: our own compiled sources, `/dist/src/`.
   */
  readonly coverageScope?: RegExp;
  /** Tokens the byte mutator inserts or overwrites with (header names, XML markup, …). */
  readonly dictionary?: readonly string[];
  /** The seed corpus: valid and near-valid inputs. Called once per worker. */
  seeds(): Uint8Array[];
  /**
   * Structure-aware generation (fast-check arbitraries, grammars): `count`
   * fresh inputs from `seed`. Optional.
   */
  generate?(seed: number, count: number): Uint8Array[];
  /**
   * A mutation that knows the input's structure (JSON trees, SIP header
   * lines, …); used beside the byte mutations. Returns undefined to let the
   * byte mutator do it.
   */
  mutate?(input: Uint8Array, rng: FuzzRng, other: () => Uint8Array): Uint8Array | undefined;
  /** Called once in the worker before the first input (build an app, load a schema). */
  setup?(): Promise<void> | void;
  /**
   * Feeds one input. Must return (or resolve) or throw an expected error
   * (see isExpected); anything else, including a broken invariant
   * (FuzzPropertyError), is a crash. Must be deterministic: the input alone
   * decides what happens, so that a fixture replays the same way.
   */
  run(input: Uint8Array): void | Promise<void>;
  /** The errors a caller is promised; default: isCodedError. */
  isExpected?(error: unknown): boolean;
}

/** The documented way for our code to refuse input: a PresenceB2BError with a stable string code. */
export function isCodedError(error: unknown): boolean {
  return error instanceof PresenceB2BError && typeof error.code === 'string' && error.code.length > 0;
}

/** A target's oracle found an input that breaks a promised property (not thrown by src/). */
export class FuzzPropertyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FuzzPropertyError';
  }
}

/** Throws FuzzPropertyError unless `condition` holds. */
export function property(condition: boolean, message: string | (() => string)): asserts condition {
  if (!condition) throw new FuzzPropertyError(typeof message === 'string' ? message : message());
}

/** Throws FuzzPropertyError. */
export function fail(message: string): never {
  throw new FuzzPropertyError(message);
}

/** Runs `fn`; an expected (coded) error counts as a clean refusal: returns undefined. */
export function refusedOr<T>(fn: () => T, isExpected: (error: unknown) => boolean = isCodedError): T | undefined {
  try {
    return fn();
  } catch (error) {
    if (isExpected(error)) return undefined;
    throw error;
  }
}
