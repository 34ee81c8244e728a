/** The OpenAPI 3.1 description of the HTTP API, served at `/v1/openapi.json`. Written by hand; keep it in step with http-server.ts. */
export function openApiDocument(version: string): Record<string, unknown> {
  const error = { $ref: '#/components/schemas/Error' };
  const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: error } } });
  const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
  return {
    openapi: '3.1.0',
    info: {
      title: 'presence-b2b',
      version,
      description:
        'Internal subscriptions to presence ("the presence of record R as seen by subscriber S, into queue Q") and their status messages.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'Required when http.token is configured (always beyond loopback).' },
      },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: {
                code: { type: 'string', examples: ['HTTP_ERR_INVALID_FIELD'] },
                message: { type: 'string' },
                field: { type: ['string', 'null'], description: 'The request field at fault, when one is' },
              },
            },
          },
        },
        CreateSubscription: {
          type: 'object',
          additionalProperties: false,
          required: ['record', 'subscriber'],
          properties: {
            record: { type: 'string', examples: ['sip:alice@example.com'], description: 'Whose presence' },
            subscriber: { type: 'string', examples: ['sip:bob@example.com'], description: 'As seen by whom (From of the SUBSCRIBE)' },
            package: { type: 'string', default: 'presence' },
            queue: { type: 'string', default: 'default', pattern: '^[A-Za-z0-9_.-]{1,64}$' },
          },
        },
        Status: {
          type: 'object',
          required: ['sequence', 'timestamp', 'subscriptionId', 'record', 'subscriber', 'package', 'state'],
          properties: {
            sequence: { type: 'integer', description: 'Per queue, strictly increasing; the SSE event id' },
            timestamp: { type: 'string', format: 'date-time' },
            subscriptionId: { type: 'string' },
            record: { type: 'string' },
            subscriber: { type: 'string' },
            package: { type: 'string' },
            state: { enum: ['pending', 'active', 'terminated', 'rejected'], description: 'State of the subscription, not of the presentity' },
            reason: { type: 'string' },
            retryAfter: { type: 'integer' },
            expires: { type: 'integer' },
            contentType: { type: 'string' },
            body: { type: 'string', description: 'The NOTIFY body as UTF-8 text' },
            presence: { type: 'object', description: 'The parsed PIDF document (tuples with basic status, notes, persons, …)' },
            error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } } },
          },
        },
        Subscription: {
          type: 'object',
          required: ['id', 'record', 'subscriber', 'package', 'queue', 'createdAt', 'state'],
          properties: {
            id: { type: 'string' },
            record: { type: 'string' },
            subscriber: { type: 'string' },
            package: { type: 'string' },
            queue: { type: 'string' },
            createdAt: { type: 'string', format: 'date-time' },
            state: { enum: ['none', 'pending', 'active', 'terminated', 'rejected'] },
            notifier: { type: 'string' },
            dialog: {
              type: 'object',
              properties: {
                id: { type: 'string' },
                state: { enum: ['waiting', 'subscribing', 'active', 'refreshing', 'unsubscribing', 'terminating', 'final'] },
                callId: { type: 'string' },
                remoteTarget: { type: 'string' },
                expiresIn: { type: 'integer', description: 'Seconds left of the granted subscription' },
                members: { type: 'array', items: { type: 'string' } },
              },
            },
            lastStatus: { $ref: '#/components/schemas/Status' },
          },
        },
        Presentity: {
          type: 'object',
          additionalProperties: false,
          required: ['basic'],
          properties: { basic: { enum: ['open', 'closed'] }, note: { type: 'string', maxLength: 1024 } },
        },
      },
    },
    paths: {
      '/v1/subscriptions': {
        post: {
          summary: 'Create an internal subscription',
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/CreateSubscription' } } } },
          responses: {
            '201': { description: 'Created', content: { 'application/json': { schema: { $ref: '#/components/schemas/Subscription' } } } },
            '400': errorResponse('Invalid request; `field` names the culprit'),
            '401': errorResponse('Missing or wrong bearer token'),
          },
        },
        get: {
          summary: 'List subscriptions',
          parameters: [
            { name: 'record', in: 'query', schema: { type: 'string' } },
            { name: 'subscriber', in: 'query', schema: { type: 'string' } },
            { name: 'state', in: 'query', schema: { type: 'string' }, description: 'Status state (none, pending, active, …) or dialog state (waiting, subscribing, …)' },
          ],
          responses: {
            '200': {
              description: 'The subscriptions',
              content: {
                'application/json': {
                  schema: { type: 'object', properties: { subscriptions: { type: 'array', items: { $ref: '#/components/schemas/Subscription' } } } },
                },
              },
            },
          },
        },
      },
      '/v1/subscriptions/{id}': {
        parameters: [idParam],
        get: {
          summary: 'One subscription',
          responses: {
            '200': { description: 'The subscription', content: { 'application/json': { schema: { $ref: '#/components/schemas/Subscription' } } } },
            '404': errorResponse('No such subscription'),
          },
        },
        delete: {
          summary: 'Unsubscribe (the SIP dialog is ended with Expires: 0 when nobody else shares it)',
          responses: { '204': { description: 'Unsubscribed' }, '404': errorResponse('No such subscription') },
        },
      },
      '/v1/queues/{name}/events': {
        parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }],
        get: {
          summary: 'Status messages of a named queue as Server-Sent Events',
          description:
            'Each event: `id: <sequence>`, `event: status`, `data: <Status JSON>`. Send `Last-Event-ID` (or `?lastEventId=`) to resume; ' +
            'an `event: gap` tells that events after that id were already dropped from the buffer (http.sse_buffer).',
          parameters: [
            { name: 'Last-Event-ID', in: 'header', schema: { type: 'string' } },
            { name: 'lastEventId', in: 'query', schema: { type: 'string' } },
            {
              name: 'access_token',
              in: 'query',
              schema: { type: 'string' },
              description: 'A stream token from POST /v1/stream-tokens, for clients that cannot send an Authorization header (EventSource)',
            },
          ],
          responses: { '200': { description: 'The event stream', content: { 'text/event-stream': {} } }, '404': errorResponse('No such queue') },
        },
      },
      '/v1/stream-tokens': {
        post: {
          summary: 'A short-lived token that opens event streams without an Authorization header (for EventSource in a browser)',
          description:
            'The token opens any number of `GET /v1/queues/{name}/events?access_token=<token>` until it expires (60 s; a stream already open stays open) ' +
            'and is accepted nowhere else. A restart of the daemon invalidates it.',
          responses: {
            '201': {
              description: 'The token',
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    required: ['token', 'expiresIn'],
                    properties: { token: { type: 'string' }, expiresIn: { type: 'integer', description: 'Seconds the token stays valid' } },
                  },
                },
              },
            },
            '401': errorResponse('Missing or wrong bearer token'),
          },
        },
      },
      '/v1/presentities/{uri}': {
        parameters: [{ name: 'uri', in: 'path', required: true, schema: { type: 'string' }, description: 'URL-encoded SIP URI, e.g. sip%3Aalice%40localhost' }],
        put: {
          summary: 'Publish the presence of a local presentity into the local presence agent',
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/Presentity' } } } },
          responses: {
            '204': { description: 'Published' },
            '400': errorResponse('Invalid document or URI'),
            '404': errorResponse('The local presence agent is disabled'),
          },
        },
      },
      '/v1/openapi.json': { get: { summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1' } } } },
      '/healthz': { get: { summary: 'Liveness (no token needed)', security: [], responses: { '200': { description: 'Up' } } } },
      '/metrics': { get: { summary: 'Prometheus metrics', responses: { '200': { description: 'Text exposition format 0.0.4' } } } },
    },
  };
}
