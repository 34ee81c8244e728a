/**
 * What /metrics counts, end to end in one in-process daemon (127.0.0.1,
 * ephemeral ports, memory store): status messages of every notifier (the
 * local presence agent's too), and HTTP PUT /v1/presentities as a publish.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { parseConfig } from '../../../src/config/index.js';
import { type DaemonHandle, startDaemon } from '../../../src/daemon/daemon.js';
import { createLogger } from '../../../src/log/logger.js';
import { parsePrometheusText } from '../../support/prometheus-text.js';

let daemon: DaemonHandle;
let base: string;

before(async () => {
  const config = parseConfig({
    sip: { listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }] },
    http: { host: '127.0.0.1', port: 0 },
    local_agent: { enabled: true, domains: ['localhost'] },
    shutdown: { mode: 'leave', timeout_ms: 500 },
    store: { type: 'memory' },
  });
  daemon = await startDaemon(config, { logger: createLogger({ level: 'silent' }) });
  assert.ok(daemon.http !== undefined);
  base = `http://127.0.0.1:${daemon.http.port}`;
});

after(async () => {
  await daemon?.close();
});

async function samples(): Promise<Map<string, number>> {
  return parsePrometheusText(await (await fetch(`${base}/metrics`)).text()).samples;
}

/** Polls /metrics (bounded) until `sample` reaches `atLeast`. */
async function until(sample: string, atLeast: number): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const value = (await samples()).get(sample) ?? 0;
    if (value >= atLeast) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.fail(`${sample} did not reach ${atLeast}`);
}

const put = (uri: string, body: unknown) =>
  fetch(`${base}/v1/presentities/${encodeURIComponent(uri)}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

test('status messages of the local presence agent are counted; PUT /v1/presentities is a publish', async () => {
  assert.equal((await samples()).get('presence_b2b_status_messages_total'), 0);
  const created = await fetch(`${base}/v1/subscriptions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ record: 'sip:alice@localhost', subscriber: 'sip:bob@localhost' }),
  });
  assert.equal(created.status, 201);
  // The agent answers at once: active, no publication yet.
  await until('presence_b2b_status_messages_total', 1);
  assert.equal((await put('sip:alice@localhost', { basic: 'open' })).status, 204);
  await until('presence_b2b_status_messages_total', 2);
  assert.equal((await put('sip:alice@example.com', { basic: 'open' })).status, 400, 'not a served domain');
  const after = await samples();
  assert.equal(after.get('presence_b2b_local_agent_publishes_total{result="accepted"}'), 1);
  assert.equal(after.get('presence_b2b_local_agent_publishes_total{result="rejected"}'), 1);
  assert.equal(after.get('presence_b2b_subscribe_requests_total'), 0, 'nothing went through the B2BUA');
});
