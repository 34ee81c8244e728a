/**
 * Property tests: serialize → parse is the identity on generated messages,
 * and mutated messages (flipped, inserted, deleted, truncated octets) give a
 * message or a SipParseError — never another exception, never a hang.
 */
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  callIdOf,
  challengesOf,
  contactsOf,
  contentTypeOf,
  createRequest,
  cseqOf,
  eventOf,
  expiresOf,
  fromHeader,
  headerKey,
  minExpiresOf,
  parseSipMessage,
  parseUri,
  retryAfterOf,
  routeSetOf,
  SipParseError,
  type SipMessage,
  SipStreamFramer,
  serializeSipMessage,
  subscriptionStateOf,
  toHeader,
  tokenListOf,
  viaList,
} from '../../../src/sip/codec/index.js';
import { buildNotify, buildResponse, buildSubscribe } from '../../support/sip-fixtures.js';

const TOKEN_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`\'~'.split('');
const VALUE_CHARS = [...TOKEN_CHARS, ' ', '\t', '"', ',', ';', ':', '<', '>', '=', '@', '/', '?', '\\', '(', ')', 'é', '日', '✓'];
const RESERVED_KEYS = new Set(['via', 'from', 'to', 'call-id', 'cseq', 'content-length']);

const token = (max = 12) => fc.string({ unit: fc.constantFrom(...TOKEN_CHARS), minLength: 1, maxLength: max });
const hostName = fc
  .array(fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'.split('')), minLength: 1, maxLength: 8 }), {
    minLength: 1,
    maxLength: 3,
  })
  .map((labels) => labels.join('.'));
const headerValue = fc.string({ unit: fc.constantFrom(...VALUE_CHARS), maxLength: 40 }).map((s) => s.replace(/^[ \t]+|[ \t]+$/g, ''));
const extraHeader = fc
  .tuple(token(16), headerValue)
  .filter(([name]) => !RESERVED_KEYS.has(headerKey(name)))
  .map(([name, value]) => [name, value] as [string, string]);

interface Generated {
  message: SipMessage;
}

const generatedMessage: fc.Arbitrary<Generated> = fc
  .record({
    isRequest: fc.boolean(),
    method: token(10),
    user: token(8),
    host: hostName,
    status: fc.integer({ min: 100, max: 699 }),
    reason: fc.string({ unit: fc.constantFrom(...VALUE_CHARS), maxLength: 30 }),
    seq: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    branch: token(20),
    fromTag: token(10),
    toTag: fc.option(token(10), { nil: undefined }),
    callId: token(30),
    displayName: fc.option(fc.string({ unit: fc.constantFrom(...VALUE_CHARS), maxLength: 15 }), { nil: undefined }),
    extras: fc.array(extraHeader, { maxLength: 8 }),
    positions: fc.array(fc.nat(), { minLength: 5, maxLength: 5 }),
    body: fc.uint8Array({ maxLength: 200 }),
    compact: fc.boolean(),
  })
  .map((g) => {
    const dn = g.displayName === undefined ? '' : `"${g.displayName.replace(/["\\]/g, '\\$&')}" `;
    const mandatory: Array<[string, string]> = [
      [g.compact ? 'v' : 'Via', `SIP/2.0/UDP ${g.host}:5060;branch=z9hG4bK${g.branch};rport`],
      [g.compact ? 'f' : 'From', `${dn}<sip:${g.user}@${g.host}>;tag=${g.fromTag}`],
      [g.compact ? 't' : 'TO', `<sip:peer@${g.host}>${g.toTag === undefined ? '' : `;tag=${g.toTag}`}`],
      [g.compact ? 'i' : 'Call-ID', g.callId],
      ['CSeq', `${g.seq} ${g.method}`],
    ];
    const headers: Array<[string, string]> = [...g.extras];
    for (let i = 0; i < mandatory.length; i++) headers.splice((g.positions[i] ?? 0) % (headers.length + 1), 0, mandatory[i]!);
    const request = createRequest({ method: g.method, uri: `sip:${g.user}@${g.host}`, headers, body: g.body });
    if (g.isRequest) return { message: request };
    const response: SipMessage = { kind: 'response', status: g.status, reason: g.reason, headers: request.headers, body: g.body };
    return { message: response };
  });

function summary(m: SipMessage): unknown {
  return {
    start: m.kind === 'request' ? [m.kind, m.method, m.uri] : [m.kind, m.status, m.reason],
    headers: [...m.headers].filter((f) => f.key !== 'content-length').map((f) => [f.name, f.value]),
    body: Buffer.from(m.body).toString('hex'),
  };
}

