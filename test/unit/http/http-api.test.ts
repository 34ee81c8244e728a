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
import { openApiDocument } from '../../../src/http/openapi.js';
import type { StatusFeedEvent, StatusFeedSource } from '../../../src/http/status-stream.js';
import { ManualClock } from '../../../src/util/clock.js';
import { TimerScheduler } from '../../../src/util/timer-scheduler.js';
import { HttpRecorder } from '../../support/http-recorder.js';
import { checkOpenApi } from '../../support/openapi-check.js';

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
    if (id === 'disk-full') throw new ApiError(503, 'HTTP_ERR_STORE', 'the removal could not be stored, so the subscription was kept: disk full');
    return this.views.delete(id);
  }
  events(queue: string): EventRing<StatusView> | undefined {
    return this.rings.get(queue);
  }
  servedPackages(): string[] {
    return ['dialog', 'presence', 'reg'];
  }
}

function status(sequence: number): StatusView {
  return { sequence, timestamp: new Date(0).toISOString(), subscriptionId: 's1', record: 'sip:a@x', subscriber: 'sip:b@x', package: 'presence', state: 'active', body: '<presence/>' };
}

interface ErrorBody {
  error: { code: string; message: string; field: string | null };
}

/** Words of fastify or of zod that must never reach a client: every message is ours. */
const FOREIGN_WORDS = /Invalid input|invalid_type|received (?:string|number)|Body is not valid|Body cannot be empty|Unsupported Media Type|Request body is too large|FST_ERR|is not a valid url/i;

