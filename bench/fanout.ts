/**
 * `npm run bench:fanout` (issue 16): the status fan-out of a cluster, measured
 * on the two candidates, each used the way the cluster would use it:
 *
 * - **PostgreSQL LISTEN/NOTIFY**: the node that owns a subscription writes
 *   the status messages of one event-loop turn in one transaction: per queue,
 *   `UPDATE … SET last_id = last_id + n RETURNING last_id` (the row lock hands
 *   out the ids in commit order, so every listener sees each queue's ids
 *   increasing), then one `pg_notify` per message. Every node LISTENs on one
 *   connection and gets them in commit order. Run twice: with
 *   `synchronous_commit` on (each batch waits for its WAL flush) and off
 *   (`SET LOCAL`, for these transactions only).
 * - **NATS JetStream**: the owner publishes each message to
 *   `pb2b.status.<queue>` of a file-backed stream (the stream sequence is
 *   the id) with at most 1,000 acknowledgements outstanding; every node reads
 *   the stream through an ordered consumer.
 *
 * One publisher and two listeners (the other two nodes of a three-node
 * cluster), each on its own connection, in this process. A message is a
 * status view of about 700 bytes (a PIDF body). Two phases per candidate:
 * latency (2,000 messages at 400/s, from the publish call to each listener)
 * and throughput (20,000 messages offered at once, until both listeners have
 * them all). CPU: this process (client side) and the server's processes
 * (PostgreSQL: the postmaster's children; NATS: the server), from /proc.
 * The servers are started here (peers/start-*.sh) and stopped at the end.
 *
 * Options: --quick (smaller counts, for the smoke test).
 */
import { performance } from 'node:perf_hooks';
import { connect, DeliverPolicy, type JetStreamClient, type NatsConnection, type PubAck, StorageType } from 'nats';
import postgres from 'postgres';
import { loadavg } from 'node:os';
import { startNats, startPostgres } from '../test/support/engines.js';
import { procCpuMs } from './proc-cpu.js';
import { relayedStatusView } from './support/relayed-status.js';

const QUICK = process.argv.includes('--quick');
const ONLY = process.argv.includes('--nats') ? 'nats' : process.argv.includes('--postgres') ? 'postgres' : 'both';
const LATENCY_COUNT = QUICK ? 300 : 2000;
const LATENCY_RATE = 400;
const THROUGHPUT_COUNT = QUICK ? 2000 : 20_000;
const QUEUES = 10;
const LISTENERS = 2;

function message(i: number, queue: string): Record<string, unknown> {
  return {
    queue,
    sentAt: performance.now(),
    status: relayedStatusView(i),
  };
}

interface Received {
  count: number;
  latencies: number[];
  /** Ids seen out of order within a queue (must stay 0). */
  disorder: number;
  lastId: Map<string, number>;
  done?: () => void;
  target: number;
}

function newReceived(): Received {
  return { count: 0, latencies: [], disorder: 0, lastId: new Map(), target: Number.POSITIVE_INFINITY };
}

function receive(r: Received, queue: string, id: number, sentAt: number): void {
  r.latencies.push(performance.now() - sentAt);
  const last = r.lastId.get(queue) ?? 0;
  if (id <= last) r.disorder++;
  r.lastId.set(queue, id);
  r.count++;
  if (r.count >= r.target) r.done?.();
}

function waitFor(r: Received, target: number, timeoutMs: number): Promise<void> {
  r.target = target;
  if (r.count >= target) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`listener got ${r.count} of ${target} within ${timeoutMs} ms`)), timeoutMs);
    r.done = () => {
      clearTimeout(timer);
      resolve();
    };
  });
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

interface Publisher {
  publish(queue: string, payload: Record<string, unknown>): void;
  /** Resolves once everything published so far is acknowledged. */
  drain(): Promise<void>;
}

interface Candidate {
  name: string;
  publisher: Publisher;
  listeners: Received[];
  serverCpuMs(): number;
  close(): Promise<void>;
}

interface PhaseResult {
  p50: number;
  p99: number;
  max: number;
  perSecond: number;
  clientCpuUsPerMessage: number;
  serverCpuUsPerMessage: number;
  disorder: number;
}

