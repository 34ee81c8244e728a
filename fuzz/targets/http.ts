/**
 * The HTTP API's request checks: the validation functions alone
 * (src/http/request-validation.ts), and whole requests through the fastify
 * routes with `inject` (no socket), against the daemon's real subscription
 * service over a fresh QSA broker per input. A refused request is a 4xx
 * with the documented `{error: {code, message, field}}` body; never a 5xx,
 * never an exception. The event stream route is left out (its response
 * never ends by design); the presentity publisher is a stand-in that
 * refuses other domains, as the local agent does; the store is the
 * in-memory one.
 */
import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { pino } from 'pino';
import { ApiError, type PresentityDocument, type SubscriptionApi } from '../../src/http/api-types.js';
import { createHttpApi, type HttpApi } from '../../src/http/http-server.js';
import {
  parseCreateSubscription,
  parseFilter,
  parseEventsRequest,
  parsePresentity,
  parsePresentityUri,
  parseQueueName,
} from '../../src/http/request-validation.js';
import { QsaBroker } from '../../src/qsa/index.js';
import { parseSipUri } from '../../src/sip/codec/index.js';
import { QueueHub } from '../../src/daemon/queue-hub.js';
import { SubscriptionService } from '../../src/daemon/subscription-service.js';
import { MemorySubscriptionStore } from '../../src/store/memory-store.js';
import { ManualClock } from '../../src/util/clock.js';
import { SeededRandom } from '../../src/util/random.js';
import { TimerScheduler } from '../../src/util/timer-scheduler.js';
import { type Json, mutateJsonText } from '../engine/json-mutator.js';
import { mutateBytes } from '../engine/mutator.js';
import type { FuzzRng } from '../engine/rng.js';
import { type FuzzTarget, fail, property } from '../engine/target.js';

const URIS = [
  'sip:alice@example.com', 'sip:bob@localhost', 'sips:carol@[::1]:5061;transport=tls', 'sip:a@b?x=y', 'sip:', 'sip:@x', 'tel:+1555',
  'SIP:ALICE@EXAMPLE.COM', 'sip:alice@example.com;lr', 'sip:%61@x', `sip:${'a'.repeat(1020)}@x`, 'mailto:a@b', 'sip:a b@c',
];
const STRINGS = [
  ...URIS, 'presence', 'dialog', 'reg', 'presence.winfo', 'default', 'q1', 'a.b-c_d', '', ' ', 'open', 'closed', 'OPEN', 'on',
  'note', 'x'.repeat(1025), 'active', 'none', 'waiting', '0', '42', '-1', '1e3', '999999999999999', '\u0000', '../etc',
];
const FIELDS = ['record', 'subscriber', 'package', 'queue', 'basic', 'note', 'state', 'lastEventId', 'extra', '__proto__', 'constructor'];

function jsonMutation(rng: FuzzRng, other: () => Uint8Array, keys: readonly string[]) {
  return { keys, strings: STRINGS, bytes: { rng, maxBytes: 16 * 1024, dictionary: [], other } };
}

function decodeJson(input: Uint8Array): Json | undefined {
  try {
    return JSON.parse(Buffer.from(input).toString('utf8')) as Json;
  } catch {
    return undefined;
  }
}

function checkApiError(error: unknown): void {
  if (!(error instanceof ApiError)) return;
  property(error.status >= 400 && error.status < 500, () => `ApiError with status ${error.status}`);
  property(/^HTTP_ERR_[A-Z_]+$/.test(error.code), () => `ApiError with code ${error.code}`);
  property(error.field === undefined || typeof error.field === 'string', 'ApiError with a field that is not a string');
}

/** A URI the validation accepted must be a SIP URI to the codec too (the engine parses it next). */
function acceptedSipUri(text: string): void {
  try {
    parseSipUri(text);
  } catch (error) {
    fail(`accepted URI the codec refuses: ${JSON.stringify(text.slice(0, 100))}: ${String(error)}`);
  }
}

