import { ERROR_CODES } from '../util/error-codes.js';
import { BODY_LIMIT_BYTES, DIALOG_STATES, FILTER_STATES, STATUS_STATES } from './api-types.js';
import { STREAM_TOKEN_TTL_SECONDS } from './stream-tokens.js';

/** The codes an error body may carry: the API's own and the broker's. */
const API_ERROR_CODES = Object.keys(ERROR_CODES).filter((code) => code.startsWith('HTTP_ERR_') || code.startsWith('QSA_ERR_'));

type Json = Record<string, unknown>;

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Json): Json => ({ 'application/json': { schema } });
const error = (description: string): Json => ({ description, content: json(ref('Error')) });

/** Answers every operation behind the token can give. */
const UNAUTHORIZED = { '401': { $ref: '#/components/responses/Unauthorized' } };
/** Answers of every operation that reads a request body (POST, PUT, DELETE: fastify reads a body there when one is sent). */
const BODY_ERRORS = {
  '413': { $ref: '#/components/responses/BodyTooLarge' },
  '415': { $ref: '#/components/responses/MediaType' },
};

/** A contact of a registration (RFC 3680 §5.1), as in `reg.registrations[].contacts[]`. */
const REG_CONTACT = {
  type: 'object',
  required: ['id', 'uri', 'state'],
  properties: {
    id: { type: 'string' },
    uri: { type: 'string' },
    state: { enum: ['active', 'terminated'] },
    event: { enum: ['registered', 'created', 'refreshed', 'shortened', 'expired', 'deactivated', 'probation', 'unregistered', 'rejected'] },
    expires: { type: 'integer', description: 'Seconds left of the binding' },
    q: { type: 'number' },
    retryAfter: { type: 'integer' },
    durationRegistered: { type: 'integer' },
    callId: { type: 'string' },
    cseq: { type: 'integer' },
    displayName: { type: 'object', properties: { text: { type: 'string' }, lang: { type: 'string' } } },
    unknownParams: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, value: { type: 'string' } } } },
  },
};

const REGISTRATION = {
  type: 'object',
  required: ['aor', 'id', 'state', 'contacts'],
  properties: {
    aor: { type: 'string', description: 'The address-of-record' },
    id: { type: 'string' },
    state: { enum: ['init', 'active', 'terminated'] },
    contacts: { type: 'array', items: { $ref: '#/components/schemas/RegContact' } },
  },
};

const CONTACT_CHANGE = {
  type: 'object',
  properties: { registrationId: { type: 'string' }, aor: { type: 'string' }, contact: { $ref: '#/components/schemas/RegContact' } },
};

const DIALOG_PARTICIPANT = {
  type: 'object',
  properties: {
    identity: { type: 'object', properties: { uri: { type: 'string' }, display: { type: 'string' } } },
    target: { type: 'object', properties: { uri: { type: 'string' }, params: { type: 'array', items: { type: 'object' } } } },
    cseq: { type: 'integer' },
  },
};

const DIALOG = {
  type: 'object',
  required: ['id', 'state', 'routeSet'],
  properties: {
    id: { type: 'string' },
    callId: { type: 'string' },
    localTag: { type: 'string' },
    remoteTag: { type: 'string' },
    direction: { enum: ['initiator', 'recipient'] },
    state: { enum: ['trying', 'proceeding', 'early', 'confirmed', 'terminated'] },
    event: { enum: ['cancelled', 'rejected', 'replaced', 'local-bye', 'remote-bye', 'error', 'timeout'] },
    code: { type: 'integer' },
    duration: { type: 'integer' },
    routeSet: { type: 'array', items: { type: 'string' } },
    local: { $ref: '#/components/schemas/DialogParticipant' },
    remote: { $ref: '#/components/schemas/DialogParticipant' },
  },
};

const dialogs = { type: 'array', items: { $ref: '#/components/schemas/Dialog' } };

/**
 * The OpenAPI 3.1 description of the HTTP API, served at `/v1/openapi.json`.
 * Written by hand, in step with http-server.ts: test/unit/http/openapi.test.ts
 * validates it, checks that every route is in it and that every response
 * code it documents is produced by the HTTP tests. `packages`: the event
 * packages served (the enum of `package`; default presence only).
 */
