/**
 * Two daemons on one PostgreSQL with the status relay (issue 16, §8.3), in
 * process: a status produced on node A's queue (its local presence agent
 * answers the subscription) reaches an SSE client of that queue on node B,
 * which never had the queue; the ids are the same on both nodes; a client
 * that read from A reconnects to B with `Last-Event-ID` and gets exactly what
 * follows, including an id B had not read yet when the client came.
 *
 * Until the cluster mode starts (`cluster:` is refused at start on this
 * branch), each node is a single-node daemon given a store opened
 * non-exclusive and `statusRelay: true`; with `cluster:` the daemon turns the
 * relay on itself (src/daemon/relayed-queues.ts).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { parseConfig } from '../../src/config/index.js';
import { type DaemonHandle, startDaemon } from '../../src/daemon/daemon.js';
import { createLogger } from '../../src/log/logger.js';
import { PostgresSubscriptionStore } from '../../src/store/postgres-store.js';
import { SseStream, until } from '../daemon/support/sse-stream.js';
import { createDatabase, type RunningEngine, startPostgres } from '../support/engines.js';

let server: RunningEngine | undefined;

before(async () => {
  server = await startPostgres();
});

after(async () => {
  await server?.stop();
});

function config(url: string, localAgent: boolean) {
  return parseConfig({
    sip: { listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }] },
    http: { host: '127.0.0.1', port: 0, sse_buffer: 50 },
    local_agent: localAgent ? { enabled: true, domains: ['localhost'] } : { enabled: false },
    shutdown: { mode: 'leave', timeout_ms: 500 },
    store: { type: 'postgres', url },
  });
}

async function node(url: string, localAgent: boolean): Promise<{ daemon: DaemonHandle; store: PostgresSubscriptionStore; base: string }> {
  const store = await PostgresSubscriptionStore.open({ url, exclusive: false });
  const daemon = await startDaemon(config(url, localAgent), { logger: createLogger({ level: 'silent' }), store, statusRelay: true });
  return { daemon, store, base: `http://127.0.0.1:${daemon.http!.port}` };
}

async function publish(base: string, note: string): Promise<void> {
  const res = await fetch(`${base}/v1/presentities/${encodeURIComponent('sip:alice@localhost')}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ basic: 'open', note }),
  });
  assert.equal(res.status, 204);
}

const noteOf = (e: { data: { presence?: { tuples: Array<{ notes: Array<{ text: string }> }> } } }): string | undefined => e.data.presence?.tuples[0]?.notes[0]?.text;

test('a status made on node A reaches an SSE client on node B; Last-Event-ID from A resumes on B exactly after it', async () => {
  const url = await createDatabase(server!, 'relaydaemon');
  const a = await node(url, true);
  const b = await node(url, false);
  const streams: SseStream[] = [];
  const open = (base: string, lastEventId?: number): SseStream => {
    const s = new SseStream(`${base}/v1/queues/q1/events`, lastEventId === undefined ? {} : { 'last-event-id': String(lastEventId) });
    streams.push(s);
    return s;
  };
  try {
    // B knows nothing of q1 yet: it is made on A.
    assert.equal((await fetch(`${b.base}/v1/queues/q1/events`)).status, 404);
    const created = await fetch(`${a.base}/v1/subscriptions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ record: 'sip:alice@localhost', subscriber: 'sip:bob@localhost', queue: 'q1' }),
    });
    assert.equal(created.status, 201);
    const onA = open(a.base);
    const onB = open(b.base);
    for (let i = 1; i <= 3; i++) await publish(a.base, `note ${i}`);
    await until('note 3 on B', async () => onB.events.find((e) => noteOf(e) === 'note 3'));
    await until('note 3 on A', async () => onA.events.find((e) => noteOf(e) === 'note 3'));
    // The same events, with the same ids, on both nodes; ids from 1, increasing, each the view's sequence.
    assert.deepEqual(
      onB.events.map((e) => [e.id, e.data.sequence, noteOf(e) ?? e.data.state]),
      onA.events.map((e) => [e.id, e.data.sequence, noteOf(e) ?? e.data.state]),
    );
    assert.deepEqual(
      onB.events.map((e) => e.id),
      onB.events.map((_, i) => i + 1),
    );
    assert.deepEqual(onB.gaps, []);
    const health = (await (await fetch(`${b.base}/healthz`)).json()) as { relay?: { delivered: number; badRows: number; listens: number } };
    assert.ok((health.relay?.delivered ?? 0) >= 3, JSON.stringify(health.relay));
    assert.equal(health.relay?.badRows, 0);

    // A client of A leaves after the event of note 2 and comes back on B.
    const seen = onA.events.find((e) => noteOf(e) === 'note 2')!.id;
    const resumed = open(b.base, seen);
    await until('note 3 on the resumed stream', async () => resumed.events.find((e) => noteOf(e) === 'note 3'));
    await publish(a.base, 'note 4');
    await until('note 4 on the resumed stream', async () => resumed.events.find((e) => noteOf(e) === 'note 4'));
    assert.deepEqual(
      resumed.events.map((e) => [e.id, noteOf(e)]),
      [
        [seen + 1, 'note 3'],
        [seen + 2, 'note 4'],
      ],
    );
    assert.deepEqual(resumed.gaps, []);

    // Resuming on B with the id A delivered a moment ago, before B's reader may have it: B reads the table first.
    for (let i = 5; i <= 10; i++) {
      await publish(a.base, `note ${i}`);
      const onAEvent = await until(`note ${i} on A`, async () => onA.events.find((e) => noteOf(e) === `note ${i}`));
      const quick = open(b.base, onAEvent.id - 1);
      const [first] = await quick.waitFor(1);
      assert.equal(first!.id, onAEvent.id, `note ${i}: resumed on B at A's id`);
      assert.equal(noteOf(first!), `note ${i}`);
      assert.deepEqual(quick.gaps, [], 'the id is known on B, not "unknown"');
      quick.close();
    }
  } finally {
    for (const s of streams) s.close();
    await b.daemon.close();
    await a.daemon.close();
    await b.store.close();
    await a.store.close();
  }
});