async function phase(c: Candidate, count: number, ratePerSecond: number | undefined): Promise<PhaseResult> {
  for (const r of c.listeners) {
    r.latencies = [];
    r.count = 0;
  }
  const cpu0 = process.cpuUsage();
  const server0 = c.serverCpuMs();
  const t0 = performance.now();
  const queues = Array.from({ length: QUEUES }, (_, q) => `queue-${q}`);
  if (ratePerSecond === undefined) {
    // Offered at once, 500 per event-loop turn (as a burst of NOTIFYs arrives).
    for (let i = 0; i < count; i++) {
      c.publisher.publish(queues[i % QUEUES]!, message(i, queues[i % QUEUES]!));
      if (i % 500 === 499) await new Promise((resolve) => setImmediate(resolve));
    }
  } else {
    const interval = 1000 / ratePerSecond;
    for (let i = 0; i < count; i++) {
      const due = t0 + i * interval;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      c.publisher.publish(queues[i % QUEUES]!, message(i, queues[i % QUEUES]!));
    }
  }
  console.error(`fanout: offered ${count}`);
  await c.publisher.drain();
  console.error(`fanout: drained; listeners at ${c.listeners.map((r) => r.count).join(', ')}`);
  const ticker = setInterval(() => console.error(`fanout: listeners at ${c.listeners.map((r) => r.count).join(', ')}`), 5000);
  await Promise.all(c.listeners.map((r) => waitFor(r, count, 120_000))).finally(() => clearInterval(ticker));
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const latencies = c.listeners.flatMap((r) => r.latencies);
  return {
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    max: quantile(latencies, 1),
    perSecond: (count * 1000) / elapsed,
    clientCpuUsPerMessage: (cpu.user + cpu.system) / count,
    serverCpuUsPerMessage: ((c.serverCpuMs() - server0) * 1000) / count,
    disorder: c.listeners.reduce((n, r) => n + r.disorder, 0),
  };
}

async function postgresCandidate(url: string, pid: number, synchronousCommit: boolean): Promise<Candidate> {
  const channel = 'pb2b_fanout';
  const writer = postgres(url, { max: 1, onnotice: () => {} });
  await writer.unsafe('CREATE TABLE IF NOT EXISTS fanout_queues (name TEXT PRIMARY KEY, last_id BIGINT NOT NULL)');
  await writer.unsafe('TRUNCATE fanout_queues');
  for (let q = 0; q < QUEUES; q++) await writer`INSERT INTO fanout_queues (name, last_id) VALUES (${`queue-${q}`}, 0)`;
  const listeners: Received[] = [];
  const listenerClients: Array<ReturnType<typeof postgres>> = [];
  for (let l = 0; l < LISTENERS; l++) {
    const r = newReceived();
    const client = postgres(url, { max: 1, onnotice: () => {} });
    await client.listen(channel, (payload) => {
      const m = JSON.parse(payload) as { id: number; queue: string; sentAt: number };
      receive(r, m.queue, m.id, m.sentAt);
    });
    listeners.push(r);
    listenerClients.push(client);
  }
  // Group commit: what arrives while a transaction is in flight goes into the next one.
  let pending: Array<{ queue: string; payload: Record<string, unknown> }> = [];
  let inflight: Promise<void> | undefined;
  let idle: Array<() => void> = [];
  const flush = async (): Promise<void> => {
    while (pending.length > 0) {
      const batch = pending;
      pending = [];
      const byQueue = new Map<string, Array<Record<string, unknown>>>();
      for (const m of batch) {
        let list = byQueue.get(m.queue);
        if (list === undefined) {
          list = [];
          byQueue.set(m.queue, list);
        }
        list.push(m.payload);
      }
      await writer.begin(async (tx) => {
        if (!synchronousCommit) await tx.unsafe('SET LOCAL synchronous_commit = off');
        const payloads: string[] = [];
        for (const [queue, list] of byQueue) {
          const [row] = await tx<Array<{ last_id: string }>>`UPDATE fanout_queues SET last_id = last_id + ${list.length} WHERE name = ${queue} RETURNING last_id`;
          let id = Number(row!.last_id) - list.length;
          for (const p of list) payloads.push(JSON.stringify({ ...p, id: ++id }));
        }
        await tx`SELECT pg_notify(${channel}, x) FROM unnest(${payloads}::text[]) WITH ORDINALITY AS t(x, n) ORDER BY n`;
      });
    }
    inflight = undefined;
    for (const resolve of idle) resolve();
    idle = [];
  };
  return {
    name: `PostgreSQL LISTEN/NOTIFY, synchronous_commit ${synchronousCommit ? 'on' : 'off'}`,
    publisher: {
      publish(queue, payload) {
        pending.push({ queue, payload });
        inflight ??= new Promise<void>((resolve) => setImmediate(resolve)).then(flush);
      },
      drain() {
        return inflight === undefined ? Promise.resolve() : new Promise((resolve) => idle.push(resolve));
      },
    },
    listeners,
    serverCpuMs: () => procCpuMs(pid, true),
    async close() {
      for (const client of listenerClients) await client.end({ timeout: 5 });
      await writer.end({ timeout: 5 });
    },
  };
}