/** Every answer of every HttpApi of this file, for the OpenAPI test at the end. */
const recorder = new HttpRecorder();

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
    recorder.attach(api.app);
    const address = await api.listen('127.0.0.1', 0);
    base = `http://127.0.0.1:${address.port}`;
  });
  after(async () => {
    await api.close();
    scheduler.close();
  });

  const call = (method: string, path: string, body?: unknown, token: string | null = TOKEN, contentType = 'application/json') =>
    fetch(`${base}${path}`, {
      method,
      headers: { ...(token !== null ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': contentType } : {}) },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });

  /** Calls and checks an error answer: status, code, field, and a message of our own. */
  const refused = async (response: Response, status: number, code: string, field: string | null = null): Promise<ErrorBody['error']> => {
    const text = await response.text();
    assert.equal(response.status, status, text);
    const body = JSON.parse(text) as ErrorBody;
    assert.equal(body.error.code, code, text);
    assert.equal(body.error.field, field, text);
    assert.doesNotMatch(body.error.message, FOREIGN_WORDS, text);
    return body.error;
  };

  test('the token is required except for /healthz, whatever its query string', async () => {
    assert.equal((await call('GET', '/healthz', undefined, null)).status, 200);
    assert.equal((await call('GET', '/healthz?probe=1', undefined, null)).status, 200);
    assert.equal((await call('HEAD', '/healthz?x', undefined, null)).status, 200);
    const missing = await call('GET', '/v1/subscriptions', undefined, null);
    assert.equal(missing.status, 401);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'HTTP_ERR_UNAUTHORIZED');
    assert.equal((await call('GET', '/metrics', undefined, 'wrong-token')).status, 401);
  });

  test('one error vocabulary: 400 MISSING/INVALID/UNKNOWN_FIELD naming the field, on bodies, queries, paths and headers alike', async () => {
    const cases: Array<[string, string, unknown, string, string | null, string?]> = [
      ['POST', '/v1/subscriptions', { subscriber: 'sip:b@x' }, 'HTTP_ERR_MISSING_FIELD', 'record', 'record: required'],
      ['POST', '/v1/subscriptions', undefined, 'HTTP_ERR_MISSING_FIELD', 'record', 'record: required'],
      ['POST', '/v1/subscriptions', { record: 'alice', subscriber: 'sip:b@x' }, 'HTTP_ERR_INVALID_FIELD', 'record', 'record: expected a SIP URI such as sip:alice@example.com, got "alice"'],
      ['POST', '/v1/subscriptions', { record: 'sip:a@x', subscriber: 42 }, 'HTTP_ERR_INVALID_FIELD', 'subscriber', 'subscriber: expected a SIP URI such as sip:alice@example.com, got 42'],
      ['POST', '/v1/subscriptions', { record: 'sip:a@x', subscriber: 'sip:b@x', queue: 'bad/name' }, 'HTTP_ERR_INVALID_FIELD', 'queue'],
      ['POST', '/v1/subscriptions', { record: 'sip:a@x', subscriber: 'sip:b@x', package: 'pres ence' }, 'HTTP_ERR_INVALID_FIELD', 'package'],
      ['POST', '/v1/subscriptions', { record: 'sip:a@x', subscriber: 'sip:b@x', extra: 1 }, 'HTTP_ERR_UNKNOWN_FIELD', 'extra', 'extra: unknown field'],
      ['POST', '/v1/subscriptions', '{not json', 'HTTP_ERR_BAD_REQUEST', null, 'request body: not valid JSON'],
      ['POST', '/v1/subscriptions', '{"__proto__": {"x": 1}}', 'HTTP_ERR_BAD_REQUEST', null],
      ['POST', '/v1/subscriptions', '', 'HTTP_ERR_BAD_REQUEST', null],
      ['POST', '/v1/subscriptions', [1, 2], 'HTTP_ERR_BAD_REQUEST', null, 'request body: expected a JSON object, got a list'],
      ['PUT', '/v1/presentities/sip%3Aalice%40localhost', {}, 'HTTP_ERR_MISSING_FIELD', 'basic'],
      ['PUT', '/v1/presentities/sip%3Aalice%40localhost', { basic: 'away' }, 'HTTP_ERR_INVALID_FIELD', 'basic', 'basic: expected "open" or "closed", got "away"'],
      ['PUT', '/v1/presentities/sip%3Aalice%40localhost', { basic: 'open', note: 'x'.repeat(1025) }, 'HTTP_ERR_INVALID_FIELD', 'note'],
      ['PUT', '/v1/presentities/sip%3Aalice%40localhost', { basic: 'open', mood: 'happy' }, 'HTTP_ERR_UNKNOWN_FIELD', 'mood'],
      ['PUT', '/v1/presentities/alice', { basic: 'open' }, 'HTTP_ERR_INVALID_FIELD', 'uri', 'uri: expected a SIP URI such as sip:alice@example.com, got "alice"'],
      ['GET', '/v1/subscriptions?state=bogus', undefined, 'HTTP_ERR_INVALID_FIELD', 'state'],
      ['GET', '/v1/subscriptions?stat=active', undefined, 'HTTP_ERR_UNKNOWN_FIELD', 'stat'],
      ['GET', '/v1/subscriptions?record=alice', undefined, 'HTTP_ERR_INVALID_FIELD', 'record'],
      ['GET', '/v1/subscriptions?record=sip:a@x&record=sip:b@x', undefined, 'HTTP_ERR_INVALID_FIELD', 'record', 'record: expected a SIP URI such as sip:alice@example.com, got a list'],
      ['GET', '/v1/queues/bad%20name/events', undefined, 'HTTP_ERR_INVALID_FIELD', 'name'],
      ['GET', '/v1/queues/default/events?lastEventId=abc', undefined, 'HTTP_ERR_INVALID_FIELD', 'lastEventId'],
      ['GET', '/v1/queues/default/events?since=3', undefined, 'HTTP_ERR_UNKNOWN_FIELD', 'since'],
      ['DELETE', '/v1/subscriptions/s1', '{not json', 'HTTP_ERR_BAD_REQUEST', null],
      ['POST', '/v1/stream-tokens', '{not json', 'HTTP_ERR_BAD_REQUEST', null],
    ];
    for (const [method, path, body, code, field, message] of cases) {
      const error = await refused(await call(method, path, body), 400, code, field);
      if (message !== undefined) assert.equal(error.message, message);
    }
    const badHeader = await fetch(`${base}/v1/queues/default/events`, { headers: { authorization: `Bearer ${TOKEN}`, 'last-event-id': 'x1' } });
    await refused(badHeader, 400, 'HTTP_ERR_INVALID_FIELD', 'Last-Event-ID');
    const state = await refused(await call('GET', '/v1/subscriptions?state=bogus'), 400, 'HTTP_ERR_INVALID_FIELD', 'state');
    assert.match(state.message, /^state: expected one of none, pending, active, terminated, rejected, waiting, subscribing, refreshing, unsubscribing, terminating, final, got "bogus"$/);
  });

  test('413 with its own code past the body limit, 415 for a body that is not JSON, on every route that reads a body', async () => {
    const large = JSON.stringify({ record: 'sip:a@x', subscriber: 'sip:b@x', pad: 'x'.repeat(64 * 1024) });
    for (const [method, path] of [
      ['POST', '/v1/subscriptions'],
      ['PUT', '/v1/presentities/sip%3Aalice%40localhost'],
      ['DELETE', '/v1/subscriptions/s1'],
      ['POST', '/v1/stream-tokens'],
    ] as const) {
      const tooLarge = await refused(await call(method, path, large), 413, 'HTTP_ERR_BODY_TOO_LARGE');
      assert.equal(tooLarge.message, 'request body: larger than 65536 bytes (http.max_body)');
      const text = await refused(await call(method, path, 'record=sip:a@x', TOKEN, 'text/plain'), 415, 'HTTP_ERR_MEDIA_TYPE');
      assert.equal(text.message, 'request body: expected Content-Type application/json, got "text/plain"');
      await refused(await call(method, path, '<a/>', TOKEN, 'application/xml'), 415, 'HTTP_ERR_MEDIA_TYPE');
    }
    // application/json with parameters is JSON.
    assert.equal((await call('POST', '/v1/subscriptions', JSON.stringify({ record: 'sip:c@x', subscriber: 'sip:b@x' }), TOKEN, 'application/json; charset=utf-8')).status, 201);
  });

  test('405 (with Allow) for a known path and another method; 404 for an unknown path; 400 for a URL that does not decode', async () => {
    const cases: Array<[string, string, string]> = [
      ['PUT', '/v1/subscriptions', 'GET, HEAD, POST'],
      ['PATCH', '/v1/subscriptions/s1', 'DELETE, GET, HEAD'],
      ['POST', '/healthz', 'GET, HEAD'],
      ['DELETE', '/v1/presentities/sip%3Aa%40x', 'PUT'],
      ['GET', '/v1/stream-tokens', 'POST'],
    ];
    for (const [method, path, allow] of cases) {
      const response = await call(method, path);
      assert.equal(response.headers.get('allow'), allow, `${method} ${path}`);
      await refused(response, 405, 'HTTP_ERR_METHOD_NOT_ALLOWED');
    }
    const missing = await refused(await call('GET', '/v1/nothing'), 404, 'HTTP_ERR_NOT_FOUND');
    assert.equal(missing.message, 'no route GET /v1/nothing');
    await refused(await call('GET', '/v1/subscriptions/%E0%A4%A'), 400, 'HTTP_ERR_BAD_REQUEST');
  });

  test('401 on every operation but the public ones (/healthz, the status page files), without a token or with a wrong one', async () => {
    const doc = openApiDocument('0.0.0') as { paths: Record<string, Record<string, { security?: unknown[] }>> };
    for (const [path, item] of Object.entries(doc.paths)) {
      const concrete = path.replace('{id}', 's1').replace('{name}', 'default').replace('{uri}', 'sip%3Aalice%40localhost');
      for (const method of Object.keys(item).filter((k) => ['get', 'put', 'post', 'delete'].includes(k))) {
        // An operation documented with `security: []` needs no token.
        const open = item[method]?.security?.length === 0;
        const response = await call(method.toUpperCase(), concrete, undefined, path === '/healthz' ? TOKEN : null);
        if (open) {
          assert.equal(response.status, 200, `${method} ${path} without a token`);
          await response.arrayBuffer();
          continue;
        }
        assert.equal(response.headers.get('www-authenticate'), 'Bearer realm="presence-b2b"');
        await refused(response, 401, 'HTTP_ERR_UNAUTHORIZED');
      }
    }
    const wrong = await refused(await call('GET', '/v1/subscriptions', undefined, 'wrong-token'), 401, 'HTTP_ERR_UNAUTHORIZED');
    assert.equal(wrong.message, 'wrong bearer token (not http.token)');
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

  test('a package nobody serves is refused, naming it and the packages served; a served one is taken', async () => {
    const refused = await call('POST', '/v1/subscriptions', { record: 'sip:a@x', subscriber: 'sip:b@x', package: 'message-summary' });
    assert.equal(refused.status, 400);
    const json = (await refused.json()) as { error: { code: string; message: string; field: string | null } };
    assert.deepEqual(json.error, {
      code: 'HTTP_ERR_INVALID_FIELD',
      message: 'package: "message-summary" is not served here; served packages: dialog, presence, reg',
      field: 'package',
    });
    const created = await call('POST', '/v1/subscriptions', { record: 'sip:a@x', subscriber: 'sip:b@x', package: 'reg' });
    assert.equal(created.status, 201);
    assert.equal(((await created.json()) as SubscriptionView).package, 'reg');
  });

  test('errors from the service keep their code', async () => {
    const response = await call('POST', '/v1/subscriptions', { record: 'sip:forbidden@x', subscriber: 'sip:b@x' });
    assert.equal(response.status, 400);
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'QSA_ERR_INVALID_ARGUMENT');
    const unstored = await call('POST', '/v1/subscriptions', { record: 'sip:disk-full@x', subscriber: 'sip:b@x' });
    assert.equal(unstored.status, 503);
    assert.equal(((await unstored.json()) as { error: { code: string } }).error.code, 'HTTP_ERR_STORE');
    await refused(await call('DELETE', '/v1/subscriptions/disk-full'), 503, 'HTTP_ERR_STORE');
  });

  test('PUT /v1/presentities/:uri publishes into the agent', async () => {
    assert.equal((await call('PUT', `/v1/presentities/${encodeURIComponent('sip:alice@localhost')}`, { basic: 'open', note: 'here' })).status, 204);
    assert.deepEqual(published.at(-1), ['sip:alice@localhost', { basic: 'open', note: 'here' }]);
    const bad = await call('PUT', `/v1/presentities/${encodeURIComponent('sip:alice@localhost')}`, { basic: 'away' });
    assert.equal(((await bad.json()) as { error: { field: string } }).error.field, 'basic');
    const badUri = await call('PUT', '/v1/presentities/alice', { basic: 'open' });
    assert.equal(((await badUri.json()) as { error: { field: string } }).error.field, 'uri');
    const remote = await call('PUT', `/v1/presentities/${encodeURIComponent('sip:x@remote.example')}`, { basic: 'open' });
    await refused(remote, 400, 'HTTP_ERR_PRESENTITY', 'uri');
  });

  test('a path the router cannot decode, or a segment too long for it, gets our error body (found by npm run fuzz)', async () => {
    for (const [path, status] of [
      ['/v1/subscriptions/%zz', 400],
      ['/nowhere/%', 400],
      [`/v1/subscriptions/${'x'.repeat(4000)}`, 414],
    ] as const) {
      const error = await refused(await call('GET', path), status, 'HTTP_ERR_BAD_REQUEST');
      assert.deepEqual(Object.keys(error), ['code', 'message', 'field']);
      assert.match(error.message, status === 414 ? /^the URL is too long/ : /^the URL is not valid/);
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
    const doc = (await (await call('GET', '/v1/openapi.json')).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
      components: { schemas: Record<string, { properties?: Record<string, { enum?: string[]; $ref?: string }> }> };
    };
    assert.match(doc.openapi, /^3\./);
    const schemas = doc.components.schemas;
    assert.deepEqual(schemas.CreateSubscription?.properties?.package?.enum, ['dialog', 'presence', 'reg'], 'package: the packages served');
    assert.equal(schemas.Status?.properties?.reg?.$ref, '#/components/schemas/RegInfo');
    assert.equal(schemas.Status?.properties?.dialog?.$ref, '#/components/schemas/DialogInfo');
    assert.ok(schemas.Status?.properties?.list);
    // Every $ref resolves.
    for (const ref of JSON.stringify(doc).match(/#\/components\/schemas\/[A-Za-z]+/g) ?? []) assert.ok(ref.split('/').pop()! in schemas, ref);
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
    assert.match(gap, /^event: gap\ndata: \{"lastEventId":0,"reason":"dropped","oldestAvailable":3\}$/m);
    assert.deepEqual([...gap.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1])), [3, 4, 7]);
  });

  test('SSE: a Last-Event-ID beyond every id issued is answered with a gap, then every event kept', async () => {
    const ring = subscriptions.rings.get('q1');
    assert.ok(ring !== undefined);
    for (const lastEventId of ['999', '8']) {
      const text = await readSse(`${base}/v1/queues/q1/events`, { 'last-event-id': lastEventId, authorization: `Bearer ${TOKEN}` }, 3);
      assert.match(text, new RegExp(`^event: gap\ndata: \\{"lastEventId":${lastEventId},"reason":"unknown","newestId":7\\}$`, 'm'));
      assert.deepEqual([...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1])), [3, 4, 7]);
    }
    // The newest id itself is no gap: nothing to replay.
    const current = await readSse(`${base}/v1/queues/q1/events?lastEventId=7`, { authorization: `Bearer ${TOKEN}` }, 1, () => ring.push({ id: 9, value: status(9) }));
    assert.doesNotMatch(current, /event: gap/);
    assert.deepEqual([...current.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1])), [9]);
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

describe('HTTP API without a local agent and without a token', () => {
  const scheduler = new TimerScheduler(new ManualClock());
  let api: HttpApi;
  let base: string;

  before(async () => {
    api = createHttpApi({ subscriptions: new FakeSubscriptions(), metrics: { contentType: 'text/plain', render: async () => '' }, scheduler });
    recorder.attach(api.app);
    base = `http://127.0.0.1:${(await api.listen('127.0.0.1', 0)).port}`;
  });
  after(async () => {
    await api.close();
    scheduler.close();
  });

  test('PUT /v1/presentities is a 404 naming the key; no token is needed anywhere', async () => {
    const response = await fetch(`${base}/v1/presentities/sip%3Aalice%40localhost`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"basic":"open"}' });
    assert.equal(response.status, 404);
    assert.deepEqual(((await response.json()) as ErrorBody).error, {
      code: 'HTTP_ERR_NO_LOCAL_AGENT',
      message: 'the local presence agent is disabled (local_agent.enabled)',
      field: null,
    });
    assert.equal((await fetch(`${base}/v1/subscriptions`)).status, 200);
  });
});

describe('the status page routes', () => {
  const scheduler = new TimerScheduler(new ManualClock());
  const alice: SubscriptionView = { id: 's1', record: 'sip:alice@x', subscriber: 'sip:bob@x', package: 'presence', queue: 'q', createdAt: new Date(0).toISOString(), state: 'none' };
  const listeners = new Set<(event: StatusFeedEvent) => void>();
  const feed: StatusFeedSource = {
    snapshot: () => ({ subscriptions: [alice] }),
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };
  let api: HttpApi;
  let bare: HttpApi;
  let base: string;
  let bareBase: string;

  before(async () => {
    api = createHttpApi({ subscriptions: new FakeSubscriptions(), statusFeed: feed, metrics: { contentType: 'text/plain', render: async () => '' }, token: TOKEN, scheduler });
    recorder.attach(api.app);
    base = `http://127.0.0.1:${(await api.listen('127.0.0.1', 0)).port}`;
    bare = createHttpApi({ subscriptions: new FakeSubscriptions(), metrics: { contentType: 'text/plain', render: async () => '' }, scheduler });
    recorder.attach(bare.app);
    bareBase = `http://127.0.0.1:${(await bare.listen('127.0.0.1', 0)).port}`;
  });
  after(async () => {
    await api.close();
    await bare.close();
    scheduler.close();
  });

  test('the page and its two files are served without the token, with a strict content security policy', async () => {
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'; script-src 'self'/);
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    assert.match(await page.text(), /<script type="module" src="\/status-page\/status-page\.js"><\/script>/);
    const script = await fetch(`${base}/status-page/status-page.js`);
    assert.equal(script.status, 200);
    assert.match(script.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.match(await script.text(), /new EventSource\(url\)/);
    const style = await fetch(`${base}/status-page/status-page.css?v=1`);
    assert.equal(style.status, 200);
    assert.match(style.headers.get('content-type') ?? '', /^text\/css/);
  });

  test('nothing else goes without the token: other files, the status stream; a stream token opens the stream', async () => {
    assert.equal((await fetch(`${base}/status-page/other.js`)).status, 401);
    assert.equal((await fetch(`${base}/v1/status/events`)).status, 401);
    assert.equal((await fetch(`${base}/v1/status/events`, { headers: { authorization: 'Bearer wrong-token' } })).status, 401);
    assert.equal((await fetch(`${base}/v1/status/events?access_token=not-a-token`)).status, 401);
    const issued = await fetch(`${base}/v1/stream-tokens`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(issued.status, 201);
    const { token } = (await issued.json()) as { token: string };
    const text = await readSse(`${base}/v1/status/events?access_token=${encodeURIComponent(token)}`, {}, 0, undefined, /^event: snapshot\ndata: .*\n\n/m);
    assert.match(text, /^event: snapshot$/m);
  });

  test('GET /v1/status/events: a snapshot, then each change as it happens; the stream ends its subscription', async () => {
    const status: StatusView = { sequence: 3, timestamp: new Date(0).toISOString(), subscriptionId: 's1', record: 'sip:alice@x', subscriber: 'sip:bob@x', package: 'presence', state: 'active' };
    const text = await readSse(`${base}/v1/status/events`, { authorization: `Bearer ${TOKEN}` }, 0, () => {
      // Written once the snapshot is: the feed is subscribed by now.
      setImmediate(() => {
        for (const listener of listeners) {
          listener({ type: 'status', status });
          listener({ type: 'subscription', subscription: { ...alice, state: 'active' } });
          listener({ type: 'removed', id: 's1' });
        }
      });
    }, /^event: removed\ndata: .*\n\n/m);
    const events = [...text.matchAll(/^event: (.*)\ndata: (.*)$/gm)].map((m) => ({ event: m[1], data: JSON.parse(m[2]!) as unknown }));
    assert.deepEqual(events, [
      { event: 'snapshot', data: { subscriptions: [alice] } },
      { event: 'status', data: status },
      { event: 'subscription', data: { ...alice, state: 'active' } },
      { event: 'removed', data: { id: 's1' } },
    ]);
    for (let i = 0; i < 100 && listeners.size > 0; i++) await new Promise((r) => setImmediate(r));
    assert.equal(listeners.size, 0);
  });

  test('a server without a status feed: 404 for the stream, the page still served', async () => {
    const response = await fetch(`${bareBase}/v1/status/events`);
    assert.equal(response.status, 404);
    assert.equal(((await response.json()) as ErrorBody).error.code, 'HTTP_ERR_NOT_FOUND');
    assert.equal((await fetch(`${bareBase}/`)).status, 200);
  });
});

describe('HTTP API limits', () => {
  const clock = new ManualClock();
  const scheduler = new TimerScheduler(clock);
  const subscriptions = new FakeSubscriptions();
  let api: HttpApi;
  let base: string;

  before(async () => {
    api = createHttpApi({
      subscriptions,
      metrics: { contentType: 'text/plain', render: async () => '' },
      token: TOKEN,
      scheduler,
      statusFeed: { snapshot: () => ({ subscriptions: [] }), subscribe: () => () => undefined },
      limits: { maxSubscriptions: 2, maxQueues: 1, maxSseClients: 1, maxBodyBytes: 2048 },
      counts: () => ({ subscriptions: subscriptions.views.size, queues: subscriptions.rings.size }),
    });
    recorder.attach(api.app);
    base = `http://127.0.0.1:${(await api.listen('127.0.0.1', 0)).port}`;
  });
  after(async () => {
    await api.close();
    scheduler.close();
  });

  const post = (body: unknown) =>
    fetch(`${base}/v1/subscriptions`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const errorOf = async (response: Response, status: number): Promise<ErrorBody['error']> => {
    const text = await response.text();
    assert.equal(response.status, status, text);
    return (JSON.parse(text) as ErrorBody).error;
  };

  test('maximum body: http.max_body, not the default, gives 413', async () => {
    const error = await errorOf(await post({ record: 'sip:a@x', subscriber: 'sip:b@x', pad: 'x'.repeat(2048) }), 413);
    assert.equal(error.code, 'HTTP_ERR_BODY_TOO_LARGE');
    assert.equal(error.message, 'request body: larger than 2048 bytes (http.max_body)');
  });

  test('maximum named queues, then maximum subscriptions: 409 with their codes; what exists keeps working', async () => {
    assert.equal((await post({ record: 'sip:a@x', subscriber: 'sip:b@x', queue: 'one' })).status, 201);
    const queues = await errorOf(await post({ record: 'sip:a@x', subscriber: 'sip:b@x', queue: 'two' }), 409);
    assert.deepEqual([queues.code, queues.field], ['HTTP_ERR_TOO_MANY_QUEUES', 'queue']);
    assert.match(queues.message, /1 named queues exist, the most http\.max_queues allows/);
    // Into the queue that exists: allowed, up to max_subscriptions.
    assert.equal((await post({ record: 'sip:c@x', subscriber: 'sip:b@x', queue: 'one' })).status, 201);
    const many = await errorOf(await post({ record: 'sip:d@x', subscriber: 'sip:b@x', queue: 'one' }), 409);
    assert.equal(many.code, 'HTTP_ERR_TOO_MANY_SUBSCRIPTIONS');
    assert.match(many.message, /2 subscriptions exist, the most http\.max_subscriptions allows/);
    assert.equal(subscriptions.views.size, 2);
    const list = await fetch(`${base}/v1/subscriptions`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(list.status, 200);
  });

  test('maximum SSE clients: one more stream (queue events or the status stream) is 503 with Retry-After; once one closes, a new one opens', async () => {
    const controller = new AbortController();
    const first = await fetch(`${base}/v1/queues/one/events`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: controller.signal });
    assert.equal(first.status, 200);
    const second = await fetch(`${base}/v1/queues/one/events`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(second.headers.get('retry-after'), '5');
    assert.equal((await errorOf(second, 503)).code, 'HTTP_ERR_TOO_MANY_SSE_CLIENTS');
    // The status page's stream counts too.
    const status = await fetch(`${base}/v1/status/events`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal((await errorOf(status, 503)).code, 'HTTP_ERR_TOO_MANY_SSE_CLIENTS');
    controller.abort();
    await first.body?.cancel().catch(() => undefined);
    for (let i = 0; i < 200 && api.sseClients > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(api.sseClients, 0);
    const again = new AbortController();
    const third = await fetch(`${base}/v1/queues/one/events`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: again.signal });
    assert.equal(third.status, 200);
    again.abort();
    await third.body?.cancel().catch(() => undefined);
  });
});

describe('HTTP API rate limit per token', () => {
  const clock = new ManualClock();
  const scheduler = new TimerScheduler(clock);
  let api: HttpApi;
  let base: string;

  before(async () => {
    // Not recorded for the OpenAPI test: a 429 can answer every route (the document says so once, in its description).
    api = createHttpApi({
      subscriptions: new FakeSubscriptions(),
      metrics: { contentType: 'text/plain', render: async () => '' },
      token: TOKEN,
      scheduler,
      limits: { rateLimit: { requestsPerSecond: 2, burst: 3 } },
    });
    base = `http://127.0.0.1:${(await api.listen('127.0.0.1', 0)).port}`;
  });
  after(async () => {
    await api.close();
    scheduler.close();
  });

  const get = (token: string | null) => fetch(`${base}/v1/subscriptions`, { headers: token === null ? {} : { authorization: `Bearer ${token}` } });

  test('a burst, then 429 with Retry-After; refilled on the injected clock; /healthz never limited; wrong tokens limited per address', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await get(TOKEN)).status, 200, `request ${i} of the burst`);
    const limited = await get(TOKEN);
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('retry-after'), '1');
    const error = (await limited.json()) as ErrorBody;
    assert.equal(error.error.code, 'HTTP_ERR_RATE_LIMITED');
    assert.match(error.error.message, /over http\.rate_limit \(2\/s, burst 3\)/);
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    // Half a second: one more request (2/s).
    clock.advance(500);
    assert.equal((await get(TOKEN)).status, 200);
    assert.equal((await get(TOKEN)).status, 429);
    // Guessing tokens: 401 for the burst of the address, then 429.
    for (let i = 0; i < 3; i++) assert.equal((await get(`wrong-${i}-token`)).status, 401);
    assert.equal((await get('wrong-again-token')).status, 429);
    // The right token has its own bucket.
    clock.advance(2000);
    assert.equal((await get(TOKEN)).status, 200);
  });
});

/** A cluster node's view (issue 16): queues other nodes made, ids other nodes delivered, known once the table is read. */
class ClusterSubscriptions extends FakeSubscriptions {
  resumes = 0;
  /** What the table holds that this node has not read yet, per queue. */
  readonly unread = new Map<string, number[]>();
  async resumeEvents(queue: string): Promise<EventRing<StatusView> | undefined> {
    this.resumes++;
    await new Promise((r) => setImmediate(r));
    const ids = this.unread.get(queue);
    if (ids === undefined) return this.rings.get(queue);
    let ring = this.rings.get(queue);
    if (ring === undefined) {
      ring = new EventRing<StatusView>(10);
      this.rings.set(queue, ring);
    }
    for (const id of ids) ring.push({ id, value: status(id) });
    this.unread.delete(queue);
    return ring;
  }
}

describe('HTTP API in cluster mode (resumeEvents)', () => {
  test('a queue made on another node is served; an id beyond the ring is read from the table first, not called a gap; one node never asks', async () => {
    const subscriptions = new ClusterSubscriptions();
    const scheduler = new TimerScheduler(new ManualClock());
    const api = createHttpApi({ subscriptions, metrics: { contentType: 'text/plain', render: async () => '' }, scheduler });
    const { port } = await api.listen('127.0.0.1', 0);
    const base = `http://127.0.0.1:${port}`;
    try {
      assert.equal((await fetch(`${base}/v1/queues/nowhere/events`)).status, 404, 'no node made it');
      subscriptions.unread.set('remote', [1, 2, 3]);
      const remote = await readSse(`${base}/v1/queues/remote/events`, {}, 3);
      assert.deepEqual([...remote.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1])), [1, 2, 3]);
      // A client of another node saw 5; this node has read up to 3 so far.
      subscriptions.unread.set('remote', [4, 5, 6]);
      const resumed = await readSse(`${base}/v1/queues/remote/events`, { 'last-event-id': '5' }, 1);
      assert.doesNotMatch(resumed, /event: gap/);
      assert.deepEqual([...resumed.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1])), [6]);
      // An id within the ring needs no read.
      const before = subscriptions.resumes;
      const within = await readSse(`${base}/v1/queues/remote/events`, { 'last-event-id': '4' }, 2);
      assert.deepEqual([...within.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1])), [5, 6]);
      assert.equal(subscriptions.resumes, before);
      // Beyond every id in the table too: the usual gap, after the read.
      const beyond = await readSse(`${base}/v1/queues/remote/events`, { 'last-event-id': '99' }, 6);
      assert.match(beyond, /^event: gap\ndata: \{"lastEventId":99,"reason":"unknown","newestId":6\}$/m);
    } finally {
      await api.close();
      scheduler.close();
    }
  });
});

