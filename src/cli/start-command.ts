import { ConfigError, formatProblem } from '../config/config-error.js';
import type { DaemonConfig } from '../config/config-schema.js';
import { loadConfig } from '../config/load-config.js';
import { startDaemon } from '../daemon/daemon.js';
import { DaemonListenError } from '../daemon/listen-error.js';
import { createLogger, LOG_LEVELS, type LogLevel } from '../log/logger.js';
import { StoreError } from '../store/store-error.js';
import { systemClock } from '../util/clock.js';
import { startHelperThreadLowering } from '../util/helper-thread-lowering.js';
import { startMarkingAtTheLimit } from '../util/marking-at-the-limit.js';
import { applyHeapGrowing } from '../util/heap-growing.js';
import { gcFlagsNeedingRelaunch, gcRelaunchFlags } from '../util/late-gc-flags.js';
import { runsWithSingleThreadedGc, SINGLE_THREADED_GC_FLAG, usableCores, wantsSingleThreadedGc } from '../util/single-threaded-gc.js';
import { exitWithParent, relaunchWithNodeFlags } from './relaunch-with-node-flags.js';

export interface StartCommandOptions {
  config?: string;
  logLevel?: string;
}

/** Exit statuses of `start`. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_CONFIG = 2;

/** Store errors that mean "this file cannot be used" (exit 2), as opposed to a failure while running. */
const OPEN_FAILURES: ReadonlySet<string> = new Set(['STORE_ERR_OPEN', 'STORE_ERR_CORRUPT', 'STORE_ERR_FOREIGN', 'STORE_ERR_NEWER_SCHEMA', 'STORE_ERR_LOCKED']);

/**
 * A signal repeated within this time of the first, in a daemon run as a child of `start`
 * (relaunchWithNodeFlags), is the same request: a terminal's Ctrl-C and systemd's default
 * KillMode reach both processes, and the parent passes its copy on.
 */
const SAME_SIGNAL_MS = 500;

/** Slack on top of shutdown.timeout_ms for closing sockets and flushing logs. */
const SHUTDOWN_SLACK_MS = 3000;
/** The signals that stop the daemon with a clean shutdown. */
const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/**
 * `presence-b2b start`: validates the configuration (exit 2 with one
 * `config error: key: reason` line per problem, before anything binds), opens
 * the store (exit 2 with a `store error: <file>: <reason>` line), runs
 * the daemon (exit 1 with a `cannot start: <address> (<key>) …` line when a
 * socket cannot be bound), and on SIGTERM/SIGINT shuts it down within
 * shutdown.timeout_ms (plus a little slack) and exits 0. A second signal exits
 * at once (status 1).
 */
