/**
 * What must hold for every SIP message the parser accepts. Each accessor
 * returns or throws SipParseError. What we would send back built from a
 * received value must parse again to the same value: the message itself
 * (serialize → parse), URIs (Contact becomes our Request-URI), name-addrs
 * (Record-Route becomes our Route), Via, and the Authorization we compute
 * for a challenge. A URI equals itself.
 */
import { Buffer } from 'node:buffer';
import {
  callIdOf,
  challengesOf,
  contactsOf,
  contentLengthOf,
  contentTypeOf,
  cseqOf,
  eventOf,
  expiresOf,
  formatNameAddr,
  formatUri,
  formatVia,
  fromHeader,
  minExpiresOf,
  type NameAddr,
  parseCredentials,
  parseNameAddr,
  parseSipMessage,
  parseUri,
  parseVia,
  retryAfterOf,
  routeSetOf,
  SipParseError,
  type SipMessage,
  serializeSipMessage,
  subscriptionStateOf,
  toHeader,
  tokenListOf,
  topVia,
  uriEquals,
  viaList,
} from '../../../src/sip/codec/index.js';
import { digestAuthorization, isSupportedChallenge } from '../../../src/sip/auth/digest-client.js';
import { statusFromBody } from '../../../src/presence/index.js';
import { SeededRandom } from '../../../src/util/random.js';
import { fail, property, refusedOr } from '../../engine/target.js';

export const isSipParseError = (error: unknown): boolean => error instanceof SipParseError;
const tolerate = <T>(fn: () => T): T | undefined => refusedOr(fn, isSipParseError);

/** Limits that a re-serialized message (a space after each colon, CRLF for LF) cannot exceed. */
const RELAXED = { maxMessageBytes: 1 << 26, maxHeaders: 1 << 20, maxLineLength: 1 << 26 };

export function summary(m: SipMessage): string {
  const start = m.kind === 'request' ? `${m.method} ${m.uri}` : `${m.status} ${m.reason}`;
  const headers = [...m.headers].filter((f) => f.key !== 'content-length').map((f) => `${f.name}\u0000${f.value}`);
  return `${m.kind}\u0001${start}\u0001${headers.join('\u0001')}\u0001${Buffer.from(m.body).toString('hex')}`;
}

export function checkMessage(m: SipMessage): void {
  tolerate(() => topVia(m));
  const vias = tolerate(() => viaList(m)) ?? [];
  tolerate(() => fromHeader(m));
  tolerate(() => toHeader(m));
  tolerate(() => callIdOf(m));
  tolerate(() => cseqOf(m));
  const contacts = tolerate(() => contactsOf(m));
  const recordRoute = tolerate(() => routeSetOf(m, 'record-route')) ?? [];
  const route = tolerate(() => routeSetOf(m, 'route')) ?? [];
  tolerate(() => expiresOf(m));
  tolerate(() => minExpiresOf(m));
  tolerate(() => retryAfterOf(m));
  tolerate(() => eventOf(m));
  tolerate(() => subscriptionStateOf(m));
  const contentType = tolerate(() => contentTypeOf(m));
  tolerate(() => contentLengthOf(m));
  tolerate(() => tokenListOf(m, 'allow-events'));
  tolerate(() => tokenListOf(m, 'supported'));

  for (const via of vias) {
    const text = formatVia(via);
    const again = tolerate(() => parseVia(text));
    property(again !== undefined, () => `formatted Via does not parse: ${JSON.stringify(text)}`);
    property(
      again.host === via.host && again.port === via.port && again.transport === via.transport && again.branch === via.branch,
      () => `formatted Via differs: ${JSON.stringify(text)}`,
    );
  }
  const uris: string[] = [];
  if (m.kind === 'request') uris.push(m.uri);
  for (const na of [
    tolerate(() => fromHeader(m)),
    tolerate(() => toHeader(m)),
    ...(contacts === '*' || contacts === undefined ? [] : contacts),
    ...recordRoute,
    ...route,
  ]) {
    if (na === undefined) continue;
    uris.push(na.uri);
    checkNameAddr(na);
  }
  for (const text of uris) checkUri(text);

  for (const name of ['www-authenticate', 'proxy-authenticate'] as const) {
    for (const challenge of tolerate(() => challengesOf(m, name)) ?? []) {
      if (!isSupportedChallenge(challenge)) continue;
      const session = { challenge, headerName: 'Authorization' as const, nonceCount: 0 };
      const value = digestAuthorization(session, { username: 'bob', password: 'secret' }, 'SUBSCRIBE', 'sip:alice@example.com', new SeededRandom(1));
      const credentials = tolerate(() => parseCredentials(value));
      property(credentials !== undefined, () => `our Authorization does not parse: ${JSON.stringify(value)}`);
      property(
        credentials.params.get('realm') === (challenge.realm ?? '') && credentials.params.get('nonce') === challenge.nonce,
        () => `our Authorization carries another realm or nonce: ${JSON.stringify(value)}`,
      );
    }
  }

  if (m.body.length > 0) statusFromBody(contentType === undefined ? undefined : m.headers.get('content-type'), m.body);

  const wire = serializeSipMessage(m);
  for (const framing of ['datagram', 'stream'] as const) {
    let again: SipMessage;
    try {
      again = parseSipMessage(wire, { limits: RELAXED, framing });
    } catch (error) {
      fail(`serialized message does not parse (${framing}): ${String(error)}`);
    }
    property(summary(again) === summary(m), () => `serialized message parses differently (${framing})`);
  }
}

function checkUri(text: string): void {
  const uri = tolerate(() => parseUri(text));
  if (uri === undefined) return;
  property(uriEquals(uri, uri), () => `URI not equal to itself: ${JSON.stringify(text)}`);
  const formatted = formatUri(uri);
  const again = tolerate(() => parseUri(formatted));
  property(again !== undefined, () => `formatted URI does not parse: ${JSON.stringify(formatted)}`);
  property(uriEquals(uri, again), () => `formatted URI differs: ${JSON.stringify(text)} → ${JSON.stringify(formatted)}`);
}

function checkNameAddr(na: NameAddr): void {
  const text = formatNameAddr(na);
  const again = tolerate(() => parseNameAddr(text));
  property(again !== undefined, () => `formatted name-addr does not parse: ${JSON.stringify(text)}`);
  property(
    again.uri === na.uri && again.displayName === na.displayName && [...again.params].join() === [...na.params].join(),
    () => `formatted name-addr differs: ${JSON.stringify(text)}`,
  );
}
