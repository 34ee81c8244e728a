/**
 * `npm run bench:store`: what the SQLite store costs.
 * - CPU µs per API subscription made durable: one at a time (each its own
 *   transaction and fsync, what one HTTP client in a loop costs) and 100 in
 *   one event-loop turn (group commit, what concurrent clients cost).
 * - CPU µs per dialog snapshot upsert in batches of 1,000 (one transaction
 *   per batch, as DialogSnapshotWriter writes them): first insert, then a
 *   refresh of existing rows (new CSeq and expiry).
 * - Bytes on disk per subscription: the API subscription, its dialog
 *   snapshot, and both, after a checkpoint.
 * CPU is process.cpuUsage() (user + system) of this process, so fsync waits
 * do not count as CPU; wall time is shown beside it. Files live in a
 * temporary directory, removed at the end. Bounded: a few seconds.
 *
 * - CPU µs per NOTIFY with the engine persisting to a store and without.
 * The measurement itself is bench/workloads/store-cost.ts (also the `store`
 * workload of `npm run bench`).
 *
 * Options: --n N (API subscriptions and snapshots, default 10000).
 */
import { measureStoreCost } from './workloads/store-cost.js';

function argument(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isSafeInteger(value) || value < 1000) throw new RangeError(`${name} must be an integer ≥ 1000`);
  return value;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const N = argument('--n', 10_000);
const r = await measureStoreCost(N);
process.stdout.write(`SQLite store (libsql), ${N} subscriptions, WAL, synchronous=FULL, Node ${process.version}\n\n`);
process.stdout.write(
  `${table(
    ['operation', 'count', 'CPU µs each', 'wall µs each'],
    r.rows.map((x) => [x.what, String(x.count), x.cpuUsEach.toFixed(1), x.wallUsEach.toFixed(1)]),
  )}\n\n`,
);
process.stdout.write(
  `${table(
    ['bytes on disk per subscription', 'bytes'],
    [
      ['API subscription', String(r.bytesPerApiSubscription)],
      ['dialog snapshot', String(r.bytesPerDialogSnapshot)],
      ['both (one subscription)', String(r.bytesPerSubscription)],
    ],
  )}\n`,
);
process.stdout.write(
  `\nper establishment ${r.cpuUsPerEstablishment.toFixed(1)} µs CPU, per refresh ${r.cpuUsPerRefresh.toFixed(1)} µs CPU; ` +
    `NOTIFY ${r.notify.withoutStoreCpuUs.toFixed(1)} µs without the store, ${r.notify.withStoreCpuUs.toFixed(1)} µs with it (×${r.notify.ratio.toFixed(2)}, medians of rounds of ${r.notify.perRound})\n`,
);
