import { buildPidf } from '../presence/index.js';
import { SipHeaders } from '../sip/codec/headers.js';
import type { SipRequest } from '../sip/codec/message.js';

export interface PublishRequestInput {
  /** The presentity: Request-URI and To. */
  record: string;
  /** From (the publisher); the presentity itself by default. */
  from?: string;
  basic: 'open' | 'closed';
  note?: string;
  /** Expires of the publication, seconds (RFC 3903 §4.1). */
  expires: number;
  callId: string;
  fromTag: string;
  cseq: number;
  /** SIP-If-Match: refreshes or modifies an earlier publication (RFC 3903 §4.4). */
  etag?: string;
  /** Tuple id; stable across runs so that a newer publication replaces an older one in composers that merge by tuple id. */
  tupleId?: string;
  /** <timestamp> of the tuple. */
  timestamp?: Date;
}

/** The tuple id used by `presence-b2b publish` unless told otherwise. */
export const CLI_TUPLE_ID = 'presence-b2b-cli';

/** A PUBLISH carrying a PIDF document (RFC 3903 §4, RFC 3856 §6 Event: presence, RFC 3863 body). */
export function buildPublishRequest(input: PublishRequestInput): SipRequest {
  const tuple: { id: string; basic: 'open' | 'closed'; note?: string; timestamp?: Date } = { id: input.tupleId ?? CLI_TUPLE_ID, basic: input.basic };
  if (input.note !== undefined) tuple.note = input.note;
  if (input.timestamp !== undefined) tuple.timestamp = input.timestamp;
  const body = new TextEncoder().encode(buildPidf({ entity: input.record, tuples: [tuple] }));
  const headers = new SipHeaders([
    ['To', `<${input.record}>`],
    ['From', `<${input.from ?? input.record}>;tag=${input.fromTag}`],
    ['Call-ID', input.callId],
    ['CSeq', `${input.cseq} PUBLISH`],
    ['Max-Forwards', '70'],
    ['Event', 'presence'],
    ['Expires', String(input.expires)],
  ]);
  if (input.etag !== undefined) headers.append('SIP-If-Match', input.etag);
  headers.append('Content-Type', 'application/pidf+xml');
  return { kind: 'request', method: 'PUBLISH', uri: input.record, headers, body };
}
