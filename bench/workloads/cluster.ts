/**
 * Cluster (issue 16): the W0 and W2 figures of the daemon on this machine,
 * (a) one daemon process on SQLite, (b) two daemon processes in cluster mode
 * on one PostgreSQL (started here, fsync and synchronous_commit on), against
 * the presence-server simulator; what the cluster's lease and store traffic
 * cost per established subscription is (b) minus (a), and PostgreSQL's own CPU.
 *
 * Each configuration: N subscriptions created through the HTTP API (in (b)
 * through both nodes' APIs in turn) on one queue; one SSE client on the
 * first node reads that queue (in (b) it gets the other node's statuses
 * through the status relay). Measured from /proc (bench/proc-cpu.ts):
 * - W0: CPU µs per established subscription of each daemon process and of
 *   PostgreSQL (postmaster and backends) from the first POST until all N are
 *   active as the SSE client sees them plus 3 s (the snapshot writer), RSS
 *   growth per subscription of each daemon (no forced GC: the daemon has no
 *   hook for it), time to all active; then an idle window (lease rounds,
 *   relay polls, timers) as CPU ms per second;
 * - W2: NOTIFYs at each rate from the simulator, round robin over every
 *   dialog (both nodes'): CPU µs per NOTIFY of each process, NOTIFY-to-SSE
 *   latency p50/p99 at the client, NOTIFYs the client never saw.
 * The daemons run unpinned (two of them, PostgreSQL and the runner share the
 * two cores); the simulator is pinned to core 0 when possible. Read the load
 * average printed with the figures.
 */
import { loadavg } from 'node:os';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import postgres from 'postgres';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RateResult, SimStats } from '../load/presence-server-sim.js';
import { startPostgres, type RunningEngine } from '../../test/support/engines.js';
import { BenchDaemon } from '../harness/bench-daemon.js';
import type { ChildRpc } from '../harness/child-rpc.js';
import { startGenerator } from '../harness/generator-process.js';
import type { LatencySummary } from '../harness/latency-histogram.js';
import { LOAD_CORE, monoMs } from '../harness/rig.js';
import { SseProbe } from '../harness/sse-probe.js';
import { procCpuMs } from '../proc-cpu.js';
import { type BenchOptions, round, say, sleep } from './common.js';
import { cpuUsBetween } from '../support/cpu-usage.js';
import { nodeFlagsOf } from '../support/node-flags.js';

const QUEUE = 'bench';
const SHARDS = 1024;
const LEASE_TTL_S = 15;
/** After all N are active: the snapshot writer is at most a second behind, the relay's appends follow. */
const TAIL_MS = 3000;

export interface ProcessCpu {
  /** `node a`, `node b`, `postgres`. */
  process: string;
  cpuMs: number;
}

export interface HoldFigures {
  /** Subscriptions that became active (first `active` status at the SSE client). */
  active: number;
  /** ms from the first POST until the last first-`active` status reached the SSE client. */
  timeToAllActiveMs: number;
  /** ms the POSTs took (all answered). */
  createMs: number;
  /** CPU µs per established subscription, per process (÷ N of the whole configuration) and all together. */
  cpuUsPerSubscription: Record<string, number>;
  cpuUsPerSubscriptionTotal: number;
  /** RSS growth ÷ subscriptions the node holds (no forced GC: an upper bound that includes garbage). */
  rssBytesPerSubscription: Record<string, number>;
  /** Subscriptions (dialogs) each node holds at the end. */
  held: Record<string, number>;
  /** Idle window after the burst: CPU ms per second of each process. */
  idleCpuMsPerSecond: Record<string, number>;
  idleWindowS: number;
  loadAverage: string;
  /** (b) only: PostgreSQL's work over the same window, per established subscription (counts, load-independent). */
  postgres?: PostgresWork;
}

/** From pg_stat_database / pg_stat_user_tables, and the server log when statements are logged (see below). */
export interface PostgresWork {
  transactionsPerSubscription: number;
  /** Rows inserted / updated / deleted per subscription, per table. */
  rowsPerSubscription: Record<string, { ins: number; upd: number; del: number }>;
  /** Only with PB2B_BENCH_CLUSTER_PG_STATEMENTS=1 (log_statement=all: PostgreSQL's CPU is then not comparable). */
  statementsPerSubscription?: Record<string, number>;
  statementsPerSubscriptionTotal?: number;
}

