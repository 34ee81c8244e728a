import { createHash, timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Timer, TimerScheduler } from '../util/timer-scheduler.js';
import { streamRing } from './ring-stream.js';
import { ApiError, BODY_LIMIT_BYTES, type HttpErrorCode, type PresentityPublisher, type StatusView, type SubscriptionApi } from './api-types.js';
import type { QsaErrorCode } from '../qsa/qsa-error.js';
import type { RingEvent } from './event-ring.js';
import { openApiDocument } from './openapi.js';
import { type RateLimit, RateLimiter } from './rate-limiter.js';
import { STREAM_TOKEN_PARAMETER, StreamTokens } from './stream-tokens.js';
import { isStatusPageAsset, registerStatusPage } from './status-page.js';
import type { StatusFeedEvent, StatusFeedSource } from './status-stream.js';
import {
  checkServedPackage,
  parseCreateSubscription,
  parseFilter,
  parseEventsRequest,
  parsePresentity,
  parsePresentityUri,
  parseQueueName,
} from './request-validation.js';

export interface HttpApiOptions {
  subscriptions: SubscriptionApi;
  /** The local presence agent; PUT /v1/presentities answers 404 without one. */
  presentities?: PresentityPublisher;
  /** Prometheus text for GET /metrics. */
  metrics: { contentType: string; render(): Promise<string> };
  /** Bearer token every request but /healthz must present; none: no authentication. */
  token?: string;
  /** For the SSE keep-alive comments (one timer for every stream). */
  scheduler: TimerScheduler;
  logger?: Logger;
  version?: string;
  /** The live overview for the status page's stream (GET /v1/status/events); 404 without one. */
  statusFeed?: StatusFeedSource;
  /** Health details for GET /healthz. */
  health?: () => Record<string, unknown>;
  /** Milliseconds between SSE keep-alive comments (default 15000). */
  heartbeatMs?: number;
  /** An SSE client this far behind (octets buffered) is disconnected; it can resume with Last-Event-ID. */
  maxSseBacklogBytes?: number;
  /** Lifetime of the stream tokens of POST /v1/stream-tokens, seconds (default 60). */
  streamTokenTtlSeconds?: number;
  /** What an API client may make the daemon hold (docs/hostile-input.md, "HTTP API"); each absent one: no limit but the body's 64 KiB. */
  limits?: HttpLimits;
  /** How many subscriptions and named queues exist now, for the limits. */
  counts?: () => { subscriptions: number; queues: number };
  /** HTTPS instead of HTTP: PEM certificate chain and key. */
  tls?: { cert: string | Buffer; key: string | Buffer };
}

/** Limits of the HTTP API; 0 or absent = no limit (the body: 64 KiB). */
export interface HttpLimits {
  maxSubscriptions?: number;
  maxQueues?: number;
  maxSseClients?: number;
  maxBodyBytes?: number;
  rateLimit?: RateLimit;
}

/** The running HTTP API. */
export interface HttpApi {
  readonly app: FastifyInstance;
  /** Binds; resolves with the address actually bound (port 0 → the real port). */
  listen(host: string, port: number): Promise<{ host: string; port: number }>;
  /** Open Server-Sent Events streams. */
  readonly sseClients: number;
  /** Every route registered (HEAD aside), for the OpenAPI document's tests. */
  readonly routes: readonly HttpRoute[];
  /** Ends the event streams, then stops the server. */
  close(): Promise<void>;
}

