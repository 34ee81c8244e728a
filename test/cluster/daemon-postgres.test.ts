/**
 * The daemon on a PostgreSQL store (issue 16), in process, against a
 * PostgreSQL started for this file: API subscriptions and queues survive a
 * restart with their ids as on SQLite; a second daemon on the same database
 * is refused; `cluster:` is refused at start (exit 2 in the CLI) until the
 * takeover of dialogs exists.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ConfigError, parseConfig } from '../../src/config/index.js';
import { startDaemon } from '../../src/daemon/daemon.js';
import { createLogger } from '../../src/log/logger.js';
import { StoreError } from '../../src/store/store-error.js';
import { createDatabase, type RunningEngine, startPostgres } from '../support/engines.js';

let server: RunningEngine | undefined;

before(async () => {
  server = await startPostgres();
});

after(async () => {
  await server?.stop();
});

function config(url: string, extra: Record<string, unknown> = {}) {
  return parseConfig({
    sip: { listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }] },
    http: { host: '127.0.0.1', port: 0 },
    local_agent: { enabled: true, domains: ['localhost'] },
    shutdown: { mode: 'leave', timeout_ms: 500 },
    store: { type: 'postgres', url },
    ...extra,
  });
}

const silent = () => createLogger({ level: 'silent' });

interface SubscriptionJson {
  id: string;
  record: string;
  subscriber: string;
  queue: string;
  createdAt: string;
}

test('API subscriptions survive a restart with their ids; a second daemon on the database is refused', async () => {
  const url = await createDatabase(server!, 'daemon1');
  const first = await startDaemon(config(url), { logger: silent() });
  const base = `http://127.0.0.1:${first.http!.port}`;
  const made: SubscriptionJson[] = [];
  for (const who of ['alice', 'carol']) {
    const res = await fetch(`${base}/v1/subscriptions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ record: `sip:${who}@localhost`, subscriber: 'sip:bob@localhost', queue: 'q1' }),
    });
    assert.equal(res.status, 201);
    made.push((await res.json()) as SubscriptionJson);
  }
  assert.equal((await fetch(`${base}/v1/subscriptions/${made[1]!.id}`, { method: 'DELETE' })).status, 204);
  await assert.rejects(startDaemon(config(url), { logger: silent() }), (e: unknown) => e instanceof StoreError && e.code === 'STORE_ERR_LOCKED');
  await first.close();

  const second = await startDaemon(config(url), { logger: silent() });
  const listed = (await (await fetch(`http://127.0.0.1:${second.http!.port}/v1/subscriptions`)).json()) as { subscriptions: SubscriptionJson[] };
  assert.deepEqual(
    listed.subscriptions.map((s) => [s.id, s.record, s.queue, s.createdAt]),
    [[made[0]!.id, 'sip:alice@localhost', 'q1', made[0]!.createdAt]],
  );
  await second.close();
});

test('cluster: is refused at start, naming the key, before the store is opened or anything binds', async () => {
  const url = await createDatabase(server!, 'daemon2');
  await assert.rejects(startDaemon(config(url, { cluster: { node_id: 'a' } }), { logger: silent() }), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.equal(e.problems[0]!.path, 'cluster');
    return true;
  });
});