/**
 * Diagnostics of the cluster run, from the environment (not options: they change what is measured):
 * PB2B_BENCH_CLUSTER_NODE_ARGS  node options for the two cluster daemons, space-separated
 *                               (`--cpu-prof --cpu-prof-dir=/tmp/x`: a profile per daemon at its exit);
 * PB2B_BENCH_CLUSTER_PG_STATEMENTS=1  log every statement during W0 and count them by kind.
 */
const CLUSTER_NODE_ARGS = nodeFlagsOf(process.env.PB2B_BENCH_CLUSTER_NODE_ARGS);
const COUNT_STATEMENTS = process.env.PB2B_BENCH_CLUSTER_PG_STATEMENTS === '1';

interface PgCounters {
  xact: number;
  rows: Record<string, { ins: number; upd: number; del: number }>;
  logBytes: number;
}

async function pgCounters(admin: postgres.Sql, pg: RunningEngine): Promise<PgCounters> {
  // Counters reach the shared statistics at most once a second (PostgreSQL 15): clear this backend's first.
  await admin`SELECT pg_stat_clear_snapshot()`;
  const [db] = await admin<{ xact: string }[]>`SELECT xact_commit + xact_rollback AS xact FROM pg_stat_database WHERE datname = current_database()`;
  const rows: PgCounters['rows'] = {};
  for (const r of await admin<{ relname: string; ins: string; upd: string; del: string }[]>`SELECT relname, n_tup_ins AS ins, n_tup_upd AS upd, n_tup_del AS del FROM pg_stat_user_tables`) {
    rows[r.relname] = { ins: Number(r.ins), upd: Number(r.upd), del: Number(r.del) };
  }
  let logBytes = 0;
  try {
    logBytes = statSync(join(pg.runDir, 'postgres.log')).size;
  } catch {
    // No log: statements are not counted.
  }
  return { xact: Number(db?.xact ?? 0), rows, logBytes };
}

/** Statement kinds in the log between two offsets: the first words of each logged statement. */
function statementKinds(pg: RunningEngine, from: number, to: number): Record<string, number> {
  const text = readFileSync(join(pg.runDir, 'postgres.log')).subarray(from, to).toString('utf8');
  const kinds: Record<string, number> = {};
  for (const m of text.matchAll(/LOG:\s+(?:statement|execute [^:]*):\s*(.*)/g)) {
    const words = (m[1] ?? '').trim().replace(/\s+/g, ' ').split(' ');
    let kind = words.slice(0, 4).join(' ').toLowerCase();
    const table = /\b(?:into|from|update)\s+(\w+)/i.exec(m[1] ?? '');
    if (table !== null && !kind.includes(table[1]!.toLowerCase())) kind += ` … ${table[1]!.toLowerCase()}`;
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  }
  return kinds;
}

export interface NotifyStep {
  rate: number;
  sent: number;
  achievedRate: number;
  /** CPU µs per NOTIFY sent, per process and all (daemons and PostgreSQL; not the simulator). */
  cpuUsPerNotify: Record<string, number>;
  cpuUsPerNotifyTotal: number;
  /** The simulator's own CPU per NOTIFY (sending, retransmission tracking). */
  generatorCpuUsPerNotify: number;
  /** Simulator send → SSE client read. */
  latency: LatencySummary;
  /** NOTIFYs that had to become a status (active, on a live dialog) the SSE client never saw. */
  lost: number;
  duplicated: number;
  retransmissions: number;
  timeouts: number;
  non200: number;
  /** Seconds the CPU was measured over: the sending, the last answers, the SSE client's last reads. */
  windowS: number;
  loadAverage: string;
}

export interface ConfigurationResult {
  name: string;
  nodes: number;
  store: string;
  hold: HoldFigures;
  steps: NotifyStep[];
  /** SSE gap events (the ring dropped events the client had not read). */
  sseGaps: number;
}