describe('the OpenAPI document', () => {
  const doc = openApiDocument('1.2.3');
  const check = checkOpenApi(doc);

  test('is a valid OpenAPI 3.1 document (structure, references, JSON Schema 2020-12)', () => {
    assert.deepEqual(check.problems, []);
  });

  test('describes every route, and nothing else', () => {
    const scheduler = new TimerScheduler(new ManualClock());
    const api = createHttpApi({ subscriptions: new FakeSubscriptions(), metrics: { contentType: 'text/plain', render: async () => '' }, scheduler });
    const registered = api.routes.map((r) => `${r.method} ${r.url}`).sort();
    const documented = [...check.operations.keys()].map((o) => o.replace(/\{([^}]+)\}/g, ':$1')).sort();
    assert.deepEqual(documented, registered);
    scheduler.close();
  });

  test('every response code it documents was produced by the tests above, and every answer they got is documented, its body as described', () => {
    const produced = recorder.routeKeys();
    const documented = new Set<string>();
    for (const [operation, codes] of check.operations) {
      for (const code of codes) documented.add(`${operation.replace(/\{([^}]+)\}/g, ':$1')} ${code}`);
    }
    assert.deepEqual([...documented].filter((k) => !produced.has(k)).sort(), [], 'documented, never produced');
    assert.deepEqual([...produced].filter((k) => !documented.has(k)).sort(), [], 'produced, not documented');
    for (const response of recorder.responses.values()) {
      if (response.route === undefined || response.method === 'HEAD' || response.body === undefined || !/json/.test(response.contentType ?? '')) continue;
      const path = response.route.replace(/:([a-z]+)/g, '{$1}');
      const validate = check.bodyValidator(response.method, path, String(response.status));
      assert.ok(validate !== undefined, `${response.method} ${path} ${response.status} has a JSON schema`);
      assert.ok(validate(JSON.parse(response.body)), `${response.method} ${path} ${response.status}: ${JSON.stringify(validate.errors)} ${response.body}`);
    }
  });
});

/** Reads an event stream until `events` ids arrived, or until the text matches `until` (at most 3 s), then disconnects. */
function readSse(url: string, headers: Record<string, string>, events: number, onOpen?: () => void, until?: RegExp): Promise<string> {
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
        if (until !== undefined ? until.test(text) : (text.match(/^id: /gm) ?? []).length >= events) {
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