function sendError(reply: FastifyReply, status: number, code: HttpErrorCode | QsaErrorCode, message: string, field?: string): FastifyReply {
  return reply.code(status).type('application/json').send({ error: { code, message, field: field ?? null } });
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** A named queue's event stream. */
const EVENTS_ROUTE = '/v1/queues/:name/events';
/** The status page's event stream (src/http/status-stream.ts). */
const STATUS_EVENTS_ROUTE = '/v1/status/events';
/** The only routes a stream token opens: event streams (EventSource cannot send an Authorization header). */
const STREAM_ROUTES: ReadonlySet<string> = new Set([EVENTS_ROUTE, STATUS_EVENTS_ROUTE]);

/** Each event is serialized once, however many streams carry it. */
const serialized = new WeakMap<RingEvent<StatusView>, string>();

function sseEvent(event: RingEvent<StatusView>): string {
  let text = serialized.get(event);
  if (text === undefined) {
    text = `id: ${event.id}\nevent: status\ndata: ${JSON.stringify(event.value)}\n\n`;
    serialized.set(event, text);
  }
  return text;
}

/** Routes that need no token whatever their query string. */
const PUBLIC_ROUTES: ReadonlySet<string> = new Set(['/healthz']);

/** A route as registered: its method and its path pattern (`/v1/subscriptions/:id`). */
export interface HttpRoute {
  method: string;
  url: string;
}

function positive(limit: number | undefined): limit is number {
  return limit !== undefined && limit > 0;
}

function codeOf(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

function statusOf(error: unknown): number {
  return typeof error === 'object' && error !== null && 'statusCode' in error && typeof error.statusCode === 'number' ? error.statusCode : 500;
}

/** The path of a route pattern as a regular expression (`:id` matches one segment). */
function patternOf(url: string): RegExp {
  const escaped = url
    .split('/')
    .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${escaped}$`);
}

/**
 * The daemon's HTTP API (fastify 5): subscriptions, queue event streams,
 * presentities of the local agent, OpenAPI, health and metrics.
 * One error vocabulary on every route: `{ error: { code, message, field } }`
 * with a code of src/util/error-codes.ts and a message of our own, never the
 * words of fastify or of the validation library: request fields are checked
 * by hand (request-validation.ts); a body that is too large is 413, one that
 * is not JSON 415, a known path with another method 405 (with `Allow`).
 */
export function createHttpApi(options: HttpApiOptions): HttpApi {
  const limits = options.limits ?? {};
  const bodyLimit = limits.maxBodyBytes !== undefined && limits.maxBodyBytes > 0 ? limits.maxBodyBytes : BODY_LIMIT_BYTES;
  const app = Fastify({
    logger: false,
    ...(options.tls !== undefined ? { https: { cert: options.tls.cert, key: options.tls.key } } : {}),
    bodyLimit,
    forceCloseConnections: true,
    return503OnClosing: true,
    // A presentity URI (up to 1024 characters) is one path segment, percent-encoded: up to 3 octets a character.
    routerOptions: { maxParamLength: 3 * 1024 },
    // The router refuses a path it cannot decode (`%zz`) or a segment past maxParamLength before any hook or
    // handler runs; without this, fastify answers those in its own body shape and words instead of ours.
    frameworkErrors: (error, _request, reply) => {
      const status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
      const message = status === 414 ? 'the URL is too long (a path segment over 3072 octets)' : error.code === 'FST_ERR_BAD_URL' ? 'the URL is not valid (bad percent-encoding)' : 'the URL is not valid';
      return sendError(reply, status, 'HTTP_ERR_BAD_REQUEST', message);
    },
  });
  // JSON only: fastify would read text/plain as a string otherwise.
  app.removeContentTypeParser('text/plain');
  const api = options.subscriptions;
  const logger = options.logger;
  const tokenDigest = options.token !== undefined ? digest(options.token) : undefined;
  const maxBacklog = options.maxSseBacklogBytes ?? 1024 * 1024;
  const streams = new Set<ServerResponse>();
  let heartbeat: Timer | undefined;
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const streamTokens = new StreamTokens(options.scheduler.clock, options.streamTokenTtlSeconds !== undefined ? { ttlSeconds: options.streamTokenTtlSeconds } : {});
  const routes: HttpRoute[] = [];
  const patterns: Array<{ method: string; pattern: RegExp }> = [];

  const beat = (): void => {
    heartbeat = undefined;
    for (const res of streams) res.write(': keep-alive\n\n');
    if (streams.size > 0) heartbeat = options.scheduler.after(heartbeatMs, beat);
  };

  app.addHook('onRoute', (route) => {
    for (const method of Array.isArray(route.method) ? route.method : [route.method]) {
      // fastify adds HEAD for every GET by itself.
      if (method === 'HEAD') continue;
      routes.push({ method, url: route.url });
      patterns.push({ method, pattern: patternOf(route.url) });
    }
  });

  const rateLimiter = new RateLimiter(limits.rateLimit ?? { requestsPerSecond: 0, burst: 1 }, options.scheduler.clock);
  /** 429 when `key` is over the rate limit; undefined when the request may go on. */
  const overRate = (key: string, reply: FastifyReply): FastifyReply | undefined => {
    const wait = rateLimiter.take(key);
    if (wait === 0) return undefined;
    reply.header('retry-after', String(wait));
    return sendError(reply, 429, 'HTTP_ERR_RATE_LIMITED', `too many requests: over http.rate_limit (${limits.rateLimit?.requestsPerSecond}/s, burst ${limits.rateLimit?.burst}); retry after ${wait} s`);
  };

  app.addHook('onRequest', async (request, reply) => {
    if (PUBLIC_ROUTES.has(request.routeOptions.url ?? '') || isStatusPageAsset(request.routeOptions.url ?? '')) return;
    if (tokenDigest === undefined) return rateLimiter.enabled ? overRate(`address ${request.ip}`, reply) : undefined;
    const streamToken = (request.query as Record<string, unknown> | undefined)?.[STREAM_TOKEN_PARAMETER];
    if (STREAM_ROUTES.has(request.routeOptions.url ?? '') && request.method === 'GET' && typeof streamToken === 'string') {
      const check = streamTokens.check(streamToken);
      if (check === 'valid') return overRate(`stream ${streamToken}`, reply);
      return sendError(
        reply,
        401,
        'HTTP_ERR_UNAUTHORIZED',
        `${check === 'expired' ? 'expired' : 'invalid'} stream token (${STREAM_TOKEN_PARAMETER}): get a new one with POST /v1/stream-tokens`,
        STREAM_TOKEN_PARAMETER,
      );
    }
    const header = request.headers.authorization;
    const presented = typeof header === 'string' && /^Bearer\s+/i.test(header) ? header.replace(/^Bearer\s+/i, '').trim() : undefined;
    // Constant-time comparison of fixed-length digests: the token's length leaks nothing either.
    if (presented === undefined || !timingSafeEqual(digest(presented), tokenDigest)) {
      // Failed attempts are limited per address, so that guessing is as slow as using.
      const limited = overRate(`address ${request.ip}`, reply);
      if (limited !== undefined) return limited;
      reply.header('www-authenticate', 'Bearer realm="presence-b2b"');
      return sendError(
        reply,
        401,
        'HTTP_ERR_UNAUTHORIZED',
        presented === undefined ? 'a bearer token is required: Authorization: Bearer <http.token>' : 'wrong bearer token (not http.token)',
      );
    }
    return overRate('token', reply);
  });

  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof ApiError) return sendError(reply, error.status, error.code, error.message, error.field);
    switch (codeOf(error)) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return sendError(reply, 413, 'HTTP_ERR_BODY_TOO_LARGE', `request body: larger than ${bodyLimit} bytes (http.max_body)`);
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': {
        const type = request.headers['content-type'] ?? '';
        return sendError(reply, 415, 'HTTP_ERR_MEDIA_TYPE', `request body: expected Content-Type application/json, got ${JSON.stringify(type.split(';')[0]?.trim() ?? '')}`);
      }
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return sendError(reply, 400, 'HTTP_ERR_BAD_REQUEST', 'request body: empty, with Content-Type application/json (expected a JSON object, or no Content-Type)');
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
        return sendError(reply, 400, 'HTTP_ERR_BAD_REQUEST', 'request body: not valid JSON');
      default:
        break;
    }
    const status = statusOf(error);
    if (status >= 400 && status < 500) return sendError(reply, 400, 'HTTP_ERR_BAD_REQUEST', 'the request could not be read');
    logger?.error({ err: error }, 'HTTP handler failed');
    return sendError(reply, 500, 'HTTP_ERR_INTERNAL', 'internal error');
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    const allowed = patterns.filter((p) => p.pattern.test(path)).map((p) => p.method);
    if (allowed.length > 0) {
      // RFC 9110 §15.5.6: 405 lists the methods the resource has.
      const allow = [...new Set(allowed.flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m])))].sort();
      reply.header('allow', allow.join(', '));
      return sendError(reply, 405, 'HTTP_ERR_METHOD_NOT_ALLOWED', `${request.method} is not allowed on ${path}: ${allow.join(', ')}`);
    }
    return sendError(reply, 404, 'HTTP_ERR_NOT_FOUND', `no route ${request.method} ${path}`);
  });

  app.get('/healthz', async () => ({ status: 'ok', ...(options.health?.() ?? {}) }));

  app.get('/metrics', async (_request, reply) => {
    const text = await options.metrics.render();
    return reply.type(options.metrics.contentType).send(text);
  });

  app.get('/v1/openapi.json', async () => openApiDocument(options.version ?? '0.0.0', api.servedPackages()));

  registerStatusPage(app);

  /** Opens a Server-Sent Events response on the raw socket, counted and kept alive with the others. */
  /** http.max_sse_clients, over both kinds of event stream: each holds a socket, a subscription and up to maxSseBacklogBytes of buffer. */
  const refuseOverStreamLimit = (reply: FastifyReply): void => {
    if (!positive(limits.maxSseClients) || streams.size < limits.maxSseClients) return;
    reply.header('retry-after', '5');
    throw new ApiError(503, 'HTTP_ERR_TOO_MANY_SSE_CLIENTS', `${streams.size} event streams are open, the most http.max_sse_clients allows: retry later`);
  };

  const openStream = (reply: FastifyReply, onClose: () => void): ServerResponse => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    streams.add(res);
    if (heartbeat === undefined) heartbeat = options.scheduler.after(heartbeatMs, beat);
    const done = (): void => {
      onClose();
      streams.delete(res);
    };
    res.on('close', done);
    res.on('error', done);
    return res;
  };

  // The status page's stream: a snapshot of every subscription, then what changes (src/http/status-stream.ts).
  app.get(STATUS_EVENTS_ROUTE, (_request, reply) => {
    const feed = options.statusFeed;
    if (feed === undefined) throw new ApiError(404, 'HTTP_ERR_NOT_FOUND', 'no status feed in this server');
    refuseOverStreamLimit(reply);
    let unsubscribe: (() => void) | undefined;
    const res = openStream(reply, () => unsubscribe?.());
    res.write(`event: snapshot\ndata: ${JSON.stringify(feed.snapshot())}\n\n`);
    unsubscribe = feed.subscribe((event: StatusFeedEvent) => {
      if (res.writableLength > maxBacklog) {
        res.destroy(); // the page reconnects and starts again from a snapshot
        return;
      }
      const { type, ...data } = event;
      res.write(`event: ${type}\ndata: ${JSON.stringify(type === 'subscription' ? event.subscription : type === 'status' ? event.status : data)}\n\n`);
    });
  });

  app.post('/v1/subscriptions', async (request, reply) => {
    const body = parseCreateSubscription(request.body);
    checkServedPackage(body.package, api.servedPackages());
    const counts = options.counts?.();
    if (counts !== undefined && positive(limits.maxSubscriptions) && counts.subscriptions >= limits.maxSubscriptions) {
      throw new ApiError(409, 'HTTP_ERR_TOO_MANY_SUBSCRIPTIONS', `${counts.subscriptions} subscriptions exist, the most http.max_subscriptions allows: delete some first`);
    }
    if (counts !== undefined && positive(limits.maxQueues) && api.events(body.queue) === undefined && counts.queues >= limits.maxQueues) {
      throw new ApiError(409, 'HTTP_ERR_TOO_MANY_QUEUES', `${counts.queues} named queues exist, the most http.max_queues allows: use one of them`, 'queue');
    }
    const view = await api.create(body);
    return reply.code(201).header('location', `/v1/subscriptions/${encodeURIComponent(view.id)}`).send(view);
  });

  app.get('/v1/subscriptions', async (request) => ({ subscriptions: api.list(parseFilter(request.query)) }));

  app.get<{ Params: { id: string } }>('/v1/subscriptions/:id', async (request) => {
    const view = await api.get(request.params.id);
    if (view === undefined) throw new ApiError(404, 'HTTP_ERR_NO_SUBSCRIPTION', `no subscription ${request.params.id}`, 'id');
    return view;
  });

  app.delete<{ Params: { id: string } }>('/v1/subscriptions/:id', async (request, reply) => {
    if (!(await api.remove(request.params.id))) throw new ApiError(404, 'HTTP_ERR_NO_SUBSCRIPTION', `no subscription ${request.params.id}`, 'id');
    return reply.code(204).send();
  });

  app.put<{ Params: { uri: string } }>('/v1/presentities/:uri', async (request, reply) => {
    const uri = parsePresentityUri(request.params.uri);
    const document = parsePresentity(request.body);
    if (options.presentities === undefined) throw new ApiError(404, 'HTTP_ERR_NO_LOCAL_AGENT', 'the local presence agent is disabled (local_agent.enabled)');
    try {
      options.presentities.publish(uri, document);
    } catch (error) {
      throw new ApiError(400, 'HTTP_ERR_PRESENTITY', error instanceof Error ? error.message : String(error), 'uri');
    }
    return reply.code(204).send();
  });

  app.post('/v1/stream-tokens', async (_request, reply) => reply.code(201).send(streamTokens.issue()));

  app.get<{ Params: { name: string } }>(EVENTS_ROUTE, async (request, reply) => {
    const name = parseQueueName(request.params.name);
    const lastId = parseEventsRequest(request.query, request.headers['last-event-id']);
    let ring = api.events(name);
    // Cluster mode: a queue made on another node, or an id that another node handed out and this one has not read yet.
    if (api.resumeEvents !== undefined && (ring === undefined || (lastId !== undefined && ring.isAhead(lastId)))) {
      ring = await api.resumeEvents(name);
    }
    if (ring === undefined) throw new ApiError(404, 'HTTP_ERR_NO_QUEUE', `no queue ${name} (queues are created by POST /v1/subscriptions)`, 'name');
    refuseOverStreamLimit(reply);
    let unsubscribe: (() => void) | undefined;
    const res = openStream(reply, () => unsubscribe?.());
    // A gap: the client missed events the ring no longer holds (`dropped`), or names an id
    // beyond every one issued (`unknown`: not ours; it gets everything the ring holds).
    let resumeAfter = lastId;
    if (lastId !== undefined && ring.isAhead(lastId)) {
      res.write(`event: gap\ndata: ${JSON.stringify({ lastEventId: lastId, reason: 'unknown', newestId: ring.newestId ?? null })}\n\n`);
      resumeAfter = undefined;
    } else if (lastId !== undefined && ring.missedAfter(lastId)) {
      res.write(`event: gap\ndata: ${JSON.stringify({ lastEventId: lastId, reason: 'dropped', oldestAvailable: ring.oldestId ?? null })}\n\n`);
    }
    unsubscribe = streamRing({ res, ring, after: resumeAfter, maxBacklog, format: sseEvent, scheduler: options.scheduler });
  });

  return {
    app,
    async listen(host, port) {
      await app.listen({ host, port });
      const address = app.server.address();
      if (address === null || typeof address === 'string') return { host, port };
      return { host: address.address, port: address.port };
    },
    get sseClients() {
      return streams.size;
    },
    routes,
    async close() {
      heartbeat?.cancel();
      heartbeat = undefined;
      for (const res of streams) res.end();
      streams.clear();
      await app.close();
    },
  };
}