export interface ClusterResult {
  n: number;
  rates: number[];
  stepS: number;
  leaseTtlS: number;
  shards: number;
  single?: ConfigurationResult;
  cluster?: ConfigurationResult;
  /** (b) − (a): what the cluster adds per established subscription and per NOTIFY, all processes. */
  clusterCost?: {
    cpuUsPerSubscription: number;
    postgresCpuUsPerSubscription: number;
    /** The idle window's extra CPU (leases, relay polls) of the whole cluster, per subscription per hour. */
    idleCpuUsPerSubscriptionHour: number;
    cpuUsPerNotify: Array<{ rate: number; extraUs: number; postgresUs: number }>;
  };
  errors: Record<string, string>;
}

const load = (): string =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

interface Meter {
  names: string[];
  read(): number[];
}

function meterOf(nodes: readonly BenchDaemon[], pg: RunningEngine | undefined): Meter {
  const names = nodes.map((_, i) => `node ${String.fromCharCode(97 + i)}`);
  if (pg !== undefined) names.push('postgres');
  return {
    names,
    read: () => [...nodes.map((d) => procCpuMs(d.pid, false)), ...(pg !== undefined ? [procCpuMs(pg.pid, true)] : [])],
  };
}

function perName(names: string[], values: number[], f: (v: number) => number): Record<string, number> {
  const out: Record<string, number> = {};
  names.forEach((name, i) => {
    out[name] = f(values[i] ?? 0);
  });
  return out;
}

