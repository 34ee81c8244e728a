import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  createRequest,
  createResponse,
  parseSipMessage,
  reasonPhrase,
  type SipRequest,
  type SipResponse,
  serializedLength,
  serializeSipMessage,
  toHeader,
} from '../../../src/sip/codec/index.js';
import { serializeBodylessResponse } from '../../../src/sip/codec/bodyless-response.js';
import { buildSubscribe } from '../../support/sip-fixtures.js';

function countContentLength(wire: Buffer): string[] {
  const head = wire.toString('latin1', 0, wire.indexOf('\r\n\r\n'));
  return head.split('\r\n').filter((line) => /^(content-length|l)\s*:/i.test(line));
}

describe('serializeSipMessage', () => {
  test('writes start line, headers as stored, one computed Content-Length last, then the body', () => {
    const request = createRequest({
      method: 'NOTIFY',
      uri: 'sip:w@192.0.2.5',
      headers: [
        ['v', 'SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK-1'],
        ['Content-Length', '999'],
        ['From', '<sip:a@example.com>;tag=1'],
        ['l', '5'],
        ['To', '<sip:w@example.com>;tag=2'],
        ['Call-ID', 'c'],
        ['CSeq', '3 NOTIFY'],
      ],
      body: 'héllo',
    });
    const wire = serializeSipMessage(request);
    assert.equal(
      wire.toString('utf8'),
      'NOTIFY sip:w@192.0.2.5 SIP/2.0\r\n' +
        'v: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK-1\r\n' +
        'From: <sip:a@example.com>;tag=1\r\n' +
        'To: <sip:w@example.com>;tag=2\r\n' +
        'Call-ID: c\r\n' +
        'CSeq: 3 NOTIFY\r\n' +
        'Content-Length: 6\r\n' +
        '\r\n' +
        'héllo',
    );
    assert.deepEqual(countContentLength(wire), ['Content-Length: 6']);
  });

  test('a response with no body has Content-Length: 0', () => {
    const request = parseSipMessage(buildSubscribe()) as SipRequest;
    const wire = serializeSipMessage(createResponse(request, 200));
    assert.ok(wire.toString().startsWith('SIP/2.0 200 OK\r\n'));
    assert.deepEqual(countContentLength(wire), ['Content-Length: 0']);
    assert.ok(wire.toString().endsWith('Content-Length: 0\r\n\r\n'));
  });

  test('serializedLength is the length of the serialization, without building it (UTF-8, bodies, a stored Content-Length)', () => {
    const messages = [
      createRequest({ method: 'SUBSCRIBE', uri: 'sip:alice@example.com', headers: [['Subject', 'café ☕'], ['Content-Length', '99']], body: 'ünïcödé' }),
      createRequest({ method: 'OPTIONS', uri: 'sip:b', headers: [] }),
      createResponse(createRequest({ method: 'NOTIFY', uri: 'sip:a', headers: [['Via', 'SIP/2.0/UDP h;branch=z9hG4bK1']] }), 489, 'Bad Event – €', {
        body: Uint8Array.from([0, 1, 2, 255]),
      }),
    ];
    for (const m of messages) assert.equal(serializedLength(m), serializeSipMessage(m).length);
  });

  test('the octets are the UTF-8 of start line, fields and Content-Length, whatever the text: ASCII, other characters anywhere, lone surrogates, heads larger than the scratch buffer', () => {
    const reference = (m: SipRequest | SipResponse): Buffer => {
      let head = m.kind === 'request' ? `${m.method} ${m.uri} SIP/2.0\r\n` : `SIP/2.0 ${m.status} ${m.reason}\r\n`;
      for (const f of m.headers) if (f.key !== 'content-length') head += `${f.name}: ${f.value}\r\n`;
      head += `Content-Length: ${m.body.length}\r\n\r\n`;
      return Buffer.concat([Buffer.from(head, 'utf8'), m.body]);
    };
    const values = ['plain', 'café ☕', 'é', 'x'.repeat(40) + '€', '\ud83d\ude00 grin', 'lone \ud800 high', 'lone low \udc00', '', 'ÿ latin1 only'];
    const messages: Array<SipRequest | SipResponse> = [];
    for (const v of values) {
      messages.push(createRequest({ method: 'SUBSCRIBE', uri: `sip:${v}@example.com`, headers: [['Subject', v], ['X-Ünï', 'a'], ['Content-Length', '5']], body: v }));
      messages.push(createResponse(createRequest({ method: 'NOTIFY', uri: 'sip:a', headers: [['Via', 'SIP/2.0/UDP h;branch=z9hG4bK1']] }), 486, `Busy ${v}`));
    }
    // Heads around and over the 16 KB scratch buffer, ASCII and not.
    for (const size of [16 * 1024 - 200, 16 * 1024 - 60, 16 * 1024, 20 * 1024, 70 * 1024]) {
      messages.push(createRequest({ method: 'MESSAGE', uri: 'sip:b', headers: [['X-Big', 'y'.repeat(size)], ['Subject', 'after']], body: 'z' }));
      messages.push(createRequest({ method: 'MESSAGE', uri: 'sip:b', headers: [['X-Big', 'y'.repeat(size / 4) + 'é'.repeat(size / 8)], ['Subject', 'after €']] }));
    }
    for (const m of messages) {
      const wire = serializeSipMessage(m);
      assert.deepEqual(wire, reference(m));
      assert.equal(serializedLength(m), wire.length);
    }
    // Each message has bytes of its own (nothing of the shared scratch leaks into an earlier one).
    const first = serializeSipMessage(messages[0]!);
    const copy = Buffer.from(first);
    serializeSipMessage(messages[1]!);
    assert.deepEqual(first, copy);
  });

  test('a head measured by serializedLength is reused only while the message reads the same: any change after the measure is noticed', () => {
    const reference = (m: SipRequest | SipResponse): Buffer => {
      let head = m.kind === 'request' ? `${m.method} ${m.uri} SIP/2.0\r\n` : `SIP/2.0 ${m.status} ${m.reason}\r\n`;
      for (const f of m.headers) if (f.key !== 'content-length') head += `${f.name}: ${f.value}\r\n`;
      head += `Content-Length: ${m.body.length}\r\n\r\n`;
      return Buffer.concat([Buffer.from(head, 'utf8'), m.body]);
    };
    const fresh = (): SipRequest =>
      createRequest({
        method: 'SUBSCRIBE',
        uri: 'sip:w@192.0.2.5:5060',
        headers: [
          ['Via', 'SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bK-1;rport'],
          ['From', '<sip:a@example.com>;tag=1'],
          ['To', '<sip:w@example.com>'],
          ['Call-ID', 'c1'],
          ['CSeq', '1 SUBSCRIBE'],
          ['Event', 'presence'],
        ],
        body: 'abc',
      });
    type Change = (m: SipRequest) => unknown; // a request returned, or nothing: changed in place
    const changes: Array<[string, Change]> = [
      ['nothing', () => undefined],
      ['a value set in place', (m) => {
          m.headers.set('Event', 'dialog');
        }],
      ['a value of the same length', (m) => {
          m.headers.set('Call-ID', 'c2');
        }],
      [
        'a field object edited',
        (m) => {
          (m.headers.at(3) as { value: string }).value = 'c9';
        },
      ],
      ['a field appended', (m) => {
          m.headers.append('Expires', '600');
        }],
      ['a field removed', (m) => {
          m.headers.deleteFirst('event');
        }],
      ['a Via prepended', (m) => {
          m.headers.prepend('Via', 'SIP/2.0/TCP 192.0.2.9:5060;branch=z9hG4bK-2;rport');
        }],
      ['the top Via replaced', (m) => {
          m.headers.deleteFirst('via');
          m.headers.prepend('Via', 'SIP/2.0/TCP 192.0.2.9:5060;branch=z9hG4bK-1;rport');
        }],
      ['a name changed', (m) => ({ ...m, headers: withField(m, 'Evenu', 'presence') })],
      ['the Request-URI', (m) => ({ ...m, uri: 'sip:w@192.0.2.6:5060' })],
      ['the method', (m) => ({ ...m, method: 'NOTIFY' })],
      ['the body length', (m) => ({ ...m, body: Buffer.from('abcd') })],
      ['the body, same length', (m) => ({ ...m, body: Buffer.from('xyz') })],
      ['a stored Content-Length added (dropped on the wire)', (m) => {
          m.headers.append('Content-Length', '7');
        }],
    ];
    function withField(m: SipRequest, name: string, value: string): SipRequest['headers'] {
      const headers = m.headers.clone();
      headers.deleteFirst('event');
      headers.append(name, value);
      return headers;
    }
    for (const [what, change] of changes) {
      const m = fresh();
      const measured = serializedLength(m);
      const changed = (change(m) as SipRequest | undefined) ?? m;
      const wire = serializeSipMessage(changed);
      assert.deepEqual(wire, reference(changed), what);
      if (what === 'nothing') assert.equal(wire.length, measured);
    }
    // Another message written in between: the first is written again, not taken from the scratch.
    const a = fresh();
    serializedLength(a);
    const b = createResponse(a, 200, 'OK', { toTag: 't' });
    assert.deepEqual(serializeSipMessage(b), reference(b));
    assert.deepEqual(serializeSipMessage(a), reference(a));
    // Responses: the status is compared too.
    const r = createResponse(a, 486, 'Busy Here');
    serializedLength(r);
    const r2: SipResponse = { ...r, status: 487 };
    assert.deepEqual(serializeSipMessage(r2), reference(r2));
    // A head too large for the scratch buffer is never taken from it.
    const big = createRequest({ method: 'MESSAGE', uri: 'sip:b', headers: [['X-Big', 'y'.repeat(20 * 1024)]] });
    serializedLength(big);
    big.headers.set('X-Big', 'z'.repeat(20 * 1024));
    assert.deepEqual(serializeSipMessage(big), reference(big));
  });

  test('binary bodies are copied byte-exact', () => {
    const body = Uint8Array.from([0, 255, 13, 10, 13, 10, 128]);
    const wire = serializeSipMessage(createRequest({ method: 'MESSAGE', uri: 'sip:a@b', headers: [], body }));
    assert.deepEqual(new Uint8Array(wire.subarray(wire.length - body.length)), body);
  });

  test('parse(serialize(m)) gives m back', () => {
    const request = createRequest({
      method: 'SUBSCRIBE',
      uri: 'sip:alice@example.com',
      headers: [
        ['Via', 'SIP/2.0/TCP 192.0.2.5:5060;branch=z9hG4bK-x;rport'],
        ['From', '"Watcher" <sip:w@example.com>;tag=abc'],
        ['To', '<sip:alice@example.com>'],
        ['Call-ID', 'id@host'],
        ['CSeq', '7 SUBSCRIBE'],
        ['Event', 'presence'],
        ['X-Empty', ''],
      ],
      body: 'body',
    });
    const parsed = parseSipMessage(serializeSipMessage(request), { framing: 'stream' }) as SipRequest;
    assert.equal(parsed.method, request.method);
    assert.equal(parsed.uri, request.uri);
    assert.deepEqual(
      [...parsed.headers].filter((f) => f.key !== 'content-length').map((f) => [f.name, f.value]),
      [...request.headers].map((f) => [f.name, f.value]),
    );
    assert.deepEqual(Buffer.from(parsed.body), Buffer.from('body'));
  });
});