export async function runStart(options: StartCommandOptions): Promise<number> {
  let config: DaemonConfig;
  try {
    config = loadConfig(options.config !== undefined ? { file: options.config } : {});
    if (options.logLevel !== undefined) {
      if (!(LOG_LEVELS as readonly string[]).includes(options.logLevel)) {
        throw new ConfigError([{ path: 'log_level', message: `expected one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(options.logLevel)} (from --log-level)` }]);
      }
      config = { ...config, log_level: options.logLevel as LogLevel };
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const p of error.problems) process.stderr.write(`${formatProblem(p)}\n`);
      return EXIT_CONFIG;
    }
    throw error;
  }

  // single_threaded_gc (docs/latency-tail.md, "Single-threaded GC by default on one core"): V8 takes
  // the flag only on the command line, so `start` runs itself again with it. The configuration was
  // checked above, so that a bad file still fails here with status 2 and nothing started twice.
  const cores = usableCores();
  const singleThreadedGc = runsWithSingleThreadedGc(process.execArgv);
  if (wantsSingleThreadedGc(config.single_threaded_gc, cores) && !singleThreadedGc) {
    // With it, marking starts at the old generation's limit (src/util/marking-at-the-limit.ts): on
    // the command line, where every node honours it, unless the operator chose there already.
    // And room above the old generation after a mark-compact (src/util/heap-growing.ts), likewise.
    return relaunchWithNodeFlags([SINGLE_THREADED_GC_FLAG, ...gcRelaunchFlags(config.heap_growing_percent, true, process.execArgv)]);
  }
  // Flags that nodes after 20 ignore when set at run time go on the command line too (src/util/late-gc-flags.ts).
  const lateFlags = gcFlagsNeedingRelaunch(config.heap_growing_percent, singleThreadedGc, process.execArgv);
  if (lateFlags.length > 0) return relaunchWithNodeFlags(lateFlags);
  const relaunched = exitWithParent();

  // A SIGTERM or SIGINT while the daemon starts (from here, before its first log line) is kept and
  // acted on once it is up (a clean stop, status 0), not left to node's default action: the process
  // dying by the signal, half started.
  let signalWhileStarting: NodeJS.Signals | undefined;
  const keepSignal = (signal: NodeJS.Signals): void => {
    signalWhileStarting ??= signal;
  };
  for (const signal of STOP_SIGNALS) process.on(signal, keepSignal);
  const logger = createLogger({ level: config.log_level });
  if (singleThreadedGc && config.single_threaded_gc === false) {
    logger.warn({ single_threaded_gc: false }, 'node was started with --single-threaded-gc: single_threaded_gc false cannot undo it');
  }
  // Single-threaded, a major GC's marking starts at the old generation's limit, not early from a task.
  const markingAtTheLimit = startMarkingAtTheLimit(singleThreadedGc, process.execArgv);
  const heapGrowingPercent = applyHeapGrowing(config.heap_growing_percent, singleThreadedGc, process.execArgv);
  logger.info(
    { gc: singleThreadedGc ? 'single-threaded' : 'concurrent', single_threaded_gc: config.single_threaded_gc, marking_at_the_limit: markingAtTheLimit, heap_growing_percent: heapGrowingPercent, cores, relaunched, pid: process.pid },
    'V8 garbage collection',
  );
  // V8's helper threads give way to the main thread once the code is warm, or at once with
  // helper_threads_nice_after_s: 0 (docs/latency-tail.md, "Lowering the helper threads once the process is warm").
  const stopHelperThreadLowering = startHelperThreadLowering(config.helper_threads_nice, config.helper_threads_nice_after_s, (helperThreads, atMs) => {
    if (helperThreads.skipped === undefined) {
      logger.info(
        { nice: config.helper_threads_nice, afterMs: Math.round(atMs), threads: helperThreads.threads, lowered: helperThreads.lowered, failed: helperThreads.failed },
        'helper threads lowered',
      );
    } else logger.debug({ reason: helperThreads.skipped }, 'helper threads left at their priority');
  });
  if (config.helper_threads_nice === 0) logger.debug({ reason: 'helper_threads_nice is 0' }, 'helper threads left at their priority');
  let daemon: Awaited<ReturnType<typeof startDaemon>>;
  try {
    daemon = await startDaemon(config, { logger });
  } catch (error) {
    for (const signal of STOP_SIGNALS) process.off(signal, keepSignal);
    stopHelperThreadLowering();
    if (error instanceof ConfigError) {
      for (const p of error.problems) process.stderr.write(`${formatProblem(p)}\n`);
      return EXIT_CONFIG;
    }
    if (error instanceof StoreError && OPEN_FAILURES.has(error.code)) {
      // The store file is unusable: like a configuration error, said on one line, exit 2, nothing bound.
      process.stderr.write(`store error: ${error.message}\n`);
      logger.fatal({ err: error, code: error.code }, 'cannot start: store unusable');
      return EXIT_CONFIG;
    }
    if (error instanceof DaemonListenError) {
      // One line a person can act on (the address, the key to change); the log line without a stack.
      process.stderr.write(`cannot start: ${error.message}\n`);
      logger.fatal({ code: error.code, key: error.key, address: error.address, failure: error.failure }, 'cannot start: a socket cannot be bound');
      return EXIT_FAILURE;
    }
    process.stderr.write(`cannot start: ${error instanceof Error ? error.message : String(error)}\n`);
    logger.fatal({ err: error }, 'cannot start');
    return EXIT_FAILURE;
  }

  return new Promise<number>((resolve) => {
    let stopping = false;
    let firstSignalAt = 0;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping && relaunched && performance.now() - firstSignalAt < SAME_SIGNAL_MS) {
        logger.debug({ signal }, 'signal repeated by the parent process: already stopping');
        return;
      }
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting now');
        resolve(EXIT_FAILURE);
        return;
      }
      stopping = true;
      firstSignalAt = performance.now();
      stopHelperThreadLowering();
      logger.info({ signal }, 'signal received');
      // A real deadline for a real exit: whatever hangs, the process ends in bounded time.
      const cancel = systemClock.setTimer(() => {
        logger.error({ boundMs: config.shutdown.timeout_ms + SHUTDOWN_SLACK_MS }, 'shutdown did not finish in time');
        resolve(EXIT_FAILURE);
      }, config.shutdown.timeout_ms + SHUTDOWN_SLACK_MS);
      daemon.close().then(
        () => {
          cancel();
          resolve(EXIT_OK);
        },
        (error: unknown) => {
          cancel();
          logger.error({ err: error }, 'shutdown failed');
          resolve(EXIT_FAILURE);
        },
      );
    };
    for (const signal of STOP_SIGNALS) {
      process.on(signal, onSignal);
      process.off(signal, keepSignal);
    }
    if (signalWhileStarting !== undefined) onSignal(signalWhileStarting);
  });
}
