/**
 * What the SQLite store costs (issue 10), for `npm run bench:store` and the
 * `store` workload of `npm run bench`:
 * - CPU µs per API subscription made durable: one at a time (each its own
 *   transaction and fsync) and 100 in one event-loop turn (group commit);
 * - CPU µs per dialog snapshot upsert in batches of 1,000 (one transaction
 *   per batch, as DialogSnapshotWriter writes them): first insert (an
 *   establishment), then a refresh of existing rows (new CSeq and expiry);
 * - bytes on disk per subscription, after a checkpoint;
 * - CPU µs per NOTIFY through the real stack in memory (bench/notify-path.ts)
 *   with the engine persisting to a SQLite store and without one, rounds
 *   interleaved: the NOTIFY path only marks its dialog for the next tick.
 * CPU is process.cpuUsage() (user + system), so fsync waits do not count;
 * wall time beside it. Files live in a temporary directory, removed at the end.
 */
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'libsql';
import { SqliteSubscriptionStore } from '../../src/store/sqlite-store.js';
import { createPresenceB2BOnTransport } from '../support/in-memory-b2b.js';
import type { StoredDialog } from '../../src/store/stored-dialog.js';
import { apiSubscription, snapshot } from '../support/store-fixtures.js';

const BATCH = 1000;
const GROUP = 100;

export interface Measured {
  cpuUs: number;
  wallMs: number;
}

async function measure(run: () => Promise<void>): Promise<Measured> {
  const cpu = process.cpuUsage();
  const wall = performance.now();
  await run();
  const used = process.cpuUsage(cpu);
  return { cpuUs: used.user + used.system, wallMs: performance.now() - wall };
}

/**
 * Bytes of a store's files once its log is checkpointed, measured on a copy
 * (the store's own connection stays open until the process ends: libsql 0.5
 * frees it with its statements, at garbage collection).
 */
function checkpointedSize(file: string, into: string): number {
  const copy = join(into, 'size.db');
  rmSync(copy, { force: true });
  rmSync(`${copy}-wal`, { force: true });
  copyFileSync(file, copy);
  if (existsSync(`${file}-wal`)) copyFileSync(`${file}-wal`, `${copy}-wal`);
  const db = new Database(copy);
  db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
  db.close();
  const wal = existsSync(`${copy}-wal`) ? statSync(`${copy}-wal`).size : 0;
  return statSync(copy).size + wal;
}

export interface StoreCostRow {
  what: string;
  count: number;
  cpuUsEach: number;
  wallUsEach: number;
}

export interface StoreCostResult {
  n: number;
  rows: StoreCostRow[];
  /** API subscription (group commit) + its dialog snapshot's first insert. */
  cpuUsPerEstablishment: number;
  /** A refresh: the dialog snapshot's upsert with the new CSeq and expiry. */
  cpuUsPerRefresh: number;
  bytesPerApiSubscription: number;
  bytesPerDialogSnapshot: number;
  bytesPerSubscription: number;
  notify: { perRound: number; withoutStoreCpuUs: number; withStoreCpuUs: number; ratio: number };
}

function row(what: string, count: number, m: Measured): StoreCostRow {
  return { what, count, cpuUsEach: m.cpuUs / count, wallUsEach: (m.wallMs * 1000) / count };
}

