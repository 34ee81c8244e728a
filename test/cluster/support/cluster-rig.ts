/**
 * Cluster nodes as real processes for the takeover tests (issue 16): daemons
 * started through the CLI (DaemonProcess) on one PostgreSQL and the real
 * Kamailio, a consumer of a queue's SSE stream (merged by subscription when
 * it reads several nodes), and the small polls the tests share. Every wait is bounded.
 */
import type { RestartStats } from '../../../src/subscription/presence-engine.js';
import { api, DaemonProcess, testConfig } from '../../daemon/support/daemon-process.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after } from 'node:test';
import { Publisher } from '../../daemon/support/publisher.js';
import { createDatabase, startPostgres } from '../../support/engines.js';
import { kamailioAddress } from '../../support/peers.js';
import { SseStream, type StatusEvent } from '../../daemon/support/sse-stream.js';

export interface NodeSpec {
  nodeId: string;
  url: string;
  proxy: string;
  leaseTtl: number;
  shards: number;
  maxSubscribeRate: number;
  /** More configuration, merged on top. */
  extra?: Record<string, unknown>;
}

/** Starts one node; resolves once its HTTP API listens (it holds shards from its second lease round). */
export function startNode(spec: NodeSpec): Promise<DaemonProcess> {
  return DaemonProcess.start(
    testConfig({
      presence_outbound_proxy: spec.proxy,
      store: { type: 'postgres', url: spec.url },
      cluster: { node_id: spec.nodeId, lease_ttl: spec.leaseTtl, shards: spec.shards },
      local_agent: { enabled: false },
      max_subscribe_rate: spec.maxSubscribeRate,
      // No API rate limit: the tests create thousands as fast as the nodes take them.
      http: { host: '127.0.0.1', port: 0, sse_buffer: 100_000, rate_limit: { requests_per_second: 0, burst: 1 } },
      shutdown: { mode: 'leave', timeout_ms: 3000 },
      log_level: 'info',
      ...spec.extra,
    }),
    { timeoutMs: 30_000 },
  );
}

export interface ClusterHealth {
  restart: RestartStats;
  cluster: {
    nodeId: string;
    shardsHeld: number;
    fencedRefusals: number;
    /** unSUBSCRIBEs (Expires: 0) the node's engine sent since its start. */
    unsubscribesSent: number;
    dialogsHandedOver: number;
    subscriptionsHandedOver: number;
    subscriptionsTaken: number;
    dialogsAdopted: number;
    reconciledMade: number;
    leases: { acquired: number; lost: number; released: number };
  };
}

export async function health(node: DaemonProcess): Promise<ClusterHealth> {
  return (await api(node.httpBase, 'GET', '/healthz')).json as ClusterHealth;
}

export interface Listed {
  id: string;
  record: string;
  state: string;
  dialog?: { state: string; callId?: string };
}

/** The subscriptions each node makes (its shards'), by id. */
export async function listed(nodes: readonly DaemonProcess[]): Promise<Map<string, Listed & { node: number }>> {
  const out = new Map<string, Listed & { node: number }>();
  for (const [k, node] of nodes.entries()) {
    const got = (await api(node.httpBase, 'GET', '/v1/subscriptions')).json as { subscriptions: Listed[] };
    for (const s of got.subscriptions) out.set(s.id, { ...s, node: k });
  }
  return out;
}

/** The published version in a status event (`v<n>` note of its first tuple), or undefined. */
function versionOf(e: StatusEvent): { basic: string; version: number } | undefined {
  const tuple = e.data.presence?.tuples[0];
  const note = tuple?.notes[0]?.text;
  if (tuple?.basic === undefined || note === undefined || !/^v\d+$/.test(note)) return undefined;
  return { basic: tuple.basic, version: Number(note.slice(1)) };
}

/**
 * The consumer of a queue: one SSE stream per node given (with the status
 * relay one node is enough: it delivers every node's statuses), merged by
 * subscription: the highest published version seen wins, the
 * same (subscription, version) seen again is a duplicate.
 */
export class MergedConsumer {
  private readonly streams: SseStream[] = [];

  constructor(nodes: readonly DaemonProcess[], queue: string) {
    for (const node of nodes) this.streams.push(new SseStream(`${node.httpBase}/v1/queues/${queue}/events`, { 'last-event-id': '0' }));
  }

  /** Status events seen in all. */
  get events(): number {
    return this.streams.reduce((n, s) => n + s.events.length, 0);
  }