async function post(base: string, body: unknown): Promise<{ status: number; json: unknown }> {
  const r = await fetch(`${base}/v1/subscriptions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, json: await r.json().catch(() => undefined) };
}

async function measureConfiguration(
  name: string,
  nodes: readonly BenchDaemon[],
  pg: RunningEngine | undefined,
  sim: ChildRpc,
  simPort: number,
  o: { n: number; rates: number[]; stepS: number; idleS: number; inFlight: number },
): Promise<Omit<ConfigurationResult, 'name' | 'nodes' | 'store'>> {
  const meter = meterOf(nodes, pg);
  const n = o.n;
  const record = (i: number) => `sip:user${i}@127.0.0.1:${simPort}`;
  const admin = pg !== undefined ? postgres(pg.url, { max: 1, onnotice: () => {} }) : undefined;
  if (admin !== undefined && COUNT_STATEMENTS) {
    await admin.unsafe(`ALTER SYSTEM SET log_statement = 'all'`);
    await admin`SELECT pg_reload_conf()`;
    await sleep(500);
  }
  const pg0 = admin !== undefined && pg !== undefined ? await pgCounters(admin, pg) : undefined;
  const rss0 = nodes.map((d) => d.rssBytes());
  const cpu0 = meter.read();
  const t0 = monoMs();
  // The queue exists once a subscription names it: the first one alone, then the SSE client (from id 0).
  const first = await post(nodes[0]!.httpBase, { record: record(0), subscriber: 'sip:w0@b2b.bench', queue: QUEUE });
  if (first.status !== 201) throw new Error(`POST /v1/subscriptions: ${first.status} ${JSON.stringify(first.json)}`);
  const probe = new SseProbe(`${nodes[0]!.httpBase}/v1/queues/${QUEUE}/events`);
  try {
    let next = 1;
    const worker = async (): Promise<void> => {
      while (next < n) {
        const i = next++;
        const node = nodes[i % nodes.length]!;
        const r = await post(node.httpBase, { record: record(i), subscriber: `sip:w${i}@b2b.bench`, queue: QUEUE });
        if (r.status !== 201) throw new Error(`POST /v1/subscriptions on ${node.name}: ${r.status} ${JSON.stringify(r.json)}`);
      }
    };
    await Promise.all(Array.from({ length: o.inFlight }, worker));
    const createMs = monoMs() - t0;
    const boundMs = Math.max(60_000, n * 20);
    while (probe.firstActive.size < n && monoMs() - t0 < boundMs) await sleep(100);
    const active = probe.firstActive.size;
    let lastActive = 0;
    for (const at of probe.firstActive.values()) lastActive = Math.max(lastActive, at);
    await sleep(TAIL_MS);
    const cpu1 = meter.read();
    const rss1 = nodes.map((d) => d.rssBytes());
    let pgWork: PostgresWork | undefined;
    if (admin !== undefined && pg !== undefined && pg0 !== undefined) {
      await sleep(1100);
      const pg1 = await pgCounters(admin, pg);
      const per = (x: number) => round(x / Math.max(1, active), 3);
      const rowsPerSubscription: PostgresWork['rowsPerSubscription'] = {};
      for (const [table, c] of Object.entries(pg1.rows)) {
        const b = pg0.rows[table] ?? { ins: 0, upd: 0, del: 0 };
        rowsPerSubscription[table] = { ins: per(c.ins - b.ins), upd: per(c.upd - b.upd), del: per(c.del - b.del) };
      }
      pgWork = { transactionsPerSubscription: per(pg1.xact - pg0.xact), rowsPerSubscription };
      if (COUNT_STATEMENTS) {
        await admin.unsafe(`ALTER SYSTEM RESET log_statement`);
        await admin`SELECT pg_reload_conf()`;
        const kinds = statementKinds(pg, pg0.logBytes, pg1.logBytes);
        const statementsPerSubscription: Record<string, number> = {};
        let total = 0;
        for (const [k, v] of Object.entries(kinds).sort((x, y) => y[1] - x[1])) {
          statementsPerSubscription[k] = per(v);
          total += v;
        }
        pgWork.statementsPerSubscription = statementsPerSubscription;
        pgWork.statementsPerSubscriptionTotal = per(total);
      }
      say(`  ${name}: PostgreSQL per subscription ${JSON.stringify(pgWork)}`);
    }
    const held: Record<string, number> = {};
    for (const [i, d] of nodes.entries()) held[meter.names[i]!] = Number((await d.health()).dialogs ?? 0);
    const burst = cpu1.map((v, i) => v - (cpu0[i] ?? 0));
    const cpuUsPerSubscription = perName(meter.names, burst, (ms) => round((ms * 1000) / Math.max(1, active), 1));
    const rssBytesPerSubscription: Record<string, number> = {};
    nodes.forEach((_, i) => {
      const key = meter.names[i]!;
      rssBytesPerSubscription[key] = Math.round(((rss1[i] ?? 0) - (rss0[i] ?? 0)) / Math.max(1, held[key] ?? 0));
    });
    const holdLoad = load();
    say(`  ${name}: ${active}/${n} active ${(lastActive - t0) / 1000 > 0 ? `after ${((lastActive - t0) / 1000).toFixed(1)} s` : ''} (POSTs ${(createMs / 1000).toFixed(1)} s); CPU µs/sub ${JSON.stringify(cpuUsPerSubscription)}; load ${holdLoad}`);
    // Idle: what the processes spend with N held and nothing happening (leases, relay polls, timers).
    const idle0 = meter.read();
    const idleT0 = monoMs();
    await sleep(o.idleS * 1000);
    const idleS = (monoMs() - idleT0) / 1000;
    const idle1 = meter.read();
    const idleCpuMsPerSecond = perName(
      meter.names,
      idle1.map((v, i) => v - (idle0[i] ?? 0)),
      (ms) => round(ms / idleS, 2),
    );
    say(`  ${name}: idle ${idleS.toFixed(0)} s: CPU ms/s ${JSON.stringify(idleCpuMsPerSecond)}`);
    const hold: HoldFigures = {
      active,
      timeToAllActiveMs: active >= n ? Math.round(lastActive - t0) : -1,
      createMs: Math.round(createMs),
      cpuUsPerSubscription,
      cpuUsPerSubscriptionTotal: round((burst.reduce((a, b) => a + b, 0) * 1000) / Math.max(1, active), 1),
      rssBytesPerSubscription,
      held,
      idleCpuMsPerSecond,
      idleWindowS: round(idleS, 1),
      loadAverage: holdLoad,
      ...(pgWork !== undefined ? { postgres: pgWork } : {}),
    };
    // Warm-up, not measured: 2 s at the first rate, so that the first step does not pay for compiling the NOTIFY path.
    await sim.call('rate', { rate: o.rates[0] ?? 1000, durationMs: 2000 }, 60_000);
    await sim.call('drain', { boundMs: 30_000 }, 40_000);
    await quiet(probe, 1000, 30_000);
    const steps: NotifyStep[] = [];
    for (const rate of o.rates) {
      const s0 = await sim.call<SimStats>('stats');
      const g0 = await sim.call<NodeJS.CpuUsage>('cpu');
      probe.beginWindow(s0.nextSeq);
      const c0 = meter.read();
      const w0 = monoMs();
      const r = await sim.call<RateResult>('rate', { rate, durationMs: o.stepS * 1000 }, o.stepS * 1000 + 120_000);
      await sim.call('drain', { boundMs: 30_000 }, 40_000);
      // CPU once the SSE client has read nothing for 300 ms (the relay's appends and reads follow the 200s);
      // the lost count after a longer quiet (bounded).
      await quiet(probe, 300, 30_000);
      const c1 = meter.read();
      const windowS = (monoMs() - w0) / 1000;
      const g1 = await sim.call<NodeJS.CpuUsage>('cpu');
      await quiet(probe, 2000, 30_000);
      const s1 = await sim.call<SimStats>('stats');
      const expected = await sim.call<Uint8Array>('expected', { from: r.seqFrom, to: r.seqTo });
      const seen = probe.seenRange(r.seqFrom, r.seqTo);
      let lost = 0;
      let duplicated = 0;
      for (let k = 0; k < expected.length; k++) {
        const s = seen[k] ?? 0;
        if (s > 1) duplicated += s - 1;
        if (expected[k] === 1 && s === 0) lost++;
      }
      const used = c1.map((v, i) => v - (c0[i] ?? 0));
      const non200 = Object.entries(s1.notifyResponses).reduce((acc, [code, k]) => (code === '200' ? acc : acc + k - (s0.notifyResponses[code] ?? 0)), 0);
      const step: NotifyStep = {
        rate,
        sent: r.sent,
        achievedRate: Math.round(r.achievedRate),
        cpuUsPerNotify: perName(meter.names, used, (ms) => round((ms * 1000) / Math.max(1, r.sent), 1)),
        cpuUsPerNotifyTotal: round((used.reduce((a, b) => a + b, 0) * 1000) / Math.max(1, r.sent), 1),
        generatorCpuUsPerNotify: round(cpuUsBetween(g0, g1) / Math.max(1, r.sent), 1),
        latency: probe.latency.summary(),
        lost,
        duplicated,
        retransmissions: s1.notifyRetransmissions - s0.notifyRetransmissions,
        timeouts: s1.notifyTimeouts - s0.notifyTimeouts,
        non200,
        windowS: round(windowS, 1),
        loadAverage: load(),
      };
      steps.push(step);
      say(
        `  ${name}: ${rate} NOTIFY/s (sent ${step.achievedRate}/s): ${step.cpuUsPerNotifyTotal} µs CPU/NOTIFY ${JSON.stringify(step.cpuUsPerNotify)}; ` +
          `SSE p50 ${step.latency.p50Ms} ms p99 ${step.latency.p99Ms} ms; lost ${lost}, dup ${duplicated}, retr ${step.retransmissions}; load ${step.loadAverage}`,
      );
    }
    return { hold, steps, sseGaps: probe.gaps };
  } finally {
    probe.close();
    await admin?.end({ timeout: 5 }).catch(() => {});
  }
}

/** Waits until the SSE client has read nothing for `quietMs` (at most `boundMs`). */
async function quiet(probe: SseProbe, quietMs: number, boundMs: number): Promise<void> {
  const from = monoMs();
  while (monoMs() - Math.max(probe.lastEventAtMs, from) < quietMs && monoMs() - from < boundMs) await sleep(50);
}

function daemonConfig(extra: Record<string, unknown>): Record<string, unknown> {
  return {
    // Capacity, not pacing, is measured (as the other workloads).
    max_subscribe_rate: 0,
    local_agent: { enabled: false },
    // A ring that holds every status of an establishment burst and of a step's backlog.
    http: { sse_buffer: 20_000, rate_limit: { requests_per_second: 0, burst: 1 } },
    shutdown: { mode: 'leave', timeout_ms: 3000 },
    ...extra,
  };
}

export async function runCluster(o: BenchOptions): Promise<ClusterResult> {
  const n = o.n ?? (o.smoke ? 200 : 5000);
  const rates = o.rates ?? (o.smoke ? [200] : [1000, 2500]);
  const stepS = o.stepS ?? (o.smoke ? 2 : 10);
  const idleS = o.settleS ?? (o.smoke ? 2 : 15);
  const inFlight = 32;
  const result: ClusterResult = { n, rates, stepS, leaseTtlS: LEASE_TTL_S, shards: SHARDS, errors: {} };
  say(`cluster: N=${n}, NOTIFY rates ${rates.join(', ')}/s for ${stepS} s; (a) one node on SQLite, (b) two nodes on PostgreSQL (lease_ttl ${LEASE_TTL_S} s, ${SHARDS} shards); load ${load()}`);
  const sim = startGenerator({ core: LOAD_CORE, port: o.portBase, transports: 'udp', steadyGc: o.simSteadyGc, nodeArgs: o.simNodeArgs });
  try {
    const simPort = (await sim.call<{ port: number }>('info', {}, 20_000)).port;
    const opts = { n, rates, stepS, idleS, inFlight };
    // (a) one node, SQLite.
    const dir = mkdtempSync(join(tmpdir(), 'pb2b-bench-cluster-'));
    try {
      const node = await BenchDaemon.start({ name: 'single', config: daemonConfig({ store: { type: 'sqlite', path: join(dir, 'single.db') } }) });
      try {
        const r = await measureConfiguration('one node, SQLite', [node], undefined, sim, simPort, opts);
        result.single = { name: 'one node, SQLite', nodes: 1, store: 'sqlite', ...r };
      } finally {
        await node.stop();
      }
    } catch (e) {
      result.errors.single = e instanceof Error ? e.message : String(e);
      say(`  single node failed: ${result.errors.single}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    await sim.call('forgetAll');
    // (b) two nodes, PostgreSQL.
    let pg: RunningEngine | undefined;
    const nodes: BenchDaemon[] = [];
    try {
      pg = await startPostgres({ durable: true });
      for (const id of ['a', 'b']) {
        nodes.push(
          await BenchDaemon.start({
            name: `node ${id}`,
            nodeArgs: CLUSTER_NODE_ARGS,
            config: daemonConfig({ store: { type: 'postgres', url: pg.url }, cluster: { node_id: `bench-${id}`, lease_ttl: LEASE_TTL_S, shards: SHARDS } }),
          }),
        );
      }
      // Nodes hold shards from their second lease round: wait until every shard is held.
      const t0 = monoMs();
      let held = 0;
      while (monoMs() - t0 < 6 * LEASE_TTL_S * 1000) {
        held = 0;
        for (const d of nodes) held += Number(((await d.health()).cluster as { shardsHeld?: number } | undefined)?.shardsHeld ?? 0);
        if (held >= SHARDS) break;
        await sleep(250);
      }
      if (held < SHARDS) throw new Error(`only ${held} of ${SHARDS} shards held after ${6 * LEASE_TTL_S} s`);
      say(`  cluster: all ${SHARDS} shards held ${((monoMs() - t0) / 1000).toFixed(1)} s after the nodes started`);
      const r = await measureConfiguration('two nodes, PostgreSQL', nodes, pg, sim, simPort, opts);
      result.cluster = { name: 'two nodes, PostgreSQL', nodes: 2, store: 'postgres', ...r };
    } catch (e) {
      result.errors.cluster = e instanceof Error ? e.message : String(e);
      say(`  cluster failed: ${result.errors.cluster}`);
    } finally {
      await Promise.allSettled(nodes.map((d) => d.stop()));
      await pg?.stop();
    }
  } finally {
    await sim.stop(5000);
  }
  const a = result.single;
  const b = result.cluster;
  if (a !== undefined && b !== undefined) {
    const idleA = Object.values(a.hold.idleCpuMsPerSecond).reduce((x, y) => x + y, 0);
    const idleB = Object.values(b.hold.idleCpuMsPerSecond).reduce((x, y) => x + y, 0);
    result.clusterCost = {
      cpuUsPerSubscription: round(b.hold.cpuUsPerSubscriptionTotal - a.hold.cpuUsPerSubscriptionTotal, 1),
      postgresCpuUsPerSubscription: b.hold.cpuUsPerSubscription.postgres ?? 0,
      idleCpuUsPerSubscriptionHour: round(((idleB - idleA) * 1000 * 3600) / Math.max(1, b.hold.active), 1),
      cpuUsPerNotify: b.steps.map((s) => {
        const single = a.steps.find((x) => x.rate === s.rate);
        return { rate: s.rate, extraUs: round(s.cpuUsPerNotifyTotal - (single?.cpuUsPerNotifyTotal ?? 0), 1), postgresUs: s.cpuUsPerNotify.postgres ?? 0 };
      }),
    };
  }
  return result;
}
