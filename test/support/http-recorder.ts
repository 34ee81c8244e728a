/**
 * Records what an HTTP API answered, per route: `(method, route pattern,
 * status)` with the content type and body of the first such answer, for the
 * test that compares the OpenAPI document with what the API really does.
 * Event streams (hijacked replies that stay open) are recorded when they
 * close.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';

export interface RecordedResponse {
  method: string;
  /** The route pattern (`/v1/subscriptions/:id`); undefined for no route (404, 405). */
  route: string | undefined;
  status: number;
  contentType: string | undefined;
  body: string | undefined;
}

export class HttpRecorder {
  /** `METHOD /route/:param STATUS` → the first answer of that kind. */
  readonly responses = new Map<string, RecordedResponse>();
  private readonly payloads = new WeakMap<FastifyRequest, string>();

  /** Hooks into `app`; call before it listens. */
  attach(app: FastifyInstance): void {
    app.addHook('onRequest', async (request, reply) => {
      // Hijacked replies (event streams) have no onResponse when the client leaves.
      reply.raw.once('close', () => this.record(request, reply.raw.statusCode, reply.raw.getHeader('content-type')));
    });
    app.addHook('onSend', async (request, _reply, payload) => {
      if (typeof payload === 'string') this.payloads.set(request, payload);
      return payload;
    });
    app.addHook('onResponse', async (request, reply) => {
      this.record(request, reply.statusCode, reply.getHeader('content-type'));
    });
  }

  /** The keys recorded for routes (`METHOD /route/:param STATUS`), HEAD aside. */
  routeKeys(): Set<string> {
    return new Set([...this.responses.values()].filter((r) => r.route !== undefined && r.method !== 'HEAD').map((r) => `${r.method} ${r.route} ${r.status}`));
  }

  private record(request: FastifyRequest, status: number, contentType: unknown): void {
    const route = request.routeOptions.url;
    const key = `${request.method} ${route ?? '-'} ${status}`;
    if (this.responses.has(key)) return;
    this.responses.set(key, {
      method: request.method,
      route,
      status,
      contentType: typeof contentType === 'string' ? contentType : undefined,
      body: this.payloads.get(request),
    });
  }
}