  /** Events that repeat a (subscription, published version) already seen, on any node. */
  duplicates(): number {
    const seen = new Set<string>();
    let n = 0;
    for (const s of this.streams) {
      for (const e of s.events) {
        const v = versionOf(e);
        if (v === undefined) continue;
        const key = `${e.data.subscriptionId}\n${v.version}`;
        if (seen.has(key)) n++;
        else seen.add(key);
      }
    }
    return n;
  }

  /** The subscriptions (id → record index) not at their record's last published state. */
  mismatches(subscriptions: ReadonlyMap<string, number>, publisher: Publisher): string[] {
    const latest = new Map<string, { basic: string; version: number }>();
    for (const s of this.streams) {
      for (const e of s.events) {
        const v = versionOf(e);
        if (v === undefined) continue;
        const known = latest.get(e.data.subscriptionId);
        if (known === undefined || v.version > known.version) latest.set(e.data.subscriptionId, v);
      }
    }
    const wrong: string[] = [];
    for (const [id, i] of subscriptions) {
      const p = publisher.last.get(i);
      const want = p === undefined ? undefined : `${p.basic}/${p.note}`;
      const got = latest.get(id);
      const seen = got === undefined ? 'nothing' : `${got.basic}/v${got.version}`;
      if (seen !== want) wrong.push(`${id} (${publisher.record(i)}): ${seen}, published ${want}`);
    }
    return wrong;
  }

  close(): void {
    for (const s of this.streams) s.close();
  }
}

/**
 * With PB2B_CLUSTER_DUMP=<directory> (when looking into a failure by hand), each node's log lines and `extra` are
 * written there as `<when>-n<k>.log` and `<when>.json`.
 */
export function dumpLogs(nodes: readonly DaemonProcess[], when: string, extra: unknown): void {
  const dir = process.env.PB2B_CLUSTER_DUMP;
  if (dir === undefined) return;
  for (const [k, n] of nodes.entries()) writeFileSync(join(dir, `${when}-n${k + 1}.log`), n.lines.map((l) => JSON.stringify(l)).join('\n'));
  writeFileSync(join(dir, `${when}.json`), JSON.stringify(extra));
}

/** Polls `probe` every `everyMs` until it is true; false at the deadline. */
export async function pollUntil(probe: () => Promise<boolean>, timeoutMs: number, everyMs = 500): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await probe()) return true;
    if (performance.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Creates one subscription per record index through the nodes' APIs in turn, `inFlight` at a time; id → index. */
export async function createSpread(nodes: readonly DaemonProcess[], publisher: Publisher, count: number, queue: string, inFlight = 16): Promise<Map<string, number>> {
  const made = new Map<string, number>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      const node = nodes[i % nodes.length]!;
      const created = await api(node.httpBase, 'POST', '/v1/subscriptions', { record: publisher.record(i), subscriber: `sip:watcher${i}@example.com`, queue });
      if (created.status !== 201) throw new Error(`POST /v1/subscriptions on node ${i % nodes.length}: ${created.status} ${JSON.stringify(created.json)}`);
      made.set((created.json as { id: string }).id, i);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return made;
}

/** What a cluster test file cleans up after its tests: run in reverse order, each best effort. */
export function cleanupsAfterAll(): Array<() => void | Promise<void>> {
  const cleanups: Array<() => void | Promise<void>> = [];
  after(async () => {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch {
        // Best effort: the next cleanup still runs.
      }
    }
  });
  return cleanups;
}

export interface ClusterSetUp {
  /** The fresh database's URL on a PostgreSQL started for the file. */
  url: string;
  /** The real Kamailio (scripts/with-peers.sh), as the nodes' proxy. */
  proxy: string;
  /** Publishes into Kamailio; every record of `records` already published once, `closed`. */
  publisher: Publisher;
}

/** PostgreSQL with a database named `database`, the Kamailio proxy, and a publisher of `records` records from `userBase`. */
export async function setUpCluster(
  cleanups: Array<() => void | Promise<void>>,
  spec: { database: string; userBase: number; label: string; records: number },
): Promise<ClusterSetUp> {
  const server = await startPostgres();
  cleanups.push(() => server.stop());
  const url = await createDatabase(server, spec.database);
  const kamailio = kamailioAddress();
  const proxy = `sip:${kamailio.host}:${kamailio.port}`;
  const publisher = await Publisher.start(proxy, spec.userBase, spec.label);
  cleanups.push(() => publisher.close());
  for (let i = 0; i < spec.records; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, spec.records - i) }, (_, k) => publisher.publish(i + k, 'closed')));
  }
  return { url, proxy, publisher };
}
