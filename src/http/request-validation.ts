import { z } from 'zod';
import { ApiError, type CreateSubscriptionRequest, FILTER_STATES, type PresentityDocument, type SubscriptionFilter } from './api-types.js';
import { STREAM_TOKEN_PARAMETER } from './stream-tokens.js';
import { isSipUriText, SIP_URI_EXPECTED } from './sip-uri-text.js';

/**
 * Every request field is checked here, with messages of our own (never the
 * validation library's words), and every refusal has the same shape on every
 * route: `HTTP_ERR_MISSING_FIELD` (`<field>: required`),
 * `HTTP_ERR_INVALID_FIELD` (`<field>: expected …, got …`),
 * `HTTP_ERR_UNKNOWN_FIELD` (`<field>: unknown field`), each naming the field;
 * `HTTP_ERR_BAD_REQUEST` for a body that is not a JSON object at all.
 */

/** The queue used when a POST names none. */
export const DEFAULT_QUEUE = 'default';

/** RFC 6665 §8.2.1 event-type tokens (no template parameters here), kept short. */
const PACKAGE_PATTERN = /^[A-Za-z0-9!%*_+`'~.-]{1,64}$/;
/** Queue names appear in URLs: keep them to URL-safe characters. */
const QUEUE_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
/** SSE event ids: non-negative integers (what `id:` lines carry). */
const EVENT_ID_PATTERN = /^\d{1,15}$/;

const QUEUE_EXPECTED = 'expected a queue name of 1-64 characters [A-Za-z0-9_.-]';
const EVENT_ID_EXPECTED = 'expected an event id (a whole number ≥ 0) received in an id: line';

/** An offending value in a message: strings quoted (and cut), the rest named. */
export function showValue(input: unknown): string {
  if (input === undefined) return 'nothing';
  if (typeof input === 'string') return JSON.stringify(input.length > 64 ? `${input.slice(0, 64)}…` : input);
  if (typeof input === 'number' || typeof input === 'boolean' || input === null) return String(input);
  if (Array.isArray(input)) return 'a list';
  return 'an object';
}

/** `expected …, got …` for whatever a field's schema refused. */
function expected(what: string) {
  return (issue: { input?: unknown }) => `${what}, got ${showValue(issue.input)}`;
}

/** Our words for an issue a schema did not word itself (a safety net: every schema below words its own). */
function fallbackMessage(issue: { code?: string; input?: unknown; expected?: unknown }): string {
  if (issue.code === 'invalid_type') return `expected ${String(issue.expected)}, got ${showValue(issue.input)}`;
  return `invalid value ${showValue(issue.input)}`;
}

const sipUri = z.string({ error: expected(SIP_URI_EXPECTED) }).refine(isSipUriText, { error: expected(SIP_URI_EXPECTED) });
const text = (what: string) => z.string({ error: expected(what) });

const CREATE_SUBSCRIPTION = z.strictObject({
  record: sipUri,
  subscriber: sipUri,
  package: text('expected an event package name such as presence')
    .regex(PACKAGE_PATTERN, { error: expected('expected an event package name such as presence') })
    .default('presence'),
  queue: text(QUEUE_EXPECTED).regex(QUEUE_PATTERN, { error: expected(QUEUE_EXPECTED) }).default(DEFAULT_QUEUE),
});

const PRESENTITY = z.strictObject({
  basic: z.enum(['open', 'closed'], { error: expected('expected "open" or "closed"') }),
  note: text('expected a note of at most 1024 characters').max(1024, { error: 'expected a note of at most 1024 characters' }).optional(),
});

const FILTER = z.strictObject({
  record: sipUri.optional(),
  subscriber: sipUri.optional(),
  state: z.enum(FILTER_STATES, { error: expected(`expected one of ${FILTER_STATES.join(', ')}`) }).optional(),
});

const EVENTS_QUERY = z.strictObject({
  lastEventId: text(EVENT_ID_EXPECTED).regex(EVENT_ID_PATTERN, { error: expected(EVENT_ID_EXPECTED) }).optional(),
  [STREAM_TOKEN_PARAMETER]: text('expected a stream token from POST /v1/stream-tokens').optional(),
});

function firstError(error: z.ZodError): ApiError {
  const issue = error.issues[0];
  if (issue === undefined) return new ApiError(400, 'HTTP_ERR_BAD_REQUEST', 'the request could not be read');
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    const field = [...issue.path.map(String), key].join('.');
    return new ApiError(400, 'HTTP_ERR_UNKNOWN_FIELD', `${field}: unknown field`, field);
  }
  const field = issue.path.map(String).join('.');
  if ((issue.code === 'invalid_type' || issue.code === 'invalid_value') && issue.input === undefined) {
    return new ApiError(400, 'HTTP_ERR_MISSING_FIELD', `${field}: required`, field);
  }
  return new ApiError(400, 'HTTP_ERR_INVALID_FIELD', `${field}: ${issue.message}`, field);
}

function parseWith<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  // No body at all reads as an empty object: each required field is then reported missing.
  const value = input === undefined ? {} : input;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ApiError(400, 'HTTP_ERR_BAD_REQUEST', `${what}: expected a JSON object, got ${showValue(value)}`);
  }
  const result = schema.safeParse(value, { reportInput: true, error: fallbackMessage });
  if (!result.success) throw firstError(result.error);
  return result.data;
}

export function parseCreateSubscription(body: unknown): CreateSubscriptionRequest {
  return parseWith(CREATE_SUBSCRIPTION, body, 'request body');
}

/**
 * A package nobody serves would stay pending forever: refused with 400
 * HTTP_ERR_INVALID_FIELD naming it and the packages served (docs/event-packages.md §5).
 */
export function checkServedPackage(pkg: string, served: readonly string[]): void {
  if (served.includes(pkg)) return;
  const list = served.length === 0 ? 'none' : served.join(', ');
  throw new ApiError(400, 'HTTP_ERR_INVALID_FIELD', `package: ${JSON.stringify(pkg)} is not served here; served packages: ${list}`, 'package');
}

export function parsePresentity(body: unknown): PresentityDocument {
  const doc = parseWith(PRESENTITY, body, 'request body');
  return doc.note === undefined ? { basic: doc.basic } : { basic: doc.basic, note: doc.note };
}

/** `GET /v1/subscriptions?record=&subscriber=&state=`: each one value, checked like a body field. */
export function parseFilter(query: unknown): SubscriptionFilter {
  const data = parseWith(FILTER, query, 'query');
  const out: SubscriptionFilter = {};
  if (data.record !== undefined) out.record = data.record;
  if (data.subscriber !== undefined) out.subscriber = data.subscriber;
  if (data.state !== undefined) out.state = data.state;
  return out;
}

export function parseQueueName(name: string): string {
  if (!QUEUE_PATTERN.test(name)) throw new ApiError(400, 'HTTP_ERR_INVALID_FIELD', `name: ${QUEUE_EXPECTED}, got ${showValue(name)}`, 'name');
  return name;
}

export function parsePresentityUri(uri: string): string {
  if (!isSipUriText(uri)) throw new ApiError(400, 'HTTP_ERR_INVALID_FIELD', `uri: ${SIP_URI_EXPECTED}, got ${showValue(uri)}`, 'uri');
  return uri;
}

/**
 * Where an event stream resumes: the `Last-Event-ID` header (sent by
 * `EventSource` when it reconnects) or else `?lastEventId=`; undefined for
 * neither. An id that is not one of ours is a 400 naming where it came from.
 */
export function parseEventsRequest(query: unknown, header: string | string[] | undefined): number | undefined {
  const data = parseWith(EVENTS_QUERY, query, 'query');
  const fromHeader = Array.isArray(header) ? header[0] : header;
  if (fromHeader !== undefined && fromHeader.trim() !== '') {
    const id = fromHeader.trim();
    if (!EVENT_ID_PATTERN.test(id)) throw new ApiError(400, 'HTTP_ERR_INVALID_FIELD', `Last-Event-ID: ${EVENT_ID_EXPECTED}, got ${showValue(id)}`, 'Last-Event-ID');
    return Number(id);
  }
  return data.lastEventId === undefined ? undefined : Number(data.lastEventId);
}