export function openApiDocument(version: string, packages: readonly string[] = ['presence']): Json {
  return {
    openapi: '3.1.0',
    info: {
      title: 'presence-b2b',
      version,
      description:
        'Internal subscriptions ("the presence of record R as seen by subscriber S, into queue Q"; also its registrations, package `reg`, ' +
        'or its dialogs, package `dialog`; a record may be a resource list) and their status messages. ' +
        'Every error is `{"error": {"code", "message", "field"}}`. A known path with a method it does not have is answered 405 ' +
        '`HTTP_ERR_METHOD_NOT_ALLOWED` with `Allow`; an unknown path 404 `HTTP_ERR_NOT_FOUND`. Request bodies are JSON ' +
        `(\`Content-Type: application/json\`, else 415) of at most http.max_body bytes (${BODY_LIMIT_BYTES} by default; else 413). ` +
        'Any request but /healthz may be answered 429 `HTTP_ERR_RATE_LIMITED` with `Retry-After` when its client (its token, else its address) is over http.rate_limit.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'http.token; required when it is configured (always beyond loopback).' },
        streamToken: {
          type: 'apiKey',
          in: 'query',
          name: 'access_token',
          description: `A stream token from POST /v1/stream-tokens (valid ${STREAM_TOKEN_TTL_SECONDS} s): opens event streams only, for clients that cannot send an Authorization header (EventSource)`,
        },
      },
      responses: {
        Unauthorized: error('No bearer token, or a wrong one (`HTTP_ERR_UNAUTHORIZED`, with `WWW-Authenticate`)'),
        BodyTooLarge: error(`A request body larger than ${BODY_LIMIT_BYTES} bytes (\`HTTP_ERR_BODY_TOO_LARGE\`)`),
        MediaType: error('A request body whose Content-Type is not application/json (`HTTP_ERR_MEDIA_TYPE`)'),
        BadBody: error('A request body that is not JSON (`HTTP_ERR_BAD_REQUEST`)'),
      },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          additionalProperties: false,
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message', 'field'],
              additionalProperties: false,
              properties: {
                code: { enum: API_ERROR_CODES, description: 'A stable code (README, Errors)' },
                message: { type: 'string', description: 'For people: the field, what was expected and what came' },
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
            record: { type: 'string', examples: ['sip:alice@example.com'], description: 'Whose presence: a SIP URI' },
            subscriber: { type: 'string', examples: ['sip:bob@example.com'], description: 'As seen by whom (From of the SUBSCRIBE): a SIP URI' },
            package: {
              enum: [...packages],
              default: 'presence',
              description: 'Event package: one that this daemon serves (another is refused with HTTP_ERR_INVALID_FIELD, field package)',
            },
            queue: { type: 'string', default: 'default', pattern: '^[A-Za-z0-9_.-]{1,64}$' },
          },
        },
        Status: {
          type: 'object',
          required: ['sequence', 'timestamp', 'subscriptionId', 'record', 'subscriber', 'package', 'state'],
          properties: {
            sequence: { type: 'integer', description: 'Per queue, strictly increasing, across restarts too; the SSE event id' },
            timestamp: { type: 'string', format: 'date-time' },
            subscriptionId: { type: 'string' },
            record: { type: 'string', description: 'The subscription’s record; on a resource list member’s message, the member' },
            subscriber: { type: 'string' },
            package: { type: 'string', description: 'presence: `presence` is set; reg: `reg`; dialog: `dialog` (each when the body was read)' },
            list: {
              type: 'string',
              description: 'Set on the messages of a resource list’s members (RFC 4662): the URI of the list the member belongs to (a nested list’s for its members)',
            },
            state: {
              enum: STATUS_STATES.filter((s) => s !== 'none'),
              description: 'State of the subscription (of a list member: of its instance), not of the presentity',
            },
            reason: { type: 'string' },
            retryAfter: { type: 'integer' },
            expires: { type: 'integer' },
            contentType: { type: 'string' },
            body: { type: 'string', description: 'The NOTIFY body (of a list member: its part) as UTF-8 text' },
            presence: { type: 'object', description: 'package presence: the parsed PIDF document (tuples with basic status, notes, persons, …)' },
            reg: ref('RegInfo'),
            dialog: ref('DialogInfo'),
            error: {
              type: 'object',
              required: ['code', 'message'],
              description: 'A body that could not be read (then `body` holds it raw) or a failed subscription',
              properties: { code: { type: 'string' }, message: { type: 'string' } },
            },
          },
        },
        RegInfo: {
          type: 'object',
          description:
            'package reg (RFC 3680): every registration as it stands after this NOTIFY (merged from partial documents), and what it changed. ' +
            'A removed contact is in changes.contacts.removed once (state terminated, with the notifier’s event when it gave one).',
          required: ['registrations', 'changes'],
          properties: {
            version: { type: 'integer' },
            registrations: { type: 'array', items: { $ref: '#/components/schemas/Registration' } },
            changes: {
              type: 'object',
              properties: {
                registrations: {
                  type: 'object',
                  properties: {
                    added: { type: 'array', items: { $ref: '#/components/schemas/Registration' } },
                    updated: { type: 'array', items: { $ref: '#/components/schemas/Registration' } },
                    removed: { type: 'array', items: { $ref: '#/components/schemas/Registration' } },
                  },
                },
                contacts: {
                  type: 'object',
                  properties: {
                    added: { type: 'array', items: { $ref: '#/components/schemas/RegContactChange' } },
                    updated: { type: 'array', items: { $ref: '#/components/schemas/RegContactChange' } },
                    removed: { type: 'array', items: { $ref: '#/components/schemas/RegContactChange' } },
                  },
                },
              },
            },
          },
        },
        Registration: REGISTRATION,
        RegContact: REG_CONTACT,
        RegContactChange: CONTACT_CHANGE,
        DialogInfo: {
          type: 'object',
          description:
            'package dialog (RFC 4235): every dialog of the entity as it stands after this NOTIFY (what a busy lamp needs), and what it changed. ' +
            'A dialog that ended is in changes.removed once, state terminated.',
          required: ['entity', 'dialogs', 'changes'],
          properties: {
            version: { type: 'integer' },
            entity: { type: 'string' },
            dialogs,
            changes: { type: 'object', properties: { added: dialogs, updated: dialogs, removed: dialogs } },
          },
        },
        Dialog: DIALOG,
        DialogParticipant: DIALOG_PARTICIPANT,
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
            state: { enum: [...STATUS_STATES] },
            notifier: { type: 'string' },
            dialog: {
              type: 'object',
              required: ['id', 'state', 'members'],
              properties: {
                id: { type: 'string' },
                state: { enum: [...DIALOG_STATES] },
                callId: { type: 'string' },
                remoteTarget: { type: 'string' },
                expiresIn: { type: 'integer', description: 'Seconds left of the granted subscription' },
                members: { type: 'array', items: { type: 'string' } },
              },
            },
            lastStatus: ref('Status'),
          },
        },
        SubscriptionList: {
          type: 'object',
          required: ['subscriptions'],
          properties: { subscriptions: { type: 'array', items: ref('Subscription') } },
        },
        Presentity: {
          type: 'object',
          additionalProperties: false,
          required: ['basic'],
          properties: { basic: { enum: ['open', 'closed'] }, note: { type: 'string', maxLength: 1024 } },
        },
        StreamToken: {
          type: 'object',
          required: ['token', 'expiresIn'],
          additionalProperties: false,
          properties: { token: { type: 'string' }, expiresIn: { type: 'integer', description: 'Seconds the token opens event streams' } },
        },
        Gap: {
          type: 'object',
          required: ['lastEventId', 'reason'],
          description: 'The data of an `event: gap`',
          properties: {
            lastEventId: { type: 'integer' },
            reason: {
              enum: ['dropped', 'unknown'],
              description: '`dropped`: events after lastEventId left the buffer; `unknown`: lastEventId is beyond every id issued (every event kept follows)',
            },
            oldestAvailable: { type: ['integer', 'null'] },
            newestId: { type: ['integer', 'null'] },
          },
        },
        Health: {
          type: 'object',
          required: ['status'],
          properties: {
            status: { const: 'ok' },
            subscriptions: { type: 'integer' },
            dialogs: { type: 'integer' },
            localAgent: { type: 'boolean' },
            store: { type: 'string' },
            restart: {
              type: 'object',
              description: 'What the last start did with the dialogs the store held (issue 10): stored, claimed, resumed in-dialog, fell back to a new dialog (481 or timeout), expired, failed otherwise, unclaimed ones unSUBSCRIBEd or expired, NOTIFYs answered in unclaimed ones',
              additionalProperties: { type: 'integer' },
            },
            relay: {
              type: 'object',
              description:
                'Cluster mode (issue 16): the status relay of this node: messages appended to the shared table, append failures (retried), messages dropped, events delivered to its SSE rings, reads, read failures (retried), NOTIFYs heard and foreign ones, bad rows skipped, gaps (rows trimmed before this node read them), LISTEN (re)connections',
              additionalProperties: { type: 'integer' },
            },
          },
        },
      },
    },
    paths: {
      '/v1/subscriptions': {
        post: {
          operationId: 'createSubscription',
          summary: 'Create an internal subscription (answered once it is stored)',
          requestBody: { required: true, content: json(ref('CreateSubscription')) },
          responses: {
            '201': {
              description: 'Created',
              headers: { Location: { schema: { type: 'string' }, description: '/v1/subscriptions/{id}' } },
              content: json(ref('Subscription')),
            },
            '400': error('Invalid request: `HTTP_ERR_MISSING_FIELD`, `HTTP_ERR_INVALID_FIELD`, `HTTP_ERR_UNKNOWN_FIELD` (`field` names it), `HTTP_ERR_BAD_REQUEST`, `QSA_ERR_*`'),
            ...UNAUTHORIZED,
            ...BODY_ERRORS,
            '409': error('http.max_subscriptions subscriptions exist (`HTTP_ERR_TOO_MANY_SUBSCRIPTIONS`), or the queue is new and http.max_queues queues exist (`HTTP_ERR_TOO_MANY_QUEUES`)'),
            '503': error('The store failed: the subscription was not made (`HTTP_ERR_STORE`)'),
          },
        },
        get: {
          operationId: 'listSubscriptions',
          summary: 'List subscriptions',
          parameters: [
            { name: 'record', in: 'query', schema: { type: 'string' }, description: 'A SIP URI' },
            { name: 'subscriber', in: 'query', schema: { type: 'string' }, description: 'A SIP URI' },
            { name: 'state', in: 'query', schema: { enum: [...FILTER_STATES] }, description: 'Status state (none, pending, active, …) or dialog state (waiting, subscribing, …)' },
          ],
          responses: {
            '200': { description: 'The subscriptions', content: json(ref('SubscriptionList')) },
            '400': error('An invalid or unknown query parameter (`HTTP_ERR_INVALID_FIELD`, `HTTP_ERR_UNKNOWN_FIELD`)'),
            ...UNAUTHORIZED,
          },
        },
      },
      '/v1/subscriptions/{id}': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        get: {
          operationId: 'getSubscription',
          summary: 'One subscription',
          responses: {
            '200': { description: 'The subscription', content: json(ref('Subscription')) },
            ...UNAUTHORIZED,
            '404': error('No such subscription (`HTTP_ERR_NO_SUBSCRIPTION`)'),
          },
        },
        delete: {
          operationId: 'deleteSubscription',
          summary: 'Unsubscribe (the SIP dialog is ended with Expires: 0 when nobody else shares it); answered once the removal is stored',
          responses: {
            '204': { description: 'Unsubscribed' },
            '400': { $ref: '#/components/responses/BadBody' },
            ...UNAUTHORIZED,
            '404': error('No such subscription (`HTTP_ERR_NO_SUBSCRIPTION`)'),
            ...BODY_ERRORS,
            '503': error('The store failed: the subscription was kept (`HTTP_ERR_STORE`)'),
          },
        },
      },
      '/v1/queues/{name}/events': {
        parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$' } }],
        get: {
          operationId: 'queueEvents',
          summary: 'Status messages of a named queue as Server-Sent Events',
          description:
            'Each event: `id: <sequence>`, `event: status`, `data: <Status JSON>`. Send `Last-Event-ID` (or `?lastEventId=`) to resume. ' +
            'An `event: gap` (data: Gap) says that events after that id were already dropped from the buffer (http.sse_buffer), or that the id ' +
            'is beyond every id issued (then every event kept follows). A comment line every 15 s keeps the stream open.',
          security: [{ bearer: [] }, { streamToken: [] }],
          parameters: [
            { name: 'Last-Event-ID', in: 'header', schema: { type: 'string', pattern: '^\\d{1,15}$' } },
            { name: 'lastEventId', in: 'query', schema: { type: 'string', pattern: '^\\d{1,15}$' } },
          ],
          responses: {
            '200': { description: 'The event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } },
            '400': error('An invalid queue name, event id or query parameter (`HTTP_ERR_INVALID_FIELD`, `HTTP_ERR_UNKNOWN_FIELD`)'),
            ...UNAUTHORIZED,
            '404': error('No such queue (`HTTP_ERR_NO_QUEUE`; queues are created by POST /v1/subscriptions)'),
            '503': error('http.max_sse_clients event streams are open (`HTTP_ERR_TOO_MANY_SSE_CLIENTS`, with `Retry-After`)'),
          },
        },
      },
      '/v1/stream-tokens': {
        post: {
          operationId: 'createStreamToken',
          summary: 'A short-lived token that opens event streams without an Authorization header (EventSource in a browser)',
          description:
            `The token opens any number of \`GET /v1/queues/{name}/events?access_token=<token>\` and \`GET /v1/status/events?access_token=<token>\` for ${STREAM_TOKEN_TTL_SECONDS} s ` +
            '(a stream already open stays open) and is accepted nowhere else. A restart of the daemon invalidates it.',
          responses: {
            '201': { description: 'The token', content: json(ref('StreamToken')) },
            '400': { $ref: '#/components/responses/BadBody' },
            ...UNAUTHORIZED,
            ...BODY_ERRORS,
          },
        },
      },
      '/v1/status/events': {
        get: {
          operationId: 'statusEvents',
          summary: "The status page's live overview as Server-Sent Events",
          description:
            'First `event: snapshot` (data: `{subscriptions: [Subscription]}`), then `event: subscription` (a Subscription created or changed), ' +
            '`event: removed` (data: `{id}`) and `event: status` (each Status as it is queued, from any queue). No resume: a reconnection ' +
            'starts with a new snapshot. A comment line every 15 s keeps the stream open.',
          security: [{ bearer: [] }, { streamToken: [] }],
          responses: {
            '200': { description: 'The event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } },
            ...UNAUTHORIZED,
            '404': error('This server has no status feed (`HTTP_ERR_NOT_FOUND`)'),
            '503': error('http.max_sse_clients event streams are open (`HTTP_ERR_TOO_MANY_SSE_CLIENTS`, with `Retry-After`)'),
          },
        },
      },
      '/v1/presentities/{uri}': {
        parameters: [{ name: 'uri', in: 'path', required: true, schema: { type: 'string' }, description: 'URL-encoded SIP URI, e.g. sip%3Aalice%40localhost' }],
        put: {
          operationId: 'publishPresentity',
          summary: 'Publish the presence of a local presentity into the local presence agent',
          requestBody: { required: true, content: json(ref('Presentity')) },
          responses: {
            '204': { description: 'Published' },
            '400': error('Invalid document or URI (`HTTP_ERR_MISSING_FIELD`, `HTTP_ERR_INVALID_FIELD`, `HTTP_ERR_UNKNOWN_FIELD`, `HTTP_ERR_BAD_REQUEST`), or a domain the agent does not serve (`HTTP_ERR_PRESENTITY`)'),
            ...UNAUTHORIZED,
            '404': error('The local presence agent is disabled (`HTTP_ERR_NO_LOCAL_AGENT`)'),
            ...BODY_ERRORS,
          },
        },
      },
      '/v1/openapi.json': {
        get: {
          operationId: 'openApi',
          summary: 'This document',
          responses: { '200': { description: 'OpenAPI 3.1', content: json({ type: 'object' }) }, ...UNAUTHORIZED },
        },
      },
      '/': {
        get: {
          operationId: 'statusPage',
          summary: 'The status page (HTML; no token needed): it asks for the token and uses the API',
          security: [],
          responses: { '200': { description: 'The page', content: { 'text/html': { schema: { type: 'string' } } } } },
        },
      },
      '/status-page/status-page.js': {
        get: {
          operationId: 'statusPageScript',
          summary: "The status page's script, an ES module (no token needed)",
          security: [],
          responses: { '200': { description: 'JavaScript', content: { 'text/javascript': { schema: { type: 'string' } } } } },
        },
      },
      '/status-page/status-page.css': {
        get: {
          operationId: 'statusPageStyle',
          summary: "The status page's style sheet (no token needed)",
          security: [],
          responses: { '200': { description: 'CSS', content: { 'text/css': { schema: { type: 'string' } } } } },
        },
      },
      '/healthz': {
        get: {
          operationId: 'health',
          summary: 'Liveness (no token needed, whatever the query string)',
          security: [],
          responses: { '200': { description: 'Up', content: json(ref('Health')) } },
        },
      },
      '/metrics': {
        get: {
          operationId: 'metrics',
          summary: 'Prometheus metrics',
          responses: { '200': { description: 'Text exposition format 0.0.4', content: { 'text/plain': { schema: { type: 'string' } } } }, ...UNAUTHORIZED },
        },
      },
    },
  };
}
