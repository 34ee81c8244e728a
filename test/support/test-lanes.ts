/**
 * `npm test`'s runner for the heavy test files: runs them in two lanes side by side, then the
 * files that must run alone one at a time, each file in a `node --test` of its own (as before);
 * prints each file's output whole when it ends, and at the end every file's wall time.
 *
 *   bash scripts/with-peers.sh node dist/test/support/test-lanes.js [FILE…]
 *
 * Without FILEs (`npm test`): the fast suite and every other `*.test.js` under dist/test
 * (fast-test-files.ts, the one list of the fast folders).
 *
 * Why two lanes: one after the other the heavy files took ~560 s of a ~670 s CI run, most of it
 * waiting (timers, peers, restarts), not computing, on a 2-core machine. The lanes:
 * - `peers`: every file that uses the peers of scripts/with-peers.sh (Kamailio, baresip, SIPp) or a
 *   fixed port: the peers hold state across files (the outage test stops and restarts the presence
 *   Kamailio), so these stay one after the other. A file
 *   this runner does not name goes here: a new file keeps the old one-at-a-time guarantee until
 *   someone checks it and lists it in OTHER_LANE.
 * - `other`: files checked to use no peer and no port of the peers lane (their own PostgreSQL on a
 *   free port, daemons on port 0, scripted peers, Chromium over a pipe, the bench smoke run and the
 *   short floods on their own port bases), and the fast suite.
 * - `alone`: files that use the shared Kamailio and fill the CPU or bound timings under load (the
 *   NOTIFY flood against Kamailio, the three nodes with a SIGKILL): after both lanes, with nothing
 *   beside them, as all files ran before.
 * A file fails when its `node --test` exits non-zero (a failing test, a file that does not load) or
 * runs past FILE_BOUND_MS; any failure makes this runner exit 1. Every file runs whatever others do.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { heavyTestFiles } from './fast-test-files.js';

/**
 * Files (paths under dist/test) checked to need no peer and no port a file of the peers lane uses: they run beside the peers
 * lane, in this order. First the two that fill the CPU for a while (the bench smoke run, the short
 * NOTIFY floods on ports 5110 and 5150 up): beside them the peers lane runs PEERS_FIRST, the Kamailio
 * outage, which spends 60 of its ~75 s waiting with Kamailio stopped, with bounds of 15 to 40 s.
 */
const OTHER_LANE = [
  'bench/bench-smoke.test.js',
  'bench/flood-shedding.test.js',
  'support/fast-suite.js',
  'bench/bench-tools.test.js',
  'browser/status-page.test.js',
  'cluster/daemon-postgres.test.js',
  'cluster/daemon-status-relay.test.js',
  'cluster/postgres-store.test.js',
  'cluster/shard-leases.test.js',
  'cluster/status-relay.test.js',
  'daemon/cli-helpers.test.js',
  'daemon/cli-publish.test.js',
  'daemon/config-errors.test.js',
  'daemon/doctor.test.js',
  'daemon/hep-capture.test.js',
  'daemon/http-lifecycle.test.js',
  'daemon/single-threaded-gc.test.js',
  'daemon/store-errors.test.js',
  'daemon/store-restart.test.js',
  'package/readme-package.test.js',
  // Binds 127.0.0.1:5060 and :7080 (the daemon's defaults): no file of the peers lane binds either (their SIPp
  // runs get a free port, test/support/peers.ts runSipp; their daemons and B2BUAs port 0).
  'newcomer/readme-quickstart.test.js',
];

/** The peers lane starts with these, then takes the other files in the order given. */
const PEERS_FIRST = ['interop/kamailio-outage.test.js'];

/**
 * Files that use the shared Kamailio AND fill the CPU or bound timings under load (the two that
 * flaked under load before: the NOTIFY flood against Kamailio, the three nodes with a SIGKILL):
 * after both lanes, one at a time, with nothing beside them.
 */
const ALONE = ['cluster/three-node-takeover.test.js', 'interop/kamailio-flood.test.js'];

/** A file still running after this long is stopped and fails (the longest took 74 s). */
const FILE_BOUND_MS = 600_000;

interface FileRun {
  readonly file: string;
  readonly lane: string;
  readonly ms: number;
  readonly ok: boolean;
  readonly counts: Map<string, number>;
}

