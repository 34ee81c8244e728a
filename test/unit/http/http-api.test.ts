import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import {
  ApiError,
  type CreateSubscriptionRequest,
  type PresentityDocument,
  type StatusView,
  type SubscriptionApi,
  type SubscriptionView,
} from '../../../src/http/api-types.js';
import { EventRing } from '../../../src/http/event-ring.js';
import { createHttpApi, type HttpApi } from '../../../src/http/http-server.js';
import { ManualClock } from '../../../src/util/clock.js';
import { TimerScheduler } from '../../../src/util/timer-scheduler.js';

const TOKEN = 'test-token-123';

class FakeSubscriptions implements SubscriptionApi {
  readonly views = new Map<string, SubscriptionView>();
  readonly rings = new Map<string, EventRing<StatusView>>();
  private n = 0;
  async create(r: CreateSubscriptionRequest): Promise<SubscriptionView> {
    if (r.record.includes('forbidden')) throw new ApiError(400, 'QSA_ERR_INVALID_ARGUMENT', 'nope');
    if (r.record.includes('disk-full')) throw new ApiError(503, 'HTTP_ERR_STORE', 'the subscription could not be stored, so it was not made: disk full');
    const id = `s${++this.n}`;
    const view: SubscriptionView = { id, record: r.record, subscriber: r.subscriber, package: r.package, queue: r.queue, createdAt: new Date(0).toISOString(), state: 'none' };
    this.views.set(id, view);
    if (!this.rings.has(r.queue)) this.rings.set(r.queue, new EventRing<StatusView>(3));
    return view;
  }
  list(filter: { record?: string; state?: string }): SubscriptionView[] {
    return [...this.views.values()].filter((v) => (filter.record === undefined || v.record === filter.record) && (filter.state === undefined || v.state === filter.state));
  }
  get(id: string): SubscriptionView | undefined {
    return this.views.get(id);
  }
  async remove(id: string): Promise<boolean> {
    return this.views.delete(id);
  }
  events(queue: string): EventRing<StatusView> | undefined {
    return this.rings.get(queue);
  }
}

function status(sequence: number): StatusView {
  return { sequence, timestamp: new Date(0).toISOString(), subscriptionId: 's1', record: 'sip:a@x', subscriber: 'sip:b@x', package: 'presence', state: 'active', body: '<presence/>' };
}

