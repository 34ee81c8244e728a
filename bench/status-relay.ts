/**
 * `npm run bench:relay` (issue 16, docs/cluster.md §5): the cost of the
 * status relay as built (src/cluster/status-relay.ts), two nodes on one
 * PostgreSQL. Node A owns the subscriptions: it appends each status view
 * (about 700 bytes, a PIDF body) through its store's group transaction and
 * follows the queues for its own SSE clients; node B follows them for its
 * clients. Both nodes are in this process, each with its own store and
 * relay connections, as two daemons would have.
 *
 * Phases: latency at 1,000 messages/s over 10 queues (append call to
 * delivery on A and on B), and throughput with 20,000 offered at once.
 * CPU: this process (both nodes: client side) and PostgreSQL's processes
 * (the postmaster's children), per message appended. The server runs with
 * fsync and synchronous_commit on (PG_DURABLE).
 *
 * Options: --quick (smaller counts, for a smoke run).
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { type RelayedEvent, StatusRelay } from '../src/cluster/status-relay.js';
import { PostgresSubscriptionStore } from '../src/store/postgres-store.js';
import { systemClock } from '../src/util/clock.js';
import { TimerScheduler } from '../src/util/timer-scheduler.js';
import { startPostgres } from '../test/support/engines.js';
import { procCpuMs } from './proc-cpu.js';
import { relayedStatusView } from './support/relayed-status.js';

const QUICK = process.argv.includes('--quick');
const RATE = 1000;
const LATENCY_COUNT = QUICK ? 1000 : 10_000;
const THROUGHPUT_COUNT = QUICK ? 2000 : 20_000;
const QUEUES = 10;
const KEEP = 1000;

function view(i: number): string {
  return JSON.stringify({ sentAt: performance.now(), ...relayedStatusView(i) });
}

interface Received {
  count: number;
  latencies: number[];
  disorder: number;
  lastId: Map<string, number>;
}

function newReceived(): Received {
  return { count: 0, latencies: [], disorder: 0, lastId: new Map() };
}

function sinkFor(r: Received, queue: string): (events: readonly RelayedEvent[]) => void {
  return (events) => {
    const now = performance.now();
    for (const e of events) {
      const sentAt = e.value.sentAt;
      if (typeof sentAt === 'number') r.latencies.push(now - sentAt);
      const last = r.lastId.get(queue) ?? 0;
      if (e.id !== last + 1 && last !== 0) r.disorder++;
      r.lastId.set(queue, e.id);
      r.count++;
    }
  };
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

async function until(what: string, ok: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!ok()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function main(): Promise<void> {
  const server = await startPostgres({ durable: true });
  const scheduler = new TimerScheduler(systemClock);
  const stores: PostgresSubscriptionStore[] = [];
  const relays: StatusRelay[] = [];
  try {
    const open = async (): Promise<{ store: PostgresSubscriptionStore; relay: StatusRelay }> => {
      const store = await PostgresSubscriptionStore.open({ url: server.url, exclusive: false });
      const relay = await StatusRelay.start({ url: server.url, appender: store, keep: KEEP, scheduler });
      stores.push(store);
      relays.push(relay);
      return { store, relay };
    };
    const a = await open();
    const b = await open();
    const onA = newReceived();
    const onB = newReceived();
    const queues = Array.from({ length: QUEUES }, (_, q) => `queue-${q}`);
    for (const q of queues) {
      a.relay.follow(q, sinkFor(onA, q));
      b.relay.follow(q, sinkFor(onB, q));
    }
    await a.relay.catchUp();
    await b.relay.catchUp();
    const serverCpu = (): number => procCpuMs(server.pid, true);
    let sent = 0;

    const phase = async (label: string, count: number, rate: number | undefined) => {
      for (const r of [onA, onB]) {
        r.latencies = [];
        r.count = 0;
      }
      const cpu0 = process.cpuUsage();
      const server0 = serverCpu();
      const t0 = performance.now();
      if (rate === undefined) {
        for (let i = 0; i < count; i++) a.relay.append(queues[i % QUEUES]!, view(sent++));
      } else {
        // 1 ms ticks: each sends what the rate allows by then (timers are coarse; the average holds).
        let done = 0;
        while (done < count) {
          const due = Math.min(count, Math.floor(((performance.now() - t0) * rate) / 1000) + 1);
          for (; done < due; done++) a.relay.append(queues[done % QUEUES]!, view(sent++));
          await new Promise((r) => setTimeout(r, 1));
        }
      }
      await until(`${label}: all on both nodes`, () => onA.count >= count && onB.count >= count, 120_000).catch((error: unknown) => {
        console.error({ label, count, onA: onA.count, onB: onB.count, a: a.relay.stats, b: b.relay.stats, store: a.store.stats });
        throw error;
      });
      const seconds = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      const serverMs = serverCpu() - server0;
      const all = [...onA.latencies, ...onB.latencies];
      return {
        label,
        messages: count,
        perSecond: Math.round(count / seconds),
        p50A: quantile(onA.latencies, 0.5),
        p99A: quantile(onA.latencies, 0.99),
        p50B: quantile(onB.latencies, 0.5),
        p99B: quantile(onB.latencies, 0.99),
        max: Math.max(...all),
        clientCpuUs: ((cpu.user + cpu.system) / count).toFixed(1),
        serverCpuUs: ((serverMs * 1000) / count).toFixed(1),
      };
    };

    const load0 = loadavg();
    const latency = await phase(`latency, ${RATE}/s`, LATENCY_COUNT, RATE);
    const throughput = await phase('throughput, all at once', THROUGHPUT_COUNT, undefined);
    const load1 = loadavg();
    const fmt = (n: number): string => n.toFixed(1);
    console.log(`status relay, 2 nodes (A appends and delivers, B delivers), ${QUEUES} queues, keep ${KEEP}, PostgreSQL fsync on`);
    console.log(`load average before ${load0.map(fmt).join(' ')}, after ${load1.map(fmt).join(' ')} (2 cores)`);
    console.log('| phase | msg/s | p50 A ms | p99 A ms | p50 B ms | p99 B ms | max ms | client CPU µs/msg (both nodes) | server CPU µs/msg |');
    console.log('|---|---|---|---|---|---|---|---|---|');
    for (const r of [latency, throughput]) {
      console.log(
        `| ${r.label} | ${r.perSecond} | ${fmt(r.p50A)} | ${fmt(r.p99A)} | ${fmt(r.p50B)} | ${fmt(r.p99B)} | ${fmt(r.max)} | ${r.clientCpuUs} | ${r.serverCpuUs} |`,
      );
    }
    const stats = [a.relay.stats, b.relay.stats];
    console.log(
      `ids not consecutive per queue: A ${onA.disorder}, B ${onB.disorder}; append transactions: ${a.store.stats.transactions}; reads A ${stats[0]!.reads}, B ${stats[1]!.reads}; gaps ${stats[0]!.gaps + stats[1]!.gaps}; bad rows ${stats[0]!.badRows + stats[1]!.badRows}`,
    );
  } finally {
    for (const r of relays) await r.close();
    for (const s of stores) await s.close();
    scheduler.close();
    await server.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
