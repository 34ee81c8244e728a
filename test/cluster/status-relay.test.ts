/**
 * The status relay (issue 16, docs/cluster.md §5) on a real PostgreSQL:
 * three relays on one database stand for three nodes. What A and B append
 * to one queue reaches a follower on C in id order, each once, with no gap;
 * across a LISTEN connection killed by the server (pg_terminate_backend),
 * for rows whose NOTIFY never came, and for a follower that starts over
 * from an id (Last-Event-ID); bad rows and foreign NOTIFYs are skipped;
 * the table is trimmed to about `keep` rows per queue.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import postgres from 'postgres';
import { type RelayedEvent, StatusRelay } from '../../src/cluster/status-relay.js';
import { PostgresSubscriptionStore } from '../../src/store/postgres-store.js';
import { systemClock } from '../../src/util/clock.js';
import { TimerScheduler } from '../../src/util/timer-scheduler.js';
import { createDatabase, type RunningEngine, startPostgres } from '../support/engines.js';

let server: RunningEngine | undefined;
let databases = 0;

before(async () => {
  server = await startPostgres();
});

after(async () => {
  await server?.stop();
});

/** Polls `ok` every 20 ms; fails after `timeoutMs` naming `what`. */
async function until(what: string, ok: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!ok()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Node {
  store: PostgresSubscriptionStore;
  relay: StatusRelay;
}

interface Cluster {
  url: string;
  nodes: Node[];
  sql: postgres.Sql;
  scheduler: TimerScheduler;
  errors: Array<{ what: string; error: unknown }>;
  close(): Promise<void>;
}

/** `count` nodes (a store and a relay each) on a fresh database; safety poll off (60 s) unless asked. */
async function cluster(count: number, options: { keep?: number; pollIntervalMs?: number } = {}): Promise<Cluster> {
  const url = await createDatabase(server!, `relay${++databases}`);
  const scheduler = new TimerScheduler(systemClock);
  const errors: Cluster['errors'] = [];
  const nodes: Node[] = [];
  for (let i = 0; i < count; i++) {
    const store = await PostgresSubscriptionStore.open({ url, shards: 16, exclusive: false });
    const relay = await StatusRelay.start({
      url,
      appender: store,
      keep: options.keep ?? 1000,
      scheduler,
      pollIntervalMs: options.pollIntervalMs ?? 60_000,
      onError: (error, what) => errors.push({ what, error }),
    });
    nodes.push({ store, relay });
  }
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  return {
    url,
    nodes,
    sql,
    scheduler,
    errors,
    async close() {
      for (const n of nodes) await n.relay.close();
      for (const n of nodes) await n.store.close();
      await sql.end({ timeout: 1 });
      scheduler.close();
    },
  };
}

/** Collects what a relay delivers for one queue, checking order and uniqueness as it goes. */
function collector(): { events: RelayedEvent[]; sink: (events: readonly RelayedEvent[]) => void } {
  const events: RelayedEvent[] = [];
  return {
    events,
    sink: (batch) => {
      for (const e of batch) {
        const last = events[events.length - 1];
        assert.ok(last === undefined || e.id > last.id, `id ${e.id} after ${last?.id}`);
        events.push(e);
      }
    },
  };
}

function assertConsecutive(events: readonly RelayedEvent[], from: number, to: number): void {
  assert.deepEqual(
    events.map((e) => e.id),
    Array.from({ length: to - from + 1 }, (_, i) => from + i),
  );
}

describe('status relay', () => {
  test('A and B write one queue at once: C gets every message once, ids 1..n in order, each writer in its own order', async () => {
    const c = await cluster(3);
    try {
      const [a, b, reader] = c.nodes as [Node, Node, Node];
      const got = collector();
      reader.relay.follow('q1', got.sink);
      const other = collector();
      reader.relay.follow('q2', other.sink);
      // 20 turns of 25 messages from each writer, interleaved: their transactions contend for q1's row.
      const perWriter = 500;
      for (let turn = 0; turn < 20; turn++) {
        for (let k = 0; k < 25; k++) {
          const n = turn * 25 + k;
          a.relay.append('q1', JSON.stringify({ from: 'a', n }));
          b.relay.append('q1', JSON.stringify({ from: 'b', n }));
          if (k === 0) a.relay.append('q2', JSON.stringify({ from: 'a', n }));
        }
        await new Promise((r) => setImmediate(r));
      }
      await a.relay.flushed();
      await b.relay.flushed();
      await until('1,000 messages on C', () => got.events.length >= 2 * perWriter);
      await until('20 messages of q2 on C', () => other.events.length >= 20);
      assertConsecutive(got.events, 1, 2 * perWriter);
      assertConsecutive(other.events, 1, 20);
      for (const from of ['a', 'b']) {
        const ns = got.events.filter((e) => e.value.from === from).map((e) => e.value.n);
        assert.deepEqual(ns, Array.from({ length: perWriter }, (_, i) => i), `${from}'s messages once each, in the order appended`);
      }
      assert.equal(reader.relay.stats.gaps, 0);
      assert.equal(reader.relay.stats.badRows, 0);
      assert.deepEqual(c.errors, []);
      // The writers deliver to their own followers too (the same ids).
      const own = collector();
      a.relay.follow('q1', own.sink, 990);
      await until('A reads 991..1000', () => own.events.length >= 10);
      assertConsecutive(own.events, 991, 1000);
    } finally {
      await c.close();
    }
  });

  test('a LISTEN connection killed by the server: rows appended meanwhile, and rows whose NOTIFY never came, are read on reconnection', async () => {
    const c = await cluster(2);
    try {
      const [writer, reader] = c.nodes as [Node, Node];
      const got = collector();
      reader.relay.follow('q', got.sink);
      for (let i = 1; i <= 10; i++) writer.relay.append('q', JSON.stringify({ i }));
      await until('10 messages', () => got.events.length >= 10);
      assert.equal(reader.relay.stats.listens, 1);
      // Rows committed without any NOTIFY (as if it was lost): nothing tells the reader, the poll is a minute away.
      await c.sql.begin(async (tx) => {
        const [row] = await tx`UPDATE queues SET event_id_high_water = event_id_high_water + 5 WHERE name = 'q' RETURNING event_id_high_water`;
        const top = Number(row!.event_id_high_water);
        for (let id = top - 4; id <= top; id++) await tx`INSERT INTO queue_events (queue, id, payload) VALUES ('q', ${id}, ${JSON.stringify({ silent: id })})`;
      });
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(got.events.length, 10, 'nothing arrives without a NOTIFY (this is what the reconnection must repair)');
      // The server drops every relay connection. Nothing is appended: only the reconnection can bring rows 11..15.
      const killed = await c.sql`SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = 'presence-b2b status relay'`;
      assert.ok(killed.length >= 2, `relay connections terminated: ${killed.length}`);
      await until('LISTEN again', () => reader.relay.stats.listens >= 2);
      await until('the 5 silent rows, read on reconnection', () => got.events.length >= 15);
      assertConsecutive(got.events, 1, 15);
      assert.deepEqual(
        got.events.slice(10, 15).map((e) => e.value.silent),
        [11, 12, 13, 14, 15],
      );
      // And it goes on working, notified again.
      for (let i = 16; i <= 25; i++) writer.relay.append('q', JSON.stringify({ i }));
      await until('25 messages', () => got.events.length >= 25);
      assertConsecutive(got.events, 1, 25);
      assert.equal(reader.relay.stats.gaps, 0);
    } finally {
      await c.close();
    }
  });

  test('a consumer restarted from a Last-Event-ID gets exactly what follows it; one starting fresh gets the newest `keep`', async () => {
    const c = await cluster(2, { keep: 8 });
    try {
      const [writer, reader] = c.nodes as [Node, Node];
      const first = collector();
      reader.relay.follow('q', first.sink);
      for (let i = 1; i <= 6; i++) writer.relay.append('q', JSON.stringify({ i }));
      await until('6 messages', () => first.events.length >= 6);
      const lastSeen = first.events[3]!.id; // the consumer stopped after the 4th
      await reader.relay.close();
      for (let i = 7; i <= 9; i++) writer.relay.append('q', JSON.stringify({ i }));
      await writer.relay.flushed();
      const again = await StatusRelay.start({ url: c.url, appender: writer.store, keep: 8, scheduler: c.scheduler, pollIntervalMs: 60_000 });
      c.nodes.push({ store: writer.store, relay: again });
      const resumed = collector();
      again.follow('q', resumed.sink, lastSeen);
      await until('5 messages after the id', () => resumed.events.length >= 5);
      assertConsecutive(resumed.events, lastSeen + 1, 9);
      assert.deepEqual(
        resumed.events.map((e) => e.value.i),
        [5, 6, 7, 8, 9],
      );
      const fresh = collector();
      again.follow('q2', fresh.sink);
      for (let i = 1; i <= 20; i++) writer.relay.append('q2', JSON.stringify({ i }));
      await writer.relay.flushed();
      const tail = collector();
      again.follow('q2', tail.sink); // starting over on a queue with history: its newest 8
      await until('the newest 8', () => tail.events.length >= 8);
      assertConsecutive(tail.events, 13, 20);
    } finally {
      await c.close();
    }
  });

  test('rows are trimmed to about `keep` per queue by the writer; a 200 kB status goes through whole', async () => {
    const c = await cluster(1, { keep: 20 });
    try {
      const [node] = c.nodes as [Node];
      for (let turn = 0; turn < 10; turn++) {
        for (let i = 0; i < 17; i++) node.relay.append('q', JSON.stringify({ turn, i }));
        await node.relay.flushed();
      }
      const [row] = await c.sql`SELECT count(*)::int AS n, min(id)::int AS lo, max(id)::int AS hi FROM queue_events WHERE queue = 'q'`;
      assert.equal(row!.hi, 170);
      assert.ok(row!.n >= 20 && row!.n <= 20 + 5 + 17, `rows kept: ${row!.n}`);
      const big = 'x'.repeat(200_000);
      const got = collector();
      node.relay.follow('big', got.sink);
      node.relay.append('big', JSON.stringify({ body: big }));
      await until('the big one', () => got.events.length >= 1);
      assert.equal(got.events[0]!.value.body, big);
    } finally {
      await c.close();
    }
  });

  test('bad rows and foreign NOTIFYs are skipped and counted, never thrown; a sink that throws does not stop delivery', async () => {
    const c = await cluster(1);
    try {
      const [node] = c.nodes as [Node];
      const got = collector();
      let calls = 0;
      node.relay.follow('q', (events) => {
        calls++;
        if (calls === 1) throw new Error('a broken consumer');
        got.sink(events);
      });
      node.relay.append('q', JSON.stringify({ n: 1 }));
      await node.relay.flushed();
      await until('the sink called', () => calls >= 1);
      await c.sql`INSERT INTO queues (name, event_id_high_water) VALUES ('q', 4) ON CONFLICT (name) DO UPDATE SET event_id_high_water = 4`;
      await c.sql`INSERT INTO queue_events (queue, id, payload) VALUES ('q', 2, 'not json'), ('q', 3, '[1,2]'), ('q', 4, '"text"')`;
      await c.sql`SELECT pg_notify('pb2b_status', 'hello'), pg_notify('pb2b_status', '4:q'), pg_notify('pb2b_status', '99999999999999999999:q')`;
      node.relay.append('q', JSON.stringify({ n: 5 }));
      await until('message 5', () => got.events.length >= 1);
      assert.deepEqual(
        got.events.map((e) => [e.id, e.value.n]),
        [[5, 5]],
      );
      assert.equal(node.relay.stats.badRows, 3);
      assert.ok(node.relay.stats.strangeNotifications >= 2);
      assert.deepEqual(
        c.errors.map((e) => e.what),
        ['sink'],
      );
    } finally {
      await c.close();
    }
  });

  test('catchUp: an id committed elsewhere a moment ago is delivered before it resolves', async () => {
    const c = await cluster(2);
    try {
      const [writer, reader] = c.nodes as [Node, Node];
      const got = collector();
      reader.relay.follow('q', got.sink);
      for (let round = 1; round <= 20; round++) {
        writer.relay.append('q', JSON.stringify({ round }));
        await writer.relay.flushed();
        await reader.relay.catchUp();
        assert.equal(got.events[got.events.length - 1]?.id, round, `round ${round}: delivered once catchUp resolved`);
      }
    } finally {
      await c.close();
    }
  });
});
