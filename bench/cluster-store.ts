/**
 * `npm run bench:cluster-store` (issue 16): what the cluster's store and
 * lease traffic cost, on a PostgreSQL 15 started here (fsync and
 * synchronous_commit on, as in production) on this machine.
 * - per API subscription made durable (100 per event-loop turn, group commit);
 * - per dialog snapshot written under the fence (batches of 1,000, as the
 *   DialogSnapshotWriter writes them; first insert, then a refresh);
 * - per lease round of a node holding a third of 1,024 shards (heartbeat,
 *   renewal), and what that is per established subscription when a node
 *   holds 100,000 (one round per lease_ttl / 3 = 5 s).
 * CPU: this process (process.cpuUsage) and the PostgreSQL server (the
 * postmaster and its backends, from /proc). On a shared machine, read the
 * load average printed with the figures.
 *
 * Options: --n N (subscriptions, default 10000), --rounds R (default 200).
 */
import { loadavg } from 'node:os';
import { PostgresLeaseTable } from '../src/cluster/postgres-lease-table.js';
import { ShardLeaseManager } from '../src/cluster/shard-lease-manager.js';
import { PostgresSubscriptionStore } from '../src/store/postgres-store.js';
import { shardOf } from '../src/store/shard-of.js';
import { ManualClock } from '../src/util/clock.js';
import { SeededRandom } from '../src/util/random.js';
import { TimerScheduler } from '../src/util/timer-scheduler.js';
import { startPostgres } from '../test/support/engines.js';
import { procCpuMs } from './proc-cpu.js';
import { apiSubscription, snapshot } from './support/store-fixtures.js';

function argument(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isSafeInteger(value) || value < 10) throw new RangeError(`${name} must be an integer ≥ 10`);
  return value;
}

const N = argument('--n', 10_000);
const ROUNDS = argument('--rounds', 200);
const SHARDS = 1024;
const SUBSCRIPTIONS_PER_NODE = 100_000;
const ROUND_INTERVAL_S = 15 / 3;

interface Cost {
  clientUs: number;
  serverUs: number;
  wallMs: number;
}

async function measure(serverPid: number, run: () => Promise<void>): Promise<Cost> {
  const cpu = process.cpuUsage();
  const server = procCpuMs(serverPid, true);
  const wall = performance.now();
  await run();
  const used = process.cpuUsage(cpu);
  return { clientUs: used.user + used.system, serverUs: (procCpuMs(serverPid, true) - server) * 1000, wallMs: performance.now() - wall };
}

function line(what: string, count: number, c: Cost): string {
  return `| ${what} | ${count} | ${(c.clientUs / count).toFixed(1)} | ${(c.serverUs / count).toFixed(1)} | ${((c.wallMs * 1000) / count).toFixed(1)} |`;
}

async function main(): Promise<void> {
  const loadBefore = loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');
  const pg = await startPostgres({ durable: true });
  const rows: string[] = [];
  try {
    const store = await PostgresSubscriptionStore.open({ url: pg.url, shards: SHARDS, exclusive: false, announce: true });
    const managers: ShardLeaseManager[] = [];
    const tables: PostgresLeaseTable[] = [];
    for (const id of ['a', 'b', 'c']) {
      const table = await PostgresLeaseTable.open(pg.url);
      tables.push(table);
      const clock = new ManualClock();
      managers.push(
        new ShardLeaseManager({
          nodeId: id,
          table,
          scheduler: new TimerScheduler(clock),
          random: new SeededRandom(id.charCodeAt(0)),
          listener: { acquired: () => {}, lost: () => {} },
        }),
      );
    }
    for (const m of managers) await m.start();
    for (let r = 0; r < 3; r++) for (const m of managers) await m.runRound();
    const a = managers[0]!;
    const held = new Set(a.heldShards());
    process.stderr.write(`cluster-store: node a holds ${held.size} of ${SHARDS} shards\n`);

    rows.push(
      line(
        'API subscription create (announced), 100 per turn',
        N,
        await measure(pg.pid, async () => {
          for (let base = 0; base < N; base += 100) {
            const group: Array<Promise<void>> = [];
            for (let i = base; i < Math.min(N, base + 100); i++) {
              group.push(store.createApiSubscription(apiSubscription(i)));
            }
            await Promise.all(group);
          }
        }),
      ),
    );
    // Node a's dialogs: those in its shards (a third of them), written under its fence.
    const mine = Array.from({ length: N }, (_, i) => i).filter((i) => held.has(shardOfSubscription(store, i)));
    const write = async (cseq: number, expiresAt: number): Promise<void> => {
      for (let base = 0; base < mine.length; base += 1000) {
        const upserts = mine.slice(base, base + 1000).map((i) => snapshot(i, cseq, expiresAt));
        const result = await store.writeFencedDialogs({ upserts }, a.fence);
        if (result.refused > 0) throw new Error(`refused ${result.refused}`);
      }
    };
    rows.push(line('fenced dialog snapshot (insert), batches of 1,000', mine.length, await measure(pg.pid, () => write(1, 1_767_229_200_000))));
    rows.push(line('fenced dialog snapshot (refresh), batches of 1,000', mine.length, await measure(pg.pid, () => write(2, 1_767_232_800_000))));
    const round = await measure(pg.pid, async () => {
      for (let r = 0; r < ROUNDS; r++) await a.runRound();
    });
    rows.push(line(`lease round (heartbeat + renewal of ${held.size} leases)`, ROUNDS, round));
    const perSubscriptionHour = (c: Cost): string => {
      const roundsPerHour = 3600 / ROUND_INTERVAL_S;
      return `${(((c.clientUs + c.serverUs) / ROUNDS) * roundsPerHour / SUBSCRIPTIONS_PER_NODE).toFixed(2)} µs of CPU per established subscription per hour (client + server), at ${SUBSCRIPTIONS_PER_NODE} subscriptions per node and a round every ${ROUND_INTERVAL_S} s`;
    };
    for (const m of managers) await m.stop();
    for (const t of tables) await t.close();
    await store.close();
    process.stdout.write(`# PostgreSQL store and leases, ${N} subscriptions, ${SHARDS} shards over 3 nodes, fsync on; load average ${loadBefore} at the start\n\n`);
    process.stdout.write('| operation | count | client CPU µs each | server CPU µs each | wall µs each |\n|---|---|---|---|---|\n');
    process.stdout.write(`${rows.join('\n')}\n\n`);
    process.stdout.write(`lease traffic: ${perSubscriptionHour(round)}\n`);
    process.stdout.write(
      `load average at the end ${loadavg()
        .map((n) => n.toFixed(2))
        .join(' ')}\n`,
    );
  } finally {
    await pg.stop();
  }
}

/** The shard of subscription i's dialog, as the store computes it. */
function shardOfSubscription(store: PostgresSubscriptionStore, i: number): number {
  return shardOf('presence', `sip:user${i}@pres.example.com`, `sip:watcher${i % 997}@example.com`, store.shards);
}

await main();