// ---- the validation functions ---------------------------------------------------------------------

const FUNCTIONS = ['create', 'presentity', 'filter', 'queue', 'uri', 'lastEventId'] as const;

const validationSeeds: Json[] = [
  { fn: 'create', value: { record: 'sip:alice@example.com', subscriber: 'sip:bob@example.com' } },
  { fn: 'create', value: { record: 'sip:alice@example.com', subscriber: 'sips:bob@example.com', package: 'presence', queue: 'q-1' } },
  { fn: 'create', value: { record: 'sip:alice@example.com', subscriber: 'sip:bob@example.com', extra: 1 } },
  { fn: 'presentity', value: { basic: 'open', note: 'at my desk' } },
  { fn: 'presentity', value: { basic: 'closed' } },
  { fn: 'filter', value: { record: 'sip:alice@example.com', state: 'active' } },
  { fn: 'queue', value: 'default' },
  { fn: 'uri', value: 'sip:alice@localhost' },
  { fn: 'lastEventId', value: '42' },
  { fn: 'lastEventId', value: ['7', '8'] },
];

const httpValidation: FuzzTarget = {
  name: 'http-validation',
  description: 'request-validation.ts: bodies, queries, queue names, presentity URIs, Last-Event-ID (JSON {fn, value})',
  extension: 'json',
  maxInputBytes: 16 * 1024,
  seeds: () => validationSeeds.map((s) => Buffer.from(JSON.stringify(s), 'utf8')),
  generate: (seed, count) =>
    fc
      .sample(
        fc.record({
          fn: fc.constantFrom(...FUNCTIONS),
          value: fc.oneof(
            fc.dictionary(fc.constantFrom(...FIELDS), fc.oneof(fc.constantFrom(...STRINGS), fc.jsonValue({ maxDepth: 2 })), { maxKeys: 5 }),
            fc.constantFrom(...STRINGS),
            fc.jsonValue({ maxDepth: 2 }),
          ),
        }),
        { seed, numRuns: count },
      )
      .map((s) => Buffer.from(JSON.stringify(s), 'utf8')),
  mutate: (input, rng, other) => mutateJsonText(input, jsonMutation(rng, other, [...FIELDS, 'fn', 'value', ...FUNCTIONS])),
  run(input) {
    const parsed = decodeJson(input);
    if (parsed === undefined || parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return;
    const value = parsed.value;
    try {
      switch (parsed.fn) {
        case 'create': {
          const r = parseCreateSubscription(value);
          acceptedSipUri(r.record);
          acceptedSipUri(r.subscriber);
          property(/^[A-Za-z0-9!%*_+`'~.-]{1,64}$/.test(r.package) && /^[A-Za-z0-9_.-]{1,64}$/.test(r.queue), 'accepted package or queue name out of pattern');
          property(Object.keys(r).sort().join() === 'package,queue,record,subscriber', () => `accepted subscription with keys ${Object.keys(r).join()}`);
          break;
        }
        case 'presentity': {
          const r: PresentityDocument = parsePresentity(value);
          property((r.basic === 'open' || r.basic === 'closed') && (r.note === undefined || r.note.length <= 1024), 'accepted presentity out of range');
          break;
        }
        case 'filter': {
          const r = parseFilter(value);
          property(Object.values(r).every((v) => typeof v === 'string'), 'filter with a value that is not a string');
          break;
        }
        case 'queue':
          if (typeof value === 'string') parseQueueName(value);
          break;
        case 'uri':
          if (typeof value === 'string') acceptedSipUri(parsePresentityUri(value));
          break;
        case 'lastEventId': {
          // The same value as ?lastEventId= and as the Last-Event-ID header (a string or a list of them).
          const r = parseEventsRequest({ lastEventId: value }, undefined);
          const header = typeof value === 'string' ? value : Array.isArray(value) && value.every((v) => typeof v === 'string') ? (value as string[]) : undefined;
          const h = header === undefined ? undefined : parseEventsRequest({}, header);
          property(h === undefined || (Number.isSafeInteger(h) && h >= 0), () => `Last-Event-ID header read as ${h}`);
          property(r === undefined || (Number.isSafeInteger(r) && r >= 0), () => `Last-Event-ID read as ${r}`);
          break;
        }
      }
    } catch (error) {
      checkApiError(error);
      throw error;
    }
  },
};

// ---- the routes ------------------------------------------------------------------------------------

const TOKEN = 'fuzz-token-123';
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'];

interface RequestInput {
  method?: Json;
  url?: Json;
  headers?: Json;
  body?: Json;
}

let app: HttpApi | undefined;
let service: SubscriptionApi | undefined;

/** The routes read the service through this, so that each input gets a fresh broker behind one warm app. */
const delegate: SubscriptionApi = {
  create: (r) => service!.create(r),
  list: (f) => service!.list(f),
  get: (id) => service!.get(id),
  remove: (id) => service!.remove(id),
  events: () => undefined,
  servedPackages: () => service!.servedPackages(),
};

/**
 * What an HTTP/1.1 request line can carry: other octets percent-encoded, as a client would. The
 * backslash too: inject parses the target as a WHATWG URL, where `/\` starts an authority, which
 * Node's HTTP server would not do. A target inject still cannot parse is not sent (undefined).
 */
function requestTarget(url: string): string | undefined {
  let out = url.startsWith('/') ? '' : '/';
  for (const ch of url) {
    const c = ch.codePointAt(0)!;
    out += c > 0x20 && c < 0x7f && c !== 0x5c ? ch : encodeURIComponent(ch);
  }
  try {
    new URL(out, 'http://localhost');
  } catch {
    return undefined;
  }
  return out;
}

function headersOf(value: Json | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return out;
  for (const [name, v] of Object.entries(value)) {
    // Node's HTTP parser refuses other names and values before any route runs.
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || typeof v !== 'string' || /[\r\n\0]/.test(v)) continue;
    out[name.toLowerCase()] = v;
  }
  return out;
}

const routeSeeds: Json[] = [
  {
    requests: [
      { method: 'POST', url: '/v1/subscriptions', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: '{"record":"sip:alice@example.com","subscriber":"sip:bob@example.com","queue":"q1"}' },
      { method: 'GET', url: '/v1/subscriptions?record=sip:alice@example.com&state=none', headers: { authorization: `Bearer ${TOKEN}` } },
      { method: 'GET', url: '/v1/subscriptions/s1', headers: { authorization: `Bearer ${TOKEN}` } },
      { method: 'DELETE', url: '/v1/subscriptions/s1', headers: { authorization: `Bearer ${TOKEN}` } },
    ],
  },
  {
    requests: [
      { method: 'PUT', url: '/v1/presentities/sip%3Aalice%40localhost', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: '{"basic":"open","note":"here"}' },
      { method: 'PUT', url: '/v1/presentities/sip%3Aalice%40remote.example', headers: { authorization: `bearer  ${TOKEN}`, 'content-type': 'application/json' }, body: '{"basic":"closed"}' },
      { method: 'GET', url: '/v1/queues/q1/events?lastEventId=3', headers: { authorization: `Bearer ${TOKEN}`, 'last-event-id': '2' } },
    ],
  },
  {
    requests: [
      { method: 'GET', url: '/healthz' },
      { method: 'GET', url: '/metrics', headers: { authorization: 'Bearer wrong' } },
      { method: 'GET', url: '/v1/openapi.json', headers: { authorization: `Bearer ${TOKEN}` } },
      { method: 'POST', url: '/v1/subscriptions', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'text/plain' }, body: 'record=x' },
      { method: 'POST', url: '/v1/subscriptions', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: '{"record":' },
      { method: 'GET', url: '/nowhere/%zz', headers: { authorization: `Bearer ${TOKEN}` } },
    ],
  },
];

async function send(api: HttpApi, request: RequestInput): Promise<void> {
  const method = typeof request.method === 'string' && METHODS.includes(request.method.toUpperCase()) ? request.method.toUpperCase() : 'GET';
  const url = requestTarget(typeof request.url === 'string' ? request.url : '/');
  if (url === undefined) return;
  const body = typeof request.body === 'string' ? request.body : request.body === undefined ? undefined : JSON.stringify(request.body);
  const response = await api.app.inject({
    method: method as 'GET',
    url,
    headers: headersOf(request.headers),
    ...(body !== undefined && method !== 'GET' && method !== 'HEAD' ? { payload: body } : {}),
  });
  const status = response.statusCode;
  property(status < 500, () => `answered 5xx: ${method} ${url.slice(0, 100)} answered ${status}: ${response.body.slice(0, 200)}`);
  if (status < 400 || method === 'HEAD') return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(response.body);
  } catch {
    parsed = undefined;
  }
  const error = (parsed as { error?: { code?: unknown; message?: unknown; field?: unknown } } | undefined)?.error;
  property(
    error !== undefined && typeof error.code === 'string' && typeof error.message === 'string' && (error.field === null || typeof error.field === 'string'),
    () => `error body not {error: {code, message, field}}: ${method} ${url.slice(0, 100)} answered ${status}: ${response.body.slice(0, 200)}`,
  );
}

const httpRoutes: FuzzTarget = {
  name: 'http-routes',
  description: 'the HTTP API routes through fastify inject (JSON {requests: [{method, url, headers, body}]}), real subscription service',
  extension: 'json',
  maxInputBytes: 96 * 1024,
  coverageScope: /\/dist\/src\/|\/node_modules\/(fastify|find-my-way|fast-querystring|secure-json-parse)\//,
  seeds: () => routeSeeds.map((s) => Buffer.from(JSON.stringify(s), 'utf8')),
  mutate: (input, rng, other) =>
    mutateJsonText(input, jsonMutation(rng, other, ['requests', 'method', 'url', 'headers', 'body', 'authorization', 'content-type', 'last-event-id', ...FIELDS])) ??
    mutateBytes(input, { rng, maxBytes: 96 * 1024, dictionary: [], other }),
  async setup() {
    const scheduler = new TimerScheduler(new ManualClock());
    app = createHttpApi({
      subscriptions: delegate,
      presentities: {
        publish(uri: string, _document: PresentityDocument) {
          if (!/@localhost$/i.test(uri)) throw new ApiError(400, 'HTTP_ERR_PRESENTITY', `not a local domain: ${uri}`);
        },
      },
      metrics: { contentType: 'text/plain; version=0.0.4', render: async () => '# TYPE x gauge\nx 1\n' },
      token: TOKEN,
      scheduler,
      version: 'fuzz',
      health: () => ({ subscriptions: 0 }),
    });
    await app.app.ready();
  },
  async run(input) {
    const parsed = decodeJson(input);
    if (parsed === undefined || parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return;
    const requests = Array.isArray(parsed.requests) ? parsed.requests.slice(0, 16) : [];
    const broker = new QsaBroker({ clock: new ManualClock(), random: new SeededRandom(7) });
    // Served packages, as the B2BUA serves them: a POST of one of them is taken, of another refused.
    const silent = { subscribe: () => undefined, unsubscribe: () => undefined };
    for (const pkg of ['presence', 'reg', 'dialog']) broker.registerNotifier(pkg, silent);
    const store = new MemorySubscriptionStore();
    const hub = new QueueHub({ broker, store, ringSize: 4 });
    service = new SubscriptionService(broker, hub, { list: () => [], dialogOf: () => undefined }, pino({ level: 'silent' }), store);
    try {
      for (const request of requests) {
        if (request !== null && typeof request === 'object' && !Array.isArray(request)) await send(app!, request as RequestInput);
      }
    } finally {
      await hub.close();
      await store.close();
    }
  },
};

export default [httpValidation, httpRoutes];
