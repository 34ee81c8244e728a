/**
 * The HTTP API accepts only the event packages someone serves: the B2BUA's
 * (presence, reg, dialog), or only the local agent's presence when the B2BUA
 * takes no subscriptions; anything else is a 400 naming the package and the
 * packages served, and OpenAPI lists exactly those. In-process daemon on
 * 127.0.0.1, HTTP on an ephemeral port.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { parseConfig } from '../../../src/config/index.js';
import { type DaemonHandle, startDaemon } from '../../../src/daemon/daemon.js';
import { createLogger } from '../../../src/log/logger.js';

const daemons: DaemonHandle[] = [];
after(async () => {
  for (const d of daemons) await d.close();
});

async function start(extra: Record<string, unknown>): Promise<string> {
  const config = parseConfig({
    sip: { listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }] },
    http: { enabled: true, host: '127.0.0.1', port: 0 },
    store: { type: 'memory' },
    log_level: 'silent',
    shutdown: { mode: 'leave', timeout_ms: 500 },
    ...extra,
  });
  const daemon = await startDaemon(config, { logger: createLogger({ level: 'silent' }) });
  daemons.push(daemon);
  return `http://127.0.0.1:${daemon.http!.port}`;
}

const post = (base: string, body: unknown) =>
  fetch(`${base}/v1/subscriptions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

test('presence, reg and dialog are served by the B2BUA; another package is refused with the list of served ones', async () => {
  const base = await start({ local_agent: { enabled: false } });
  for (const pkg of ['presence', 'reg', 'dialog']) {
    const created = await post(base, { record: 'sip:alice@192.0.2.1', subscriber: 'sip:bob@example.com', package: pkg });
    assert.equal(created.status, 201, pkg);
    const view = (await created.json()) as { package: string; notifier: string };
    assert.deepEqual([view.package, view.notifier], [pkg, 'presence-b2b']);
  }
  const refused = await post(base, { record: 'sip:alice@192.0.2.1', subscriber: 'sip:bob@example.com', package: 'message-summary' });
  assert.equal(refused.status, 400);
  assert.deepEqual(((await refused.json()) as { error: unknown }).error, {
    code: 'HTTP_ERR_INVALID_FIELD',
    message: 'package: "message-summary" is not served here; served packages: dialog, presence, reg',
    field: 'package',
  });
  const doc = (await (await fetch(`${base}/v1/openapi.json`)).json()) as { components: { schemas: { CreateSubscription: { properties: { package: { enum: string[] } } } } } };
  assert.deepEqual(doc.components.schemas.CreateSubscription.properties.package.enum, ['dialog', 'presence', 'reg']);
});

test('with handle_presence_subscriptions off, only the local agent’s presence is served', async () => {
  const base = await start({ handle_presence_subscriptions: false, local_agent: { enabled: true, domains: ['localhost'] } });
  const refused = await post(base, { record: 'sip:alice@localhost', subscriber: 'sip:bob@localhost', package: 'reg' });
  assert.equal(refused.status, 400);
  assert.match(((await refused.json()) as { error: { message: string } }).error.message, /"reg" is not served here; served packages: presence$/);
  assert.equal((await post(base, { record: 'sip:alice@localhost', subscriber: 'sip:bob@localhost' })).status, 201);
});
