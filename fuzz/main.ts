/**
 * `npm run fuzz -- [--seconds N] [--runs N] [--target NAME]... [--seed N]
 * [--timeout-ms N] [--coverage guide|count|off] [--list]`
 *
 * Fuzzes every target under fuzz/targets/ (or those named), one after the
 * other, splitting --seconds between them; --runs caps the inputs of each
 * target. Prints progress lines, one summary per target, and last
 * `fuzz: <inputs> inputs, <crashes> crashes, <hangs> hangs` (crashes: distinct
 * crash signatures; hangs: inputs past the time limit). Each crashing or
 * hanging input is written under test/fixtures/fuzz-regressions/<target>/,
 * which the unit tests replay. Exit status 1 on any crash or hang, 2 on a
 * usage error.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fixtureFiles, regressionDir, repoRoot } from './engine/paths.js';
import { type CoverageMode, crashSignature } from './engine/protocol.js';
import { loadTargets } from './engine/registry.js';
import { type Finding, runTarget, type TargetStats } from './engine/runner.js';

interface Options {
  seconds: number | undefined;
  runs: number | undefined;
  targets: string[];
  seed: number;
  timeoutMs: number;
  coverage: CoverageMode;
  list: boolean;
  progressMs: number;
  regressions: string | undefined;
}

function usage(message: string): never {
  process.stderr.write(`fuzz: ${message}\n`);
  process.stderr.write(
    'usage: npm run fuzz -- [--seconds N] [--runs N] [--target NAME]... [--seed N] [--timeout-ms N] [--coverage guide|count|off] [--list]\n',
  );
  process.exit(2);
}

function parseArgs(argv: string[]): Options {
  const options: Options = {
    seconds: undefined,
    runs: undefined,
    targets: [],
    seed: (Date.now() ^ (process.pid << 16)) >>> 0,
    timeoutMs: 1000,
    coverage: 'guide',
    list: false,
    progressMs: 5000,
    regressions: undefined,
  };
  const number = (flag: string, value: string | undefined, min: number): number => {
    const n = Number(value);
    if (value === undefined || !Number.isFinite(n) || n < min) usage(`${flag} needs a number ≥ ${min}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    switch (flag) {
      case '--seconds':
        options.seconds = number(flag, value(), 0.1);
        break;
      case '--runs':
        options.runs = Math.floor(number(flag, value(), 1));
        break;
      case '--target':
        options.targets.push(...(value() ?? usage('--target needs a name')).split(','));
        break;
      case '--seed':
        options.seed = Math.floor(number(flag, value(), 0)) >>> 0;
        break;
      case '--timeout-ms':
        options.timeoutMs = number(flag, value(), 10);
        break;
      case '--progress-ms':
        options.progressMs = number(flag, value(), 100);
        break;
      case '--regressions':
        options.regressions = value() ?? usage('--regressions needs a directory');
        break;
      case '--coverage': {
        const mode = value();
        if (mode !== 'guide' && mode !== 'count' && mode !== 'off') usage('--coverage is guide, count or off');
        options.coverage = mode;
        break;
      }
      case '--no-coverage':
        options.coverage = 'off';
        break;
      case '--list':
        options.list = true;
        break;
      default:
        usage(`unknown argument ${arg}`);
    }
  }
  return options;
}

const rate = (runs: number, ms: number): string => (ms > 0 ? String(Math.round((runs * 1000) / ms)) : '-');
const secs = (ms: number): string => (ms / 1000).toFixed(1);

function summary(stats: TargetStats, crashes: number): string {
  const share = stats.elapsedMs > 0 ? Math.round((100 * stats.coverageMs) / stats.elapsedMs) : 0;
  return (
    `fuzz: ${stats.target}: ${stats.runs} inputs in ${secs(stats.elapsedMs)} s (${rate(stats.runs, stats.elapsedMs)}/s), ` +
    `corpus ${stats.corpus}, blocks ${stats.features}, coverage sampling ${share}% of the time, ` +
    `slowest input ${stats.slowestMs.toFixed(1)} ms (${stats.slowestBytes} octets), ${crashes} crashes (${stats.crashingInputs} crashing inputs), ${stats.hangs} hangs` +
    (stats.restarts > 0 ? `, ${stats.restarts} worker restarts` : '') +
    `; time: making inputs ${secs(stats.timing.make)} s, running ${secs(stats.timing.run)} s, ` +
    `coverage samples ${secs(stats.timing.sample)} s, re-runs to attribute ${secs(stats.timing.attribute)} s`
  );
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const registered = await loadTargets();
  if (options.list) {
    for (const { target } of registered) process.stdout.write(`${target.name.padEnd(20)} ${target.description}\n`);
    return;
  }
  for (const name of options.targets) {
    if (!registered.some((r) => r.target.name === name)) usage(`no target ${name} (known: ${registered.map((r) => r.target.name).join(', ')})`);
  }
  const selected = options.targets.length === 0 ? registered : registered.filter((r) => options.targets.includes(r.target.name));
  const seconds = options.seconds ?? (options.runs === undefined ? 30 : Number.POSITIVE_INFINITY);
  const perTargetMs = (seconds * 1000) / selected.length;
  const maxRuns = options.runs ?? Number.MAX_SAFE_INTEGER;
  const root = repoRoot();
  const regressions = options.regressions ?? join(root, 'test', 'fixtures', 'fuzz-regressions');
  process.stdout.write(
    `fuzz: ${selected.length} targets (${selected.map((r) => r.target.name).join(', ')}), ` +
      `${Number.isFinite(seconds) ? `${secs(perTargetMs)} s each` : 'no time limit'}` +
      `${options.runs !== undefined ? `, at most ${options.runs} inputs each` : ''}, seed ${options.seed}, ` +
      `coverage ${{ guide: 'guides the corpus', count: 'counted only', off: 'off' }[options.coverage]}, ${options.timeoutMs} ms of CPU per input\n`,
  );

  let inputs = 0;
  let hangs = 0;
  const signatures = new Set<string>();
  const failures: string[] = [];
  for (const { target, moduleUrl } of selected) {
    const dir = regressionDir(target.name, regressions);
    const known = fixtureFiles(dir).map((f) => f.bytes);
    const targetSignatures = new Set<string>();
    const write = (finding: Finding): string => {
      const hash = createHash('sha256').update(finding.input).digest('hex').slice(0, 16);
      const file = join(dir, `${finding.kind}-${hash}.${target.extension}`);
      if (!existsSync(file)) {
        mkdirSync(dir, { recursive: true });
        writeFileSync(file, finding.input);
      }
      return relative(process.cwd(), file);
    };
    let lastProgress = performance.now();
    const stats = await runTarget({
      target,
      moduleUrl,
      seed: options.seed,
      durationMs: perTargetMs,
      maxRuns,
      timeoutMs: options.timeoutMs,
      coverage: options.coverage,
      corpus: known,
      onStats: (s) => {
        const now = performance.now();
        if (now - lastProgress < options.progressMs) return;
        lastProgress = now;
        process.stdout.write(
          `fuzz: ${s.target}: ${secs(s.elapsedMs)} s, ${s.runs} inputs (${rate(s.runs, s.elapsedMs)}/s), corpus ${s.corpus}, ` +
            `blocks ${s.features}, batch ${s.batch}, crashes ${targetSignatures.size}, hangs ${s.hangs}\n`,
        );
      },
      onFinding: (finding) => {
        if (finding.kind === 'hang') {
          const file = write(finding);
          const line = `fuzz: HANG ${target.name}: ${finding.error.message}: ${file}`;
          failures.push(line);
          process.stdout.write(`${line}\n`);
          return;
        }
        const signature = crashSignature(finding.error);
        if (targetSignatures.has(signature)) return;
        targetSignatures.add(signature);
        signatures.add(`${target.name} ${signature}`);
        const file = write(finding);
        const line = `fuzz: CRASH ${target.name}: ${signature}: ${finding.error.message.split('\n')[0]?.slice(0, 200)}: ${file}`;
        failures.push(line);
        process.stdout.write(`${line}\n`);
        const stack = finding.error.stack.split('\n').slice(1, 8).join('\n');
        if (stack !== '') process.stdout.write(`${stack}\n`);
      },
    });
    inputs += stats.runs;
    hangs += stats.hangs;
    process.stdout.write(`${summary(stats, targetSignatures.size)}\n`);
  }
  if (failures.length > 0) {
    process.stdout.write(`fuzz: findings (fixtures to replay with npm run test:unit):\n${failures.map((l) => `  ${l}\n`).join('')}`);
  }
  process.stdout.write(`fuzz: ${inputs} inputs, ${signatures.size} crashes, ${hangs} hangs\n`);
  process.exitCode = signatures.size + hangs > 0 ? 1 : 0;
}

await main();
