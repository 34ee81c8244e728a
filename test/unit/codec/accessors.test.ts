import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  callIdOf,
  challengesOf,
  contactsOf,
  contentLengthOf,
  contentTypeOf,
  createRequest,
  cseqOf,
  eventOf,
  expiresOf,
  formatCredentials,
  fromHeader,
  minExpiresOf,
  parseChallenge,
  parseContentType,
  parseCSeq,
  parseEvent,
  parseQValue,
  parseSipMessage,
  parseSubscriptionState,
  retryAfterOf,
  routeSetOf,
  SipParseError,
  type SipMessage,
  subscriptionStateOf,
  toHeader,
  tokenListOf,
} from '../../../src/sip/codec/index.js';
import { buildNotify, buildResponse } from '../../support/sip-fixtures.js';

function withHeaders(headers: Array<[string, string]>): SipMessage {
  return createRequest({ method: 'OPTIONS', uri: 'sip:a@example.com', headers });
}

function code(c: string) {
  return (e: unknown) => e instanceof SipParseError && e.code === c;
}

describe('CSeq, Call-ID, From, To', () => {
  test('parseCSeq', () => {
    assert.deepEqual(parseCSeq('0009\t INVITE'), { seq: 9, method: 'INVITE' });
    assert.deepEqual(parseCSeq(' 2147483647 NOTIFY '), { seq: 2147483647, method: 'NOTIFY' });
    for (const bad of ['', 'INVITE', '1', '1INVITE', '-1 INVITE', '2147483648 INVITE', '1 INVITE x', '1 IN@VITE']) {
      assert.throws(() => parseCSeq(bad), code('SIP_ERR_PARSE_CSEQ'), bad);
    }
  });

  test('on a parsed NOTIFY', () => {
    const m = parseSipMessage(buildNotify({ callId: 'abc-123456789@host', cseq: 42, fromTag: 'ft', toTag: 'tt' }));
    assert.deepEqual(cseqOf(m), { seq: 42, method: 'NOTIFY' });
    assert.equal(callIdOf(m), 'abc-123456789@host');
    const from = fromHeader(m);
    assert.equal(from.tag, 'ft');
    assert.equal(from.uri, 'sip:alice@example.com');
    assert.equal(toHeader(m).tag, 'tt');
    assert.equal(fromHeader(m), from, 'cached');
  });

  test('missing To tag is undefined; missing headers throw', () => {
    const m = parseSipMessage(buildNotify({ toTag: null }));
    assert.equal(toHeader(m).tag, undefined);
    const empty = withHeaders([]);
    assert.throws(() => fromHeader(empty), code('SIP_ERR_PARSE_MISSING_HEADER'));
    assert.throws(() => toHeader(empty), code('SIP_ERR_PARSE_MISSING_HEADER'));
    assert.throws(() => callIdOf(empty), code('SIP_ERR_PARSE_MISSING_HEADER'));
    assert.throws(() => cseqOf(empty), code('SIP_ERR_PARSE_MISSING_HEADER'));
  });

  test('accessors follow header changes', () => {
    const m = withHeaders([['From', '<sip:a@b>;tag=1']]);
    assert.equal(fromHeader(m).tag, '1');
    m.headers.set('f', '<sip:a@b>;tag=2');
    assert.equal(fromHeader(m).tag, '2');
  });
});

describe('Contact and routes', () => {
  test('contactsOf: entries across lines, expires and q', () => {
    const m = withHeaders([
      ['Contact', '<sip:a@192.0.2.1>;expires=60;q=0.5, "B" <sip:b@192.0.2.2>;q=1.0'],
      ['m', 'sip:c@192.0.2.3;expires=bad;q=2'],
    ]);
    const contacts = contactsOf(m);
    assert.ok(contacts !== '*');
    assert.deepEqual(
      contacts.map((c) => [c.uri, c.expires, c.q, c.displayName]),
      [
        ['sip:a@192.0.2.1', 60, 0.5, undefined],
        ['sip:b@192.0.2.2', undefined, 1, 'B'],
        ['sip:c@192.0.2.3', undefined, undefined, undefined],
      ],
    );
  });

  test('contactsOf: * and none', () => {
    assert.equal(contactsOf(withHeaders([['Contact', ' * ']])), '*');
    assert.deepEqual(contactsOf(withHeaders([])), []);
  });

  test('parseQValue', () => {
    assert.equal(parseQValue('0'), 0);
    assert.equal(parseQValue('0.333'), 0.333);
    assert.equal(parseQValue('1.000'), 1);
    for (const bad of ['', '1.5', '2', '0.1234', 'x', '.5']) assert.equal(parseQValue(bad), undefined, bad);
  });

  test('routeSetOf keeps order across lines and lr as a URI parameter', () => {
    const m = parseSipMessage(buildResponse({ recordRoute: ['<sip:p1.example.com;lr>, <sip:p2.example.com;lr>', '<sip:p3.example.com;lr>;x=1'] }));
    const rr = routeSetOf(m, 'record-route');
    assert.deepEqual(rr.map((r) => r.uri), ['sip:p1.example.com;lr', 'sip:p2.example.com;lr', 'sip:p3.example.com;lr']);
    assert.equal(rr[2]!.params.get('x'), '1');
    assert.equal(rr[0]!.params.has('lr'), false);
    assert.deepEqual(routeSetOf(m, 'route'), []);
  });
});