describe('HTTP API', () => {
  const subscriptions = new FakeSubscriptions();
  const published: Array<[string, PresentityDocument]> = [];
  const clock = new ManualClock();
  const scheduler = new TimerScheduler(clock);
  let api: HttpApi;
  let base: string;

  before(async () => {
    api = createHttpApi({
      subscriptions,
      presentities: {
        publish(uri, doc) {
          if (uri.includes('remote')) throw new Error('not a local domain');
          published.push([uri, doc]);
        },
      },
      metrics: { contentType: 'text/plain; version=0.0.4', render: async () => '# HELP x y\n# TYPE x gauge\nx 1\n' },
      token: TOKEN,
      scheduler,
    });
    const address = await api.listen('127.0.0.1', 0);
    base = `http://127.0.0.1:${address.port}`;
  });
  after(async () => {
    await api.close();
    scheduler.close();
  });

  const call = (method: string, path: string, body?: unknown, token: string | null = TOKEN) =>
    fetch(`${base}${path}`, {
      method,
      headers: { ...(token !== null ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });

  test('the token is required except for /healthz', async () => {
    assert.equal((await call('GET', '/healthz', undefined, null)).status, 200);
    const missing = await call('GET', '/v1/subscriptions', undefined, null);
    assert.equal(missing.status, 401);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'HTTP_ERR_UNAUTHORIZED');
    assert.equal((await call('GET', '/metrics', undefined, 'wrong-token')).status, 401);
  });

  test('POST validates and names the field', async () => {
    const cases: Array<[unknown, string | null, string]> = [
      [{ subscriber: 'sip:b@x' }, 'record', 'HTTP_ERR_MISSING_FIELD'],
      [{ record: 'alice', subscriber: 'sip:b@x' }, 'record', 'HTTP_ERR_INVALID_FIELD'],
      [{ record: 'sip:a@x', subscriber: 'sip:b@x', queue: 'bad/name' }, 'queue', 'HTTP_ERR_INVALID_FIELD'],
      [{ record: 'sip:a@x', subscriber: 'sip:b@x', extra: 1 }, 'extra', 'HTTP_ERR_UNKNOWN_FIELD'],
      [{ record: 'sip:a@x', subscriber: 42 }, 'subscriber', 'HTTP_ERR_INVALID_FIELD'],
      ['{not json', null, 'HTTP_ERR_BAD_REQUEST'],
      [[1, 2], null, 'HTTP_ERR_BAD_REQUEST'],
    ];
    for (const [body, field, code] of cases) {
      const response = await call('POST', '/v1/subscriptions', body);
      assert.equal(response.status, 400, JSON.stringify(body));
      const json = (await response.json()) as { error: { code: string; message: string; field: string | null } };
      assert.equal(json.error.code, code, JSON.stringify(json));
      assert.equal(json.error.field, field, JSON.stringify(json));
      assert.equal(typeof json.error.message, 'string');
    }
  });

  test('subscription lifecycle', async () => {
    const created = await call('POST', '/v1/subscriptions', { record: 'sip:alice@example.com', subscriber: 'sip:bob@example.com' });
    assert.equal(created.status, 201);
    const view = (await created.json()) as SubscriptionView;
    assert.deepEqual([view.package, view.queue], ['presence', 'default']);
    assert.equal(created.headers.get('location'), `/v1/subscriptions/${view.id}`);
    const list = (await (await call('GET', '/v1/subscriptions?record=sip:alice@example.com')).json()) as { subscriptions: SubscriptionView[] };
    assert.deepEqual(list.subscriptions.map((s) => s.id), [view.id]);
    const none = (await (await call('GET', '/v1/subscriptions?state=active')).json()) as { subscriptions: SubscriptionView[] };
    assert.deepEqual(none.subscriptions, []);
    assert.equal((await call('GET', `/v1/subscriptions/${view.id}`)).status, 200);
    assert.equal((await call('DELETE', `/v1/subscriptions/${view.id}`)).status, 204);
    const gone = await call('GET', `/v1/subscriptions/${view.id}`);
    assert.equal(gone.status, 404);
    assert.equal(((await gone.json()) as { error: { field: string } }).error.field, 'id');
    assert.equal((await call('DELETE', `/v1/subscriptions/${view.id}`)).status, 404);
  });

  test('errors from the service keep their code', async () => {
    const response = await call('POST', '/v1/subscriptions', { record: 'sip:forbidden@x', subscriber: 'sip:b@x' });
    assert.equal(response.status, 400);
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'QSA_ERR_INVALID_ARGUMENT');
    const unstored = await call('POST', '/v1/subscriptions', { record: 'sip:disk-full@x', subscriber: 'sip:b@x' });
    assert.equal(unstored.status, 503);
    assert.equal(((await unstored.json()) as { error: { code: string } }).error.code, 'HTTP_ERR_STORE');
  });

  test('PUT /v1/presentities/:uri publishes into the agent', async () => {
    assert.equal((await call('PUT', `/v1/presentities/${encodeURIComponent('sip:alice@localhost')}`, { basic: 'open', note: 'here' })).status, 204);
    assert.deepEqual(published.at(-1), ['sip:alice@localhost', { basic: 'open', note: 'here' }]);
    const bad = await call('PUT', `/v1/presentities/${encodeURIComponent('sip:alice@localhost')}`, { basic: 'away' });
    assert.equal(((await bad.json()) as { error: { field: string } }).error.field, 'basic');
    const badUri = await call('PUT', '/v1/presentities/alice', { basic: 'open' });
    assert.equal(((await badUri.json()) as { error: { field: string } }).error.field, 'uri');
    const remote = await call('PUT', `/v1/presentities/${encodeURIComponent('sip:x@remote.example')}`, { basic: 'open' });
    assert.equal(remote.status, 400);
  });

  test('a path the router cannot decode, or a segment too long for it, gets our error body (found by npm run fuzz)', async () => {
    for (const [path, status] of [
      ['/v1/subscriptions/%zz', 400],
      ['/nowhere/%', 400],
      [`/v1/subscriptions/${'x'.repeat(4000)}`, 414],
    ] as const) {
      const response = await call('GET', path);
      assert.equal(response.status, status, path);
      assert.deepEqual(Object.keys(((await response.json()) as { error: object }).error), ['code', 'message', 'field']);
    }
    // A presentity URI near the 1024 characters the API allows is one long path segment once encoded.
    const long = `sip:${'a'.repeat(1000)}@localhost`;
    assert.equal((await call('PUT', `/v1/presentities/${encodeURIComponent(long)}`, { basic: 'open' })).status, 204);
    assert.equal(published.at(-1)?.[0], long);
  });

  test('metrics, OpenAPI, unknown routes', async () => {
    const metrics = await call('GET', '/metrics');
    assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain/);
    assert.match(await metrics.text(), /^x 1$/m);
    const doc = (await (await call('GET', '/v1/openapi.json')).json()) as { openapi: string; paths: Record<string, unknown> };
    assert.match(doc.openapi, /^3\./);
    for (const path of ['/v1/subscriptions', '/v1/subscriptions/{id}', '/v1/queues/{name}/events', '/v1/presentities/{uri}', '/healthz', '/metrics']) {
      assert.ok(path in doc.paths, path);
    }
    const missing = await call('GET', '/v1/nothing');
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'HTTP_ERR_NOT_FOUND');
  });

  test('SSE: replay after Last-Event-ID, then live events; a gap is announced', async () => {
    assert.equal((await call('POST', '/v1/subscriptions', { record: 'sip:a@x', subscriber: 'sip:b@x', queue: 'q1' })).status, 201);
    const ring = subscriptions.rings.get('q1');
    assert.ok(ring !== undefined);
    for (let i = 1; i <= 4; i++) ring.push({ id: i, value: status(i) });
    assert.equal((await call('GET', '/v1/queues/nope/events')).status, 404);
    const text = await readSse(`${base}/v1/queues/q1/events`, { 'last-event-id': '2', authorization: `Bearer ${TOKEN}` }, 3, () => ring.push({ id: 7, value: status(7) }));
    assert.match(text, /^retry: 2000$/m);
    const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    assert.deepEqual(ids, [3, 4, 7]);
    assert.match(text, /^event: status$/m);
    const data = JSON.parse(/^data: (.*)$/m.exec(text)?.[1] ?? 'null') as StatusView;
    assert.equal(data.sequence, 3);
    const gap = await readSse(`${base}/v1/queues/q1/events?lastEventId=0`, { authorization: `Bearer ${TOKEN}` }, 3);
    assert.match(gap, /^event: gap$/m);
    assert.deepEqual([...gap.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1])), [3, 4, 7]);
  });

  test('SSE from a browser: a stream token in the query opens event streams, and nothing else', async () => {
    assert.equal((await call('POST', '/v1/subscriptions', { record: 'sip:a@x', subscriber: 'sip:b@x', queue: 'q2' })).status, 201);
    subscriptions.rings.get('q2')?.push({ id: 1, value: status(1) });
    assert.equal((await call('POST', '/v1/stream-tokens', undefined, null)).status, 401, 'a stream token needs the bearer token');
    const issued = await call('POST', '/v1/stream-tokens');
    assert.equal(issued.status, 201);
    const { token, expiresIn } = (await issued.json()) as { token: string; expiresIn: number };
    assert.equal(expiresIn, 60);
    const url = `${base}/v1/queues/q2/events?access_token=${encodeURIComponent(token)}`;
    assert.match(await readSse(url, {}, 1), /^id: 1$/m, 'no Authorization header needed');
    assert.match(await readSse(url, {}, 1), /^id: 1$/m, 'reusable (EventSource reconnects)');
    // Not a bearer token: every other route refuses it.
    assert.equal((await call('GET', `/v1/subscriptions?access_token=${encodeURIComponent(token)}`, undefined, null)).status, 401);
    assert.equal((await call('GET', `/metrics?access_token=${encodeURIComponent(token)}`, undefined, null)).status, 401);
    const forged = await call('GET', '/v1/queues/q2/events?access_token=abc.def', undefined, null);
    assert.equal(forged.status, 401);
    assert.deepEqual(((await forged.json()) as { error: { code: string; field: string } }).error, {
      code: 'HTTP_ERR_UNAUTHORIZED',
      message: 'invalid stream token (access_token): get a new one with POST /v1/stream-tokens',
      field: 'access_token',
    });
    clock.advance(60_000);
    const expired = await call('GET', `/v1/queues/q2/events?access_token=${encodeURIComponent(token)}`, undefined, null);
    assert.equal(expired.status, 401);
    assert.match(((await expired.json()) as { error: { message: string } }).error.message, /^expired stream token/);
  });
});

/** Reads an event stream until `events` ids arrived (or 3 s), then disconnects. */
function readSse(url: string, headers: Record<string, string>, events: number, onOpen?: () => void): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const req = httpRequest(url, { headers }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`status ${res.statusCode}`));
        return;
      }
      res.setEncoding('utf8');
      let opened = false;
      res.on('data', (chunk: string) => {
        text += chunk;
        if (!opened) {
          opened = true;
          onOpen?.();
        }
        if ((text.match(/^id: /gm) ?? []).length >= events) {
          clearTimeout(deadline);
          req.destroy();
          resolve(text);
        }
      });
    });
    const deadline = setTimeout(() => {
      req.destroy();
      resolve(text);
    }, 3000);
    req.on('error', (error) => {
      if (!text) reject(error);
    });
    req.end();
  });
}
