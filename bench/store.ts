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
 * Options: --n N (API subscriptions and snapshots, default 10000).
 */
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'libsql';
import { SqliteSubscriptionStore } from '../src/store/sqlite-store.js';
import type { StoredApiSubscription } from '../src/store/stored-api-subscription.js';
import { dialogIdentity, type StoredDialog } from '../src/store/stored-dialog.js';

function argument(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isSafeInteger(value) || value < 1000) throw new RangeError(`${name} must be an integer ≥ 1000`);
  return value;
}

const N = argument('--n', 10_000);
const BATCH = 1000;
const GROUP = 100;

/** Realistic sizes: 16-character ids and tags, 32-character Call-IDs, one Record-Route. */
function apiSubscription(i: number): StoredApiSubscription {
  return {
    id: `k${i.toString(36).padStart(15, '0')}`,
    record: `sip:user${i}@pres.example.com`,
    subscriber: `sip:watcher${i % 997}@example.com`,
    package: 'presence',
    queue: 'default',
    createdAt: 1_767_225_600_000 + i,
  };
}

function snapshot(i: number, cseq: number, expiresAt: number): StoredDialog {
  const record = `sip:user${i}@pres.example.com`;
  const subscriber = `sip:watcher${i % 997}@example.com`;
  return {
    key: dialogIdentity('presence', record, subscriber),
    package: 'presence',
    record,
    subscriber,
    callId: `${i.toString(36).padStart(12, '0')}a8f3c2d1e0b9f7a6c5d4`,
    localTag: `t${i.toString(36).padStart(15, '0')}`,
    remoteTag: `r${i.toString(36).padStart(15, '0')}`,
    localUri: subscriber,
    remoteUri: record,
    localCSeq: cseq,
    remoteCSeq: cseq + 1,
    routeSet: ['<sip:192.0.2.10:5060;lr;r2=on;ftag=abc>'],
    remoteTarget: `sip:user${i}@192.0.2.10:5060;transport=udp`,
    contact: '<sip:b2b@192.0.2.5:5060>',
    expiresAt,
  };
}

interface Measured {
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

function row(what: string, count: number, m: Measured): string[] {
  return [what, String(count), (m.cpuUs / count).toFixed(1), ((m.wallMs * 1000) / count).toFixed(1)];
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pb2b-bench-store-'));
  try {
    const rows: string[][] = [];

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

    const sizes = [
      ['API subscription', (apiOnlyBytes / N).toFixed(0)],
      ['dialog snapshot', ((bothBytes - apiOnlyBytes) / N).toFixed(0)],
      ['both (one subscription)', (bothBytes / N).toFixed(0)],
    ];

    process.stdout.write(`SQLite store (libsql), ${N} subscriptions, WAL, synchronous=FULL, Node ${process.version}\n\n`);
    process.stdout.write(`${table(['operation', 'count', 'CPU µs each', 'wall µs each'], rows)}\n\n`);
    process.stdout.write(`${table(['bytes on disk per subscription', 'bytes'], sizes)}\n`);
    process.stdout.write(`\nfiles after checkpoint: ${(bothBytes / 1024 / 1024).toFixed(1)} MiB for ${N} subscriptions with their dialog snapshots\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