describe('Expires, Min-Expires, Retry-After', () => {
  test('delta-seconds; invalid gives undefined, never NaN; huge values are capped', () => {
    assert.equal(expiresOf(withHeaders([['Expires', ' 3600 ']])), 3600);
    assert.equal(expiresOf(withHeaders([['Expires', 'soon']])), undefined);
    assert.equal(expiresOf(withHeaders([['Expires', '-1']])), undefined);
    assert.equal(expiresOf(withHeaders([['Expires', '']])), undefined);
    assert.equal(expiresOf(withHeaders([])), undefined);
    assert.equal(expiresOf(withHeaders([['Expires', '1'.repeat(60)]])), 0xffffffff);
    assert.equal(minExpiresOf(withHeaders([['Min-Expires', '60']])), 60);
    assert.equal(minExpiresOf(withHeaders([['Min-Expires', '6 0']])), undefined);
  });

  test('Retry-After with comment and duration', () => {
    assert.deepEqual(retryAfterOf(withHeaders([['Retry-After', '18000;duration=3600']])), {
      seconds: 18000,
      duration: 3600,
      params: new Map([['duration', '3600']]),
    });
    const r = retryAfterOf(withHeaders([['Retry-After', '120 (I\'m in a meeting (really)) ;duration=60;x']]));
    assert.equal(r?.seconds, 120);
    assert.equal(r?.comment, "I'm in a meeting (really)");
    assert.equal(r?.duration, 60);
    assert.equal(r?.params.get('x'), null);
    assert.equal(retryAfterOf(withHeaders([['Retry-After', 'later']])), undefined);
    assert.equal(retryAfterOf(withHeaders([['Retry-After', '5 (unclosed']])), undefined);
    assert.equal(retryAfterOf(withHeaders([])), undefined);
    assert.equal(retryAfterOf(withHeaders([['Retry-After', '949302838503028349304023988']]))?.seconds, 0xffffffff);
  });
});

describe('Event and Subscription-State', () => {
  test('parseEvent', () => {
    assert.deepEqual(parseEvent('Presence'), { package: 'presence', id: undefined, params: new Map() });
    const e = parseEvent('dialog;id=AbC ; call-id=x');
    assert.equal(e.package, 'dialog');
    assert.equal(e.id, 'AbC');
    assert.equal(e.params.get('call-id'), 'x');
    assert.equal(parseEvent('presence.winfo').package, 'presence.winfo');
    assert.throws(() => parseEvent(''), code('SIP_ERR_PARSE_EVENT'));
    assert.throws(() => parseEvent('pres ence'), code('SIP_ERR_PARSE_EVENT'));
    assert.throws(() => parseEvent('presence;'), code('SIP_ERR_PARSE_EVENT'));
  });

  test('eventOf by compact form o', () => {
    assert.equal(eventOf(withHeaders([['o', 'presence']]))?.package, 'presence');
    assert.equal(eventOf(withHeaders([])), undefined);
  });

  test('parseSubscriptionState', () => {
    assert.deepEqual(parseSubscriptionState('active;expires=3412'), {
      state: 'active',
      reason: undefined,
      expires: 3412,
      retryAfter: undefined,
      params: new Map([['expires', '3412']]),
    });
    const t = parseSubscriptionState('Terminated ; Reason = Deactivated ;retry-after=30');
    assert.equal(t.state, 'terminated');
    assert.equal(t.reason, 'deactivated');
    assert.equal(t.retryAfter, 30);
    assert.equal(parseSubscriptionState('pending').state, 'pending');
    assert.equal(parseSubscriptionState('waiting;expires=x').expires, undefined);
    assert.throws(() => parseSubscriptionState(''), code('SIP_ERR_PARSE_SUBSCRIPTION_STATE'));
    assert.throws(() => parseSubscriptionState('active;expires'.replace('expires', 'expires=')), code('SIP_ERR_PARSE_SUBSCRIPTION_STATE'));
  });

  test('subscriptionStateOf on a NOTIFY', () => {
    const m = parseSipMessage(buildNotify({ subscriptionState: 'terminated;reason=timeout' }));
    assert.deepEqual(
      { ...subscriptionStateOf(m), params: undefined },
      { state: 'terminated', reason: 'timeout', expires: undefined, retryAfter: undefined, params: undefined },
    );
    assert.equal(subscriptionStateOf(withHeaders([])), undefined);
  });
});