/** node:test's closing counts: `# pass 3` (TAP, output not a terminal) or `ℹ pass 3` (spec). */
const COUNT_LINE = /^(?:#|ℹ) (tests|suites|pass|fail|cancelled|skipped|todo) (\d+)$/gm;

function runFile(file: string, lane: string): Promise<FileRun> {
  const started = Date.now();
  const args = ['--test', '--test-concurrency=1', ...(process.stdout.isTTY ? ['--test-reporter=spec'] : []), file];
  return new Promise((done) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
    let timedOut = false;
    const bound = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, FILE_BOUND_MS);
    child.on('close', (code, signal) => {
      clearTimeout(bound);
      const ms = Date.now() - started;
      const output = Buffer.concat(chunks).toString('utf8');
      const counts = new Map<string, number>();
      for (const [, name, value] of output.matchAll(COUNT_LINE)) counts.set(name!, (counts.get(name!) ?? 0) + Number(value));
      const ok = code === 0 && !timedOut;
      const why = timedOut ? `stopped after ${FILE_BOUND_MS / 1000} s` : signal !== null ? `signal ${signal}` : `exit ${code}`;
      // One write per file, so that the two lanes' outputs never interleave.
      process.stdout.write(`${output}${output.endsWith('\n') ? '' : '\n'}test-lanes: ${lane}: ${file} ${ok ? 'ok' : `FAILED (${why})`} in ${(ms / 1000).toFixed(1)} s\n`);
      done({ file, lane, ms, ok, counts });
    });
  });
}

async function runLane(files: readonly string[], lane: string, results: FileRun[]): Promise<void> {
  for (const file of files) results.push(await runFile(file, lane));
}

const testRoot = fileURLToPath(new URL('..', import.meta.url));
const nameOf = (file: string): string => relative(testRoot, resolve(file));
const files = process.argv.length > 2 ? process.argv.slice(2) : [join(testRoot, 'support/fast-suite.js'), ...heavyTestFiles(testRoot)];
for (const listed of [...OTHER_LANE, ...PEERS_FIRST, ...ALONE]) {
  // A renamed or deleted file must leave these lists too (its successor lands in the peers lane).
  if (!existsSync(join(testRoot, listed))) console.error(`test-lanes: warning: ${listed} is listed in test/support/test-lanes.ts but does not exist`);
}
const inListOrder = (list: readonly string[]): string[] => list.flatMap((name) => files.filter((f) => nameOf(f) === name));
const other = inListOrder(OTHER_LANE);
const alone = inListOrder(ALONE);
const rest = files.filter((f) => !OTHER_LANE.includes(nameOf(f)) && !ALONE.includes(nameOf(f)));
const peers = [...inListOrder(PEERS_FIRST), ...rest.filter((f) => !PEERS_FIRST.includes(nameOf(f)))];

const started = Date.now();
const results: FileRun[] = [];
await Promise.all([runLane(peers, 'peers', results), runLane(other, 'other', results)]);
const lanesMs = Date.now() - started;
await runLane(alone, 'alone', results);
const totalMs = Date.now() - started;

const seconds = (ms: number): string => (ms / 1000).toFixed(1).padStart(6);
const laneMs = (lane: string): number => results.filter((r) => r.lane === lane).reduce((sum, r) => sum + r.ms, 0);
const lines = [...results].sort((a, b) => b.ms - a.ms).map((r) => `${seconds(r.ms)} s  ${r.lane.padEnd(5)}  ${r.ok ? 'ok    ' : 'FAILED'}  ${nameOf(r.file)}`);
const total = (name: string): number => results.reduce((sum, r) => sum + (r.counts.get(name) ?? 0), 0);
const failed = results.filter((r) => !r.ok);
process.stdout.write(
  [
    '',
    `test-lanes: ${results.length} files in ${seconds(totalMs).trim()} s: lanes side by side ${seconds(lanesMs).trim()} s (peers ${seconds(laneMs('peers')).trim()} s, other ${seconds(laneMs('other')).trim()} s), then alone ${seconds(totalMs - lanesMs).trim()} s`,
    `test-lanes: tests ${total('tests')}, pass ${total('pass')}, fail ${total('fail')}, cancelled ${total('cancelled')}, skipped ${total('skipped')}, todo ${total('todo')}`,
    'test-lanes: wall time of each file, longest first:',
    ...lines,
    failed.length === 0 ? 'test-lanes: every file passed' : `test-lanes: ${failed.length} file(s) FAILED: ${failed.map((r) => nameOf(r.file)).join(', ')}`,
    '',
  ].join('\n'),
);
process.exitCode = failed.length === 0 ? 0 : 1;