async function natsCandidate(url: string, pid: number, round: number): Promise<Candidate> {
  const stream = `PB2B_FANOUT_${round}`;
  const subjectRoot = `pb2b.r${round}.status`;
  const publisherConnection = await connect({ servers: url });
  const jsm = await publisherConnection.jetstreamManager();
  // One message kept per queue and subscription would be enough for state; the ring of SSE replay is the bound here.
  await jsm.streams.add({ name: stream, subjects: [`${subjectRoot}.>`], storage: StorageType.File, max_msgs_per_subject: 1000 });
  const js: JetStreamClient = publisherConnection.jetstream();
  const listeners: Received[] = [];
  const connections: NatsConnection[] = [publisherConnection];
  const loops: Array<Promise<void>> = [];
  const iterators: Array<{ stop(): void }> = [];
  for (let l = 0; l < LISTENERS; l++) {
    const r = newReceived();
    const nc = await connect({ servers: url });
    connections.push(nc);
    const consumer = await nc.jetstream().consumers.get(stream, { filterSubjects: `${subjectRoot}.>`, deliver_policy: DeliverPolicy.New });
    const messages = await consumer.consume();
    iterators.push(messages);
    loops.push(
      (async () => {
        for await (const m of messages) {
          const payload = m.json<{ queue: string; sentAt: number }>();
          receive(r, payload.queue, m.seq, payload.sentAt);
        }
      })(),
    );
    listeners.push(r);
  }
  const outstanding = new Set<Promise<PubAck>>();
  const encoder = new TextEncoder();
  let waiting: Array<() => void> = [];
  const publishOne = (queue: string, payload: Record<string, unknown>): void => {
    const ack = js.publish(`${subjectRoot}.${queue}`, encoder.encode(JSON.stringify(payload)));
    outstanding.add(ack);
    void ack.finally(() => {
      outstanding.delete(ack);
      if (outstanding.size === 0) {
        for (const resolve of waiting) resolve();
        waiting = [];
      }
    });
  };
  const backlog: Array<[string, Record<string, unknown>]> = [];
  let pumping: Promise<void> | undefined;
  const pump = async (): Promise<void> => {
    // Starts in a later turn: everything offered in this one is in the backlog by then.
    await new Promise((resolve) => setImmediate(resolve));
    while (backlog.length > 0) {
      while (outstanding.size >= 1000) await Promise.race(outstanding);
      const [queue, payload] = backlog.shift()!;
      publishOne(queue, payload);
    }
    pumping = undefined;
  };
  return {
    name: 'NATS JetStream (file store, ordered consumers)',
    publisher: {
      publish(queue, payload) {
        backlog.push([queue, payload]);
        pumping ??= pump();
      },
      async drain() {
        while (pumping !== undefined) await pumping;
        if (outstanding.size > 0) await new Promise<void>((resolve) => waiting.push(resolve));
      },
    },
    listeners,
    serverCpuMs: () => procCpuMs(pid, false),
    async close() {
      for (const messages of iterators) messages.stop();
      await Promise.allSettled(loops);
      for (const nc of connections) await nc.close();
    },
  };
}

function row(name: string, latency: PhaseResult, throughput: PhaseResult): string {
  const f = (n: number, d = 2): string => n.toFixed(d);
  return `| ${name} | ${f(latency.p50)} | ${f(latency.p99)} | ${f(latency.max, 1)} | ${Math.round(throughput.perSecond)} | ${f(throughput.clientCpuUsPerMessage, 0)} | ${f(throughput.serverCpuUsPerMessage, 0)} | ${latency.disorder + throughput.disorder} |`;
}

function machineLoad(): string {
  return loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');
}

async function main(): Promise<void> {
  const load = machineLoad();
  console.log(`# status fan-out: 1 publisher, ${LISTENERS} listeners, ${QUEUES} queues; load average ${load}`);
  const lines: string[] = [];
  const pg = ONLY === 'nats' ? undefined : await startPostgres({ durable: true });
  if (pg !== undefined) try {
    for (const sync of [false, true]) {
      const c = await postgresCandidate(pg.url, pg.pid, sync);
      console.error(`fanout: ${c.name}`);
      try {
        const latency = await phase(c, LATENCY_COUNT, LATENCY_RATE);
        const throughput = await phase(c, THROUGHPUT_COUNT, undefined);
        lines.push(row(c.name, latency, throughput));
      } finally {
        await c.close();
      }
    }
  } finally {
    await pg.stop();
  }
  const nats = ONLY === 'postgres' ? undefined : await startNats();
  if (nats !== undefined) try {
    const c = await natsCandidate(nats.url, nats.pid, 1);
    console.error(`fanout: ${c.name}`);
    try {
      const latency = await phase(c, LATENCY_COUNT, LATENCY_RATE);
      const throughput = await phase(c, THROUGHPUT_COUNT, undefined);
      lines.push(row(c.name, latency, throughput));
    } finally {
      await c.close();
    }
  } finally {
    await nats.stop();
  }
  console.log(`| candidate | latency p50 ms | p99 ms | max ms | throughput msg/s (to both listeners) | client CPU µs/msg | server CPU µs/msg | ids out of order |`);
  console.log('|---|---|---|---|---|---|---|---|');
  for (const line of lines) console.log(line);
  console.log(`latency: ${LATENCY_COUNT} messages at ${LATENCY_RATE}/s; throughput: ${THROUGHPUT_COUNT} offered at once; load average at the end ${machineLoad()}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
