/**
 * Scavenges of a `--trace-gc-nvp` log (the SUT's, from
 * `node dist/bench/run.js w2 … --sut-node-args "--trace-gc-nvp"`): per scavenge,
 * bytes allocated, promoted and kept in new space (copied in all = both),
 * and the pause; these byte counts do not depend on the load of the machine.
 *
 *   node dist/bench/gc-nvp-summary.js LOG [--last-ms 10000] [--after TEXT] [--notifies N]
 *
 * `--last-ms`: only the scavenges in the last so many ms of the log (the
 * last W2 step, when the run had one rate); `--after`: only those after the
 * first line containing TEXT (and before one containing `end`, if any); `--notifies`: NOTIFYs in that
 * time, for the bytes copied per 1,000 NOTIFYs.
 */
import { readFileSync } from 'node:fs';
import { summaryArgs } from './support/summary-args.js';

interface Scavenge {
  at: number;
  pause: number;
  allocated: number;
  promoted: number;
  survived: number;
}

function field(line: string, name: string): number {
  const m = new RegExp(`(?:^| )${name}=([0-9.]+)`).exec(line);
  return m === null ? Number.NaN : Number(m[1]);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : sorted[Math.floor(sorted.length / 2)]!;
}

const args = summaryArgs(
  process.argv.slice(2),
  ['--last-ms', '--after', '--notifies'],
  'node dist/bench/gc-nvp-summary.js LOG [--last-ms 10000] [--after TEXT] [--notifies N]',
);
const file = args.file;
const after = args.text('--after');
let started = after === undefined;
const all: Scavenge[] = [];
for (const line of readFileSync(file, 'utf8').split('\n')) {
  if (!started) {
    started = line.includes(after!);
    continue;
  }
  if (after !== undefined && line.startsWith(after.split(':')[0]!) && line.includes('end')) break;
  if (!line.includes(' gc=s ')) continue;
  const at = /\]\s+([0-9.]+) ms: /.exec(line);
  all.push({
    at: at === null ? Number.NaN : Number(at[1]),
    pause: field(line, 'pause'),
    allocated: field(line, 'allocated'),
    promoted: field(line, 'promoted'),
    survived: field(line, 'new_space_survived'),
  });
}
const lastMs = args.number('--last-ms');
const end = all.at(-1)?.at ?? 0;
const chosen = lastMs === undefined ? all : all.filter((s) => s.at >= end - lastMs);
const mb = (b: number): string => (b / 1e6).toFixed(2);
const copied = chosen.map((s) => s.promoted + s.survived);
const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0);
console.log(
  `${chosen.length} scavenges; per scavenge (median): allocated ${mb(median(chosen.map((s) => s.allocated)))} MB, ` +
    `promoted ${mb(median(chosen.map((s) => s.promoted)))} MB, kept in new space ${mb(median(chosen.map((s) => s.survived)))} MB, ` +
    `copied in all ${mb(median(copied))} MB; pause median ${median(chosen.map((s) => s.pause)).toFixed(1)} ms, ` +
    `max ${Math.max(...chosen.map((s) => s.pause)).toFixed(1)} ms, sum ${sum(chosen.map((s) => s.pause)).toFixed(0)} ms; ` +
    `copied in all over them ${mb(sum(copied))} MB`,
);
const notifies = args.number('--notifies');
if (notifies !== undefined && notifies > 0) {
  console.log(
    `per 1,000 NOTIFYs: allocated ${mb((sum(chosen.map((s) => s.allocated)) / notifies) * 1000)} MB, copied + promoted ${mb((sum(copied) / notifies) * 1000)} MB`,
  );
}