/** Median CPU µs per NOTIFY of `rounds` rounds of `perRound`, with and without a store, interleaved. */
async function notifyCost(dir: string, perRound: number, rounds: number): Promise<StoreCostResult['notify']> {
  const store = SqliteSubscriptionStore.open(join(dir, 'notify.db'));
  const plain = await createPresenceB2BOnTransport();
  const stored = await createPresenceB2BOnTransport({ store });
  try {
    const a = await plain.establish();
    const b = await stored.establish();
    const run = (h: typeof a, count: number): number => {
      const batch = Array.from({ length: count }, h.nextNotify);
      const before = process.cpuUsage();
      for (let i = 0; i < count; i++) {
        h.deliver(batch[i]!);
        if (h.queue.poll() === undefined) throw new Error('a NOTIFY produced no status message');
      }
      const used = process.cpuUsage(before);
      return (used.user + used.system) / count;
    };
    run(a, 5000);
    run(b, 5000);
    const without: number[] = [];
    const withStore: number[] = [];
    for (let r = 0; r < rounds; r++) {
      without.push(run(a, perRound));
      withStore.push(run(b, perRound));
      // The writer's tick (once a second) runs between rounds, as it would between NOTIFYs.
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const median = (x: number[]): number => [...x].sort((p, q) => p - q)[Math.floor(x.length / 2)]!;
    const w = median(without);
    const s = median(withStore);
    return { perRound, withoutStoreCpuUs: w, withStoreCpuUs: s, ratio: s / w };
  } finally {
    await plain.close();
    await stored.close();
    await store.close();
  }
}

export async function measureStoreCost(N: number, notifyPerRound = 10_000): Promise<StoreCostResult> {
  const dir = mkdtempSync(join(tmpdir(), 'pb2b-bench-store-'));
  try {
    const rows: StoreCostRow[] = [];
    // API subscriptions, one durable create at a time (each its own transaction).
    const sequential = SqliteSubscriptionStore.open(join(dir, 'sequential.db'));
    const oneByOne = Math.min(N, 2000);
    rows.push(
      row(
        'API subscription create, one at a time',
        oneByOne,
        await measure(async () => {
          for (let i = 0; i < oneByOne; i++) await sequential.createApiSubscription(apiSubscription(i));
        }),
      ),
    );
    await sequential.close();

    // API subscriptions, GROUP per event-loop turn (group commit), then N dialog snapshots.
    const file = join(dir, 'store.db');
    const store = SqliteSubscriptionStore.open(file);
    rows.push(
      row(
        `API subscription create, ${GROUP} per turn`,
        N,
        await measure(async () => {
          for (let base = 0; base < N; base += GROUP) {
            const group: Array<Promise<void>> = [];
            for (let i = base; i < Math.min(N, base + GROUP); i++) group.push(store.createApiSubscription(apiSubscription(i)));
            await Promise.all(group);
          }
        }),
      ),
    );
    const apiOnlyBytes = checkpointedSize(file, dir);
    const batches = async (cseq: number, expiresAt: number): Promise<void> => {
      for (let base = 0; base < N; base += BATCH) {
        const upserts: StoredDialog[] = [];
        for (let i = base; i < Math.min(N, base + BATCH); i++) upserts.push(snapshot(i, cseq, expiresAt));
        await store.writeDialogs({ upserts });
      }
    };
    rows.push(row(`dialog snapshot upsert (insert), batches of ${BATCH}`, N, await measure(() => batches(1, 1_767_229_200_000))));
    rows.push(row(`dialog snapshot upsert (refresh), batches of ${BATCH}`, N, await measure(() => batches(2, 1_767_232_800_000))));
    const bothBytes = checkpointedSize(file, dir);
    const loaded = await measure(async () => {
      const contents = await store.load();
      if (contents.apiSubscriptions.length !== N || contents.dialogs.length !== N) throw new Error('load lost rows');
    });
    rows.push(row('load (per subscription + snapshot)', N, loaded));
    await store.close();
    // A restart: open (header check, quick_check, schema) and load, on the checkpointed copy.
    const restart = await measure(async () => {
      const again = SqliteSubscriptionStore.open(join(dir, 'size.db'));
      const contents = await again.load();
      if (contents.apiSubscriptions.length !== N) throw new Error('restart lost rows');
      await again.close();
    });
    rows.push(row('open with quick_check + load, per subscription', N, restart));

    const notify = await notifyCost(dir, notifyPerRound, 7);
    const find = (prefix: string): number => rows.find((r) => r.what.startsWith(prefix))?.cpuUsEach ?? Number.NaN;
    return {
      n: N,
      rows,
      cpuUsPerEstablishment: find(`API subscription create, ${GROUP}`) + find('dialog snapshot upsert (insert)'),
      cpuUsPerRefresh: find('dialog snapshot upsert (refresh)'),
      bytesPerApiSubscription: Math.round(apiOnlyBytes / N),
      bytesPerDialogSnapshot: Math.round((bothBytes - apiOnlyBytes) / N),
      bytesPerSubscription: Math.round(bothBytes / N),
      notify,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