describe('Content-Type and Content-Length', () => {
  test('parseContentType', () => {
    const t = parseContentType('Multipart/Related ; Type="application/rlmi+xml";boundary="b1;x";Start="<nXYxAE@pres.vancouver.example.com>"');
    assert.equal(t.type, 'multipart');
    assert.equal(t.subtype, 'related');
    assert.equal(t.mediaType, 'multipart/related');
    assert.equal(t.params.get('type'), 'application/rlmi+xml');
    assert.equal(t.params.get('boundary'), 'b1;x');
    assert.equal(t.params.get('start'), '<nXYxAE@pres.vancouver.example.com>');
    assert.equal(parseContentType('application/pidf+xml;charset=UTF-8').params.get('charset'), 'UTF-8');
    for (const bad of ['', 'text', 'text/', '/plain', 'text/plain junk', 'text/plain;']) {
      assert.throws(() => parseContentType(bad), code('SIP_ERR_PARSE_CONTENT_TYPE'), bad);
    }
  });

  test('contentTypeOf (compact c) and contentLengthOf', () => {
    const m = withHeaders([['c', 'application/pidf+xml'], ['l', '12']]);
    assert.equal(contentTypeOf(m)?.mediaType, 'application/pidf+xml');
    assert.equal(contentLengthOf(m), 12);
    assert.equal(contentTypeOf(withHeaders([])), undefined);
    assert.equal(contentLengthOf(withHeaders([['Content-Length', 'x']])), undefined);
  });
});

describe('authentication', () => {
  test('parseChallenge: Digest with quoted and token params', () => {
    const c = parseChallenge(
      'Digest realm="atlanta.com", domain="sip:boxesbybob.com", qop="auth,auth-int", nonce="f84f1cec41e6cbe5aea9c8e88d359", opaque="", stale=FALSE, algorithm=MD5',
    );
    assert.equal(c.scheme, 'Digest');
    assert.equal(c.realm, 'atlanta.com');
    assert.equal(c.nonce, 'f84f1cec41e6cbe5aea9c8e88d359');
    assert.equal(c.opaque, '');
    assert.equal(c.algorithm, 'MD5');
    assert.deepEqual(c.qop, ['auth', 'auth-int']);
    assert.equal(c.stale, false);
    assert.equal(c.params.get('domain'), 'sip:boxesbybob.com');
    assert.equal(parseChallenge('Digest realm="a\\"b",stale=true,nonce=abc').stale, true);
    assert.equal(parseChallenge('Digest realm="a\\"b"').realm, 'a"b');
    for (const bad of ['', 'Digest realm', 'Digest realm="x', 'Digest realm="x" nonce="y"', 'Digest =x']) {
      assert.throws(() => parseChallenge(bad), code('SIP_ERR_PARSE_AUTH'), bad);
    }
  });

  test('challengesOf reads every line of the named header', () => {
    const m = withHeaders([
      ['WWW-Authenticate', 'Digest realm="a", nonce="1"'],
      ['Proxy-Authenticate', 'Digest realm="p", nonce="2"'],
      ['www-authenticate', 'Digest realm="b", nonce="3", algorithm=SHA-256'],
    ]);
    assert.deepEqual(challengesOf(m, 'www-authenticate').map((c) => c.realm), ['a', 'b']);
    assert.deepEqual(challengesOf(m, 'proxy-authenticate').map((c) => c.nonce), ['2']);
  });

  test('formatCredentials quotes what it is told to, escaping quotes', () => {
    assert.equal(
      formatCredentials({
        scheme: 'Digest',
        params: [
          ['username', 'bob', true],
          ['realm', 'a"b', true],
          ['algorithm', 'MD5', false],
          ['nc', '00000001', false],
        ],
      }),
      'Digest username="bob", realm="a\\"b", algorithm=MD5, nc=00000001',
    );
  });
});

describe('token lists', () => {
  test('Allow-Events (u), Supported (k), Require, Allow: lower-cased, across lines', () => {
    const m = withHeaders([
      ['u', 'Presence, dialog'],
      ['Allow-Events', 'message-summary'],
      ['k', 'path, GRUU'],
      ['Require', 'eventlist'],
      ['Allow', 'INVITE, ACK,NOTIFY'],
    ]);
    assert.deepEqual(tokenListOf(m, 'allow-events'), ['presence', 'dialog', 'message-summary']);
    assert.deepEqual(tokenListOf(m, 'Supported'), ['path', 'gruu']);
    assert.deepEqual(tokenListOf(m, 'require'), ['eventlist']);
    assert.deepEqual(tokenListOf(m, 'allow'), ['invite', 'ack', 'notify']);
    assert.deepEqual(tokenListOf(m, 'unsupported'), []);
  });
});