describe('createResponse (RFC 3261 §8.2.6.2)', () => {
  const raw =
    'SUBSCRIBE sip:alice@example.com SIP/2.0\r\n' +
    'v: SIP/2.0/UDP p1.example.com;branch=z9hG4bK-p1\r\n' +
    'Via: SIP/2.0/UDP 192.0.2.5:5060;branch=z9hG4bK-ua;received=192.0.2.55, SIP/2.0/TCP x.example.com;branch=z9hG4bK-x\r\n' +
    'Max-Forwards: 69\r\n' +
    'f: <sip:w@example.com>;tag=wt\r\n' +
    't: <sip:alice@example.com>\r\n' +
    'i: call-1\r\n' +
    'CSeq: 5 SUBSCRIBE\r\n' +
    'Event: presence\r\n' +
    'Record-Route: <sip:p1.example.com;lr>\r\n' +
    'Content-Length: 0\r\n\r\n';
  const request = parseSipMessage(raw) as SipRequest;

  test('copies Via (all, in order), From, To, Call-ID, CSeq; adds the To tag', () => {
    const response = createResponse(request, 200, undefined, {
      toTag: 'ps1',
      headers: [
        ['Expires', '600'],
        ['Contact', '<sip:ps@192.0.2.9>'],
      ],
    });
    assert.equal(response.kind, 'response');
    assert.equal(response.status, 200);
    assert.equal(response.reason, 'OK');
    assert.deepEqual(
      [...response.headers].map((f) => `${f.name}: ${f.value}`),
      [
        'Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bK-p1',
        'Via: SIP/2.0/UDP 192.0.2.5:5060;branch=z9hG4bK-ua;received=192.0.2.55, SIP/2.0/TCP x.example.com;branch=z9hG4bK-x',
        'From: <sip:w@example.com>;tag=wt',
        'To: <sip:alice@example.com>;tag=ps1',
        'Call-ID: call-1',
        'CSeq: 5 SUBSCRIBE',
        'Expires: 600',
        'Contact: <sip:ps@192.0.2.9>',
      ],
    );
    assert.equal(toHeader(response).tag, 'ps1');
  });

  test('keeps an existing To tag; custom reason, body and Content-Type', () => {
    const inDialog = parseSipMessage(raw.replace('t: <sip:alice@example.com>', 't: <sip:alice@example.com>;tag=old')) as SipRequest;
    const response = createResponse(inDialog, 489, 'Bad Event Package', { toTag: 'new', body: 'x', contentType: 'text/plain' });
    assert.equal(toHeader(response).tag, 'old');
    assert.equal(response.reason, 'Bad Event Package');
    assert.equal(response.headers.get('content-type'), 'text/plain');
    const reparsed = parseSipMessage(serializeSipMessage(response)) as SipResponse;
    assert.equal(reparsed.status, 489);
    assert.deepEqual(Buffer.from(reparsed.body), Buffer.from('x'));
  });

  test('reasonPhrase', () => {
    assert.equal(reasonPhrase(200), 'OK');
    assert.equal(reasonPhrase(202), 'Accepted');
    assert.equal(reasonPhrase(481), 'Call/Transaction Does Not Exist');
    assert.equal(reasonPhrase(489), 'Bad Event');
    assert.equal(reasonPhrase(423), 'Interval Too Brief');
    assert.equal(reasonPhrase(499), 'Client Error');
  });

  test('serializeBodylessResponse writes the octets of createResponse + serializeSipMessage', () => {
    const requests = [
      // compact names, two Via lines, a Via list, no To tag, Record-Route and Content-Length to ignore
      'NOTIFY sip:b2b@192.0.2.1:5060 SIP/2.0\r\nv: SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bK-1;rport, SIP/2.0/TCP p.example.com;branch=z9hG4bK-0\r\n' +
        'Via: SIP/2.0/UDP 192.0.2.8;branch=z9hG4bK-2\r\nf: "Zoë" <sip:bob@example.com>;tag=a1\r\nt: <sip:alice@example.com>\r\n' +
        'i: c1@example.com\r\nCSeq: 7 NOTIFY\r\nRecord-Route: <sip:p.example.com;lr>\r\nl: 0\r\n\r\n',
      // in a dialog: To has a tag already
      'NOTIFY sip:b2b@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK-3\r\nFrom: <sip:bob@example.com>;tag=a1\r\n' +
        'To: <sip:alice@example.com>;TAG=b2\r\nCall-ID: c2\r\nCSeq: 8 NOTIFY\r\nEvent: presence\r\nContent-Length: 3\r\n\r\nabc',
    ];
    const extras: Array<Array<readonly [string, string]>> = [
      [],
      [['Server', 'presence-b2b'], ['Record-Route', '<sip:q.example.com;lr>']],
      [['Retry-After', '5'], ['Content-Length', '99'], ['Warning', '399 h "é"']],
    ];
    const parsed = requests.map((text) => parseSipMessage(text) as SipRequest);
    // an unparseable To (built, since the parser would refuse it)
    parsed.push(
      createRequest({
        method: 'NOTIFY',
        uri: 'sip:b2b@192.0.2.1',
        headers: [['Via', 'SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK-4'], ['From', '<sip:bob@example.com>;tag=a1'], ['To', '<<bad;tag'], ['Call-ID', 'c3'], ['CSeq', '9 NOTIFY']],
      }),
    );
    for (const request of parsed) {
      for (const headers of extras) {
        for (const [status, reason, toTag] of [
          [200, undefined, 'zz9'],
          [200, 'OK', undefined],
          [481, 'Subscription Does Not Exist', 'zz9'],
          [100, undefined, undefined],
          [200, 'Très bien', 'x'],
        ] as const) {
          const expected = serializeSipMessage(createResponse(request, status, reason, { toTag, headers }));
          const actual = serializeBodylessResponse(request, status, reason, toTag, headers);
          assert.equal(actual.toString('utf8'), expected.toString('utf8'));
          assert.deepEqual(actual, expected);
        }
      }
    }
  });

  test('serializeBodylessResponse: the octets of createResponse + serializeSipMessage for any header text (property)', () => {
    // ASCII, other Latin-1, BMP and astral characters, and lone surrogates (written as U+FFFD):
    // the 200 writes ASCII text itself and the rest through Buffer#write; both must agree.
    const unit = fc.constantFrom('a', 'Z', '0', ' ', ';', '=', '<', '>', '"', '@', 'é', 'ÿ', '\u0080', '日', '✓', '😀', '\ud800', '\udfff');
    const text = (max: number) => fc.string({ unit, maxLength: max });
    const tokenText = fc.string({ unit: fc.constantFrom('a', 'b', 'X', '1', '-', '.'), minLength: 1, maxLength: 8 });
    fc.assert(
      fc.property(
        fc.record({
          via: text(30),
          from: text(30),
          to: text(30),
          callId: text(20),
          cseq: text(12),
          others: fc.array(fc.tuple(fc.constantFrom('Event', 'Max-Forwards', 'X-Other', 'Content-Length', 'Record-Route'), text(20)), { maxLength: 4 }),
          extras: fc.array(fc.tuple(fc.oneof(tokenText, text(6)), text(20)), { maxLength: 3 }),
          status: fc.constantFrom(100, 200, 202, 481, 489),
          reason: fc.option(text(16), { nil: undefined }),
          toTag: fc.option(tokenText, { nil: undefined }),
        }),
        (g) => {
          const request = createRequest({
            method: 'NOTIFY',
            uri: 'sip:b2b@192.0.2.1',
            headers: [['Via', g.via], ['From', g.from], ...g.others, ['To', g.to], ['Call-ID', g.callId], ['CSeq', g.cseq]],
          });
          const headers = g.extras as Array<readonly [string, string]>;
          const expected = serializeSipMessage(createResponse(request, g.status, g.reason, { toTag: g.toTag, headers }));
          const actual = serializeBodylessResponse(request, g.status, g.reason, g.toTag, headers);
          assert.deepEqual(actual, expected);
        },
      ),
      { numRuns: 500 },
    );
  });
});