/** Calls every accessor; each must return or throw SipParseError. */
function exerciseAccessors(m: SipMessage): void {
  const calls: Array<() => unknown> = [
    () => viaList(m),
    () => fromHeader(m),
    () => toHeader(m),
    () => callIdOf(m),
    () => cseqOf(m),
    () => contactsOf(m),
    () => routeSetOf(m, 'record-route'),
    () => routeSetOf(m, 'route'),
    () => expiresOf(m),
    () => minExpiresOf(m),
    () => retryAfterOf(m),
    () => eventOf(m),
    () => subscriptionStateOf(m),
    () => contentTypeOf(m),
    () => challengesOf(m, 'www-authenticate'),
    () => tokenListOf(m, 'allow-events'),
    () => (m.kind === 'request' ? parseUri(m.uri) : undefined),
    () => parseUri(fromHeader(m).uri),
  ];
  for (const call of calls) {
    try {
      call();
    } catch (e) {
      if (!(e instanceof SipParseError)) throw e;
    }
  }
}

const SEEDS = [
  buildNotify(),
  buildSubscribe(),
  buildResponse({ recordRoute: ['<sip:p1.example.com;lr>'] }),
  Buffer.from(
    'NOTIFY sip:w@h SIP/2.0\r\nv: SIP/2.0/TCP h ;branch=z9hG4bK1,SIP/2.0/UDP g\r\nf: "A \\"q\\"" <sip:a@b>;tag=1\r\nt: sip:c@d\r\n ;tag=2\r\n' +
      'i: x\r\nCSeq: 1 NOTIFY\r\no: presence;id=1\r\nSubscription-State: terminated;reason=timeout\r\nc: multipart/mixed;boundary="b"\r\n' +
      'WWW-Authenticate: Digest realm="r", nonce="n", qop="auth"\r\nRetry-After: 5 (c) ;duration=3\r\nl: 3\r\n\r\nabc',
    'latin1',
  ),
];

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({
    kind: fc.constant('insertText' as const),
    at: fc.nat(),
    text: fc.constantFrom('\r\n', '\r\n\r\n', ' ', ',', ';', '"', '<', '>', ':', '\\', '=', 'Content-Length: 9\r\n', '\r\n '),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

function mutate(seed: Buffer, mutations: Mutation[]): Buffer {
  let bytes: Buffer = Buffer.from(seed);
  for (const m of mutations) bytes = applyOne(bytes, m);
  return bytes;
}

type Mutation =
  | { kind: 'flip'; at: number; value: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'insertText'; at: number; text: string }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'truncate'; at: number };

function applyOne(bytes: Buffer, m: Mutation): Buffer {
  const at = bytes.length === 0 ? 0 : m.at % (bytes.length + 1);
  switch (m.kind) {
    case 'flip': {
      if (bytes.length === 0) return bytes;
      const copy = Buffer.from(bytes);
      copy[at % bytes.length] = m.value;
      return copy;
    }
    case 'insert':
      return Buffer.concat([bytes.subarray(0, at), m.bytes, bytes.subarray(at)]);
    case 'insertText':
      return Buffer.concat([bytes.subarray(0, at), Buffer.from(m.text, 'latin1'), bytes.subarray(at)]);
    case 'delete':
      return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + m.length)]);
    case 'truncate':
      return bytes.subarray(0, at);
  }
}

describe('codec properties', () => {
  test('parse(serialize(m)) equals m', () => {
    fc.assert(
      fc.property(generatedMessage, ({ message }) => {
        const wire = serializeSipMessage(message);
        const parsed = parseSipMessage(wire);
        assert.deepEqual(summary(parsed), summary(message));
        const streamed = new SipStreamFramer().push(wire);
        assert.equal(streamed.length, 1);
        assert.deepEqual(summary(streamed[0]!), summary(message));
      }),
      { numRuns: 500 },
    );
  });

  test('mutated messages give a message or a SipParseError, never another exception', { timeout: 120_000 }, () => {
    fc.assert(
      fc.property(fc.constantFrom(...SEEDS), fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 64 }), (seed, mutations, chunk) => {
        const bytes = mutate(seed, mutations);
        for (const framing of ['datagram', 'stream'] as const) {
          try {
            exerciseAccessors(parseSipMessage(bytes, { framing }));
          } catch (e) {
            if (!(e instanceof SipParseError)) throw e;
          }
        }
        const framer = new SipStreamFramer();
        try {
          for (let i = 0; i < bytes.length; i += chunk) {
            for (const m of framer.push(bytes.subarray(i, i + chunk))) exerciseAccessors(m);
          }
        } catch (e) {
          if (!(e instanceof SipParseError)) throw e;
        }
      }),
      { numRuns: 2000 },
    );
  });
});
