import { z } from 'zod';
import { parseSipUri } from '../sip/codec/uri.js';
import { ApiError, type CreateSubscriptionRequest, type PresentityDocument, type SubscriptionFilter } from './api-types.js';

/** The queue used when a POST names none. */
export const DEFAULT_QUEUE = 'default';

/** RFC 6665 §8.2.1 event-type tokens (no template parameters here), kept short. */
const PACKAGE_PATTERN = /^[A-Za-z0-9!%*_+`'~.-]{1,64}$/;
/** Queue names appear in URLs: keep them to URL-safe characters. */
const QUEUE_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

function isSipUri(text: string): boolean {
  if (!/^sips?:/i.test(text) || text.length > 1024) return false;
  try {
    parseSipUri(text);
    return true;
  } catch {
    // The caller answers 400 naming the field.
    return false;
  }
}

const sipUri = z.string().refine(isSipUri, { error: 'expected a SIP URI such as sip:alice@example.com' });

const CREATE_SUBSCRIPTION = z.strictObject({
  record: sipUri,
  subscriber: sipUri,
  package: z.string().regex(PACKAGE_PATTERN, { error: 'expected an event package name such as presence' }).default('presence'),
  queue: z.string().regex(QUEUE_PATTERN, { error: 'expected a queue name of 1-64 characters [A-Za-z0-9_.-]' }).default(DEFAULT_QUEUE),
});

const PRESENTITY = z.strictObject({
  basic: z.enum(['open', 'closed'], { error: 'expected "open" or "closed"' }),
  note: z.string().max(1024, { error: 'expected a note of at most 1024 characters' }).optional(),
});

const FILTER = z.object({
  record: z.string().optional(),
  subscriber: z.string().optional(),
  state: z.string().optional(),
});

function firstError(error: z.ZodError, what: string): ApiError {
  const issue = error.issues[0];
  if (issue === undefined) return new ApiError(400, 'HTTP_ERR_BAD_REQUEST', `invalid ${what}`);
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    const field = [...issue.path.map(String), key].join('.');
    return new ApiError(400, 'HTTP_ERR_UNKNOWN_FIELD', `${field}: unknown field`, field);
  }
  const field = issue.path.map(String).join('.');
  if (issue.code === 'invalid_type' && issue.input === undefined) {
    return new ApiError(400, 'HTTP_ERR_MISSING_FIELD', `${field}: required`, field);
  }
  if (field === '') return new ApiError(400, 'HTTP_ERR_BAD_REQUEST', `${what}: ${issue.message}`);
  return new ApiError(400, 'HTTP_ERR_INVALID_FIELD', `${field}: ${issue.message}`, field);
}

function parseWith<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  if (input === undefined || input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new ApiError(400, 'HTTP_ERR_BAD_REQUEST', `${what}: expected a JSON object`);
  }
  const result = schema.safeParse(input, { reportInput: true });
  if (!result.success) throw firstError(result.error, what);
  return result.data;
}

export function parseCreateSubscription(body: unknown): CreateSubscriptionRequest {
  return parseWith(CREATE_SUBSCRIPTION, body, 'request body');
}

export function parsePresentity(body: unknown): PresentityDocument {
  const doc = parseWith(PRESENTITY, body, 'request body');
  return doc.note === undefined ? { basic: doc.basic } : { basic: doc.basic, note: doc.note };
}

export function parseFilter(query: unknown): SubscriptionFilter {
  const result = FILTER.safeParse(query ?? {});
  if (!result.success) throw firstError(result.error, 'query');
  const out: SubscriptionFilter = {};
  if (result.data.record !== undefined) out.record = result.data.record;
  if (result.data.subscriber !== undefined) out.subscriber = result.data.subscriber;
  if (result.data.state !== undefined) out.state = result.data.state;
  return out;
}

export function parseQueueName(name: string): string {
  if (!QUEUE_PATTERN.test(name)) throw new ApiError(400, 'HTTP_ERR_INVALID_FIELD', 'name: expected a queue name of 1-64 characters [A-Za-z0-9_.-]', 'name');
  return name;
}

export function parsePresentityUri(uri: string): string {
  if (!isSipUri(uri)) throw new ApiError(400, 'HTTP_ERR_INVALID_FIELD', 'uri: expected a SIP URI such as sip:alice@localhost', 'uri');
  return uri;
}

/** `Last-Event-ID` (or `?lastEventId=`): a non-negative integer, else undefined (start from the ring). */
export function parseLastEventId(value: unknown): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (typeof text !== 'string' || !/^\d{1,15}$/.test(text.trim())) return undefined;
  return Number(text.trim());
}
