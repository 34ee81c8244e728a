import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { describe, test } from 'node:test';
import {
  DEFAULT_PARSE_LIMITS,
  parseSipMessage,
  SipParseError,
  type SipMessage,
  type SipRequest,
  type SipResponse,
} from '../../../src/sip/codec/index.js';
import { PresenceB2BError } from '../../../src/util/errors.js';
import { buildMessage, buildNotify, buildResponse, buildSubscribe, DEFAULT_PIDF } from '../../support/sip-fixtures.js';

const BASE: Array<[string, string]> = [
  ['Via', 'SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-1'],
  ['From', '<sip:a@example.com>;tag=f1'],
  ['To', '<sip:b@example.com>'],
  ['Call-ID', 'c1@example.com'],
  ['CSeq', '1 OPTIONS'],
];

function options(extra: Array<[string, string]> = [], body = ''): Buffer {
  return buildMessage('OPTIONS sip:b@example.com SIP/2.0', [...BASE, ...extra], { body });
}

function rejects(data: Uint8Array | string, code: string, opts?: Parameters<typeof parseSipMessage>[1]): SipParseError {
  let caught: unknown;
  try {
    parseSipMessage(data, opts);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof SipParseError, `expected SipParseError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  return caught;
}

function asRequest(m: SipMessage): SipRequest {
  assert.equal(m.kind, 'request');
  return m as SipRequest;
}

function asResponse(m: SipMessage): SipResponse {
  assert.equal(m.kind, 'response');
  return m as SipResponse;
}

describe('parseSipMessage: start lines', () => {
  test('request line gives method and Request-URI', () => {
    const r = asRequest(parseSipMessage(options()));
    assert.equal(r.method, 'OPTIONS');
    assert.equal(r.uri, 'sip:b@example.com');
    assert.equal(r.body.length, 0);
  });

  test('status line gives status and reason (reason may hold spaces, may be empty)', () => {
    const r = asResponse(parseSipMessage(buildResponse({ status: 481, reason: 'Call/Transaction Does Not Exist' })));
    assert.equal(r.status, 481);
    assert.equal(r.reason, 'Call/Transaction Does Not Exist');
    const empty = asResponse(parseSipMessage(buildResponse({ status: 100, reason: '' })));
    assert.equal(empty.reason, '');
  });

  test('accepts a string input (UTF-8 encoded)', () => {
    const r = asRequest(parseSipMessage(options().toString('utf8')));
    assert.equal(r.method, 'OPTIONS');
  });

  test('accepts a plain Uint8Array view with an offset', () => {
    const bytes = Buffer.concat([Buffer.from('xxxx'), options()]);
    const view = new Uint8Array(bytes.buffer, bytes.byteOffset + 4, bytes.length - 4);
    assert.equal(asRequest(parseSipMessage(view)).method, 'OPTIONS');
  });

  test('ignores CRLFs before the start line (RFC 3261 §7.5)', () => {
    assert.equal(asRequest(parseSipMessage(Buffer.concat([Buffer.from('\r\n\r\n'), options()]))).method, 'OPTIONS');
  });

  test('rejects bad start lines', () => {
    rejects('', 'SIP_ERR_PARSE_START_LINE');
    rejects('\r\n\r\n', 'SIP_ERR_PARSE_START_LINE');
    rejects(buildMessage('OPTIONS  sip:b@example.com SIP/2.0', BASE), 'SIP_ERR_PARSE_START_LINE');
    rejects(buildMessage('OPTIONS sip:b@example.com SIP/3.0', BASE), 'SIP_ERR_PARSE_START_LINE');
    rejects(buildMessage('OPTIONS <sip:b@example.com> SIP/2.0', BASE), 'SIP_ERR_PARSE_START_LINE');
    rejects(buildMessage('OPT@IONS sip:b@example.com SIP/2.0', BASE), 'SIP_ERR_PARSE_START_LINE');
    rejects(buildMessage('OPTIONS', BASE), 'SIP_ERR_PARSE_START_LINE');
    rejects(buildMessage('SIP/2.0 20 OK', BASE), 'SIP_ERR_PARSE_START_LINE');
    rejects(buildMessage('SIP/2.0 700 Nope', BASE), 'SIP_ERR_PARSE_START_LINE');
    rejects(buildMessage('SIP/2.0 099 Nope', BASE), 'SIP_ERR_PARSE_START_LINE');
    rejects(buildMessage('SIP/2.0 2000 OK', BASE), 'SIP_ERR_PARSE_START_LINE');
  });

  test('the start line is read in place: spaces on the header lines after it never count (missing parts, extra space, version)', () => {
    // The header lines of BASE hold spaces: a start line short of its parts must not borrow theirs.
    rejects(buildMessage('OPTIONS sip:b@example.com', BASE), 'SIP_ERR_PARSE_START_LINE');
    rejects(buildMessage('OPTIONS sip:b@example.com SIP/2.0 ', BASE), 'SIP_ERR_PARSE_START_LINE');
    rejects(buildMessage('OPTIONS sip:b@example.com SIP/2.00', BASE), 'SIP_ERR_PARSE_START_LINE');
    rejects(buildMessage('SIP/2.0', BASE), 'SIP_ERR_PARSE_START_LINE');
    rejects(buildMessage('SIP/2.0 200', BASE).toString('latin1').replace('SIP/2.0 200\r\n', 'SIP/2.0 20\r\n'), 'SIP_ERR_PARSE_START_LINE');
    assert.equal((parseSipMessage(buildMessage('SIP/2.0 200', BASE)) as SipResponse).reason, '');
    assert.equal((parseSipMessage(buildMessage('SIP/2.0 200 Very OK', BASE)) as SipResponse).reason, 'Very OK');
    assert.equal(asRequest(parseSipMessage(buildMessage('OPTIONS sip:b@example.com sip/2.0', BASE))).uri, 'sip:b@example.com', 'the version in any case');
  });

  test('methods: the common ones are shared constants, any other token is kept as written (case-sensitive, RFC 3261 §7.1)', () => {
    for (const method of ['NOTIFY', 'SUBSCRIBE', 'OPTIONS', 'PUBLISH', 'INFO', 'notify', 'NOTIFYX', 'NOTIF', 'X-CUSTOM.1']) {
      const request = asRequest(parseSipMessage(buildMessage(`${method} sip:b@example.com SIP/2.0`, BASE).toString('latin1').replace('CSeq: 1 OPTIONS', `CSeq: 1 ${method}`)));
      assert.equal(request.method, method);
    }
  });

  test('SipParseError is a PresenceB2BError with a stable code', () => {
    const e = rejects('garbage\r\n\r\n', 'SIP_ERR_PARSE_START_LINE');
    assert.ok(e instanceof PresenceB2BError);
    assert.equal(e.name, 'SipParseError');
  });
});

describe('parseSipMessage: headers', () => {
  test('names are looked up in any case and by compact form (RFC 3261 §7.3.3)', () => {
    const m = parseSipMessage(
      buildMessage('OPTIONS sip:b@example.com SIP/2.0', [
        ['v', 'SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK-1'],
        ['f', '<sip:a@example.com>;tag=f1'],
        ['t', '<sip:b@example.com>'],
        ['i', 'c1'],
        ['CSEQ', '1 OPTIONS'],
        ['m', '<sip:a@192.0.2.1>'],
        ['o', 'presence'],
        ['u', 'presence'],
        ['k', 'path'],
        ['s', 'hello'],
        ['c', 'text/plain'],
        ['e', 'gzip'],
        ['r', '<sip:c@example.com>'],
        ['x', '1800'],
        ['y', 'abc'],
        ['b', '<sip:d@example.com>'],
        ['j', '*;audio'],
        ['d', 'proxy'],
      ], { body: 'hi' }),
    );
    const expected: Array<[string, string]> = [
      ['via', 'SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK-1'],
      ['FROM', '<sip:a@example.com>;tag=f1'],
      ['To', '<sip:b@example.com>'],
      ['call-id', 'c1'],
      ['cseq', '1 OPTIONS'],
      ['Contact', '<sip:a@192.0.2.1>'],
      ['Event', 'presence'],
      ['Allow-Events', 'presence'],
      ['Supported', 'path'],
      ['Subject', 'hello'],
      ['Content-Type', 'text/plain'],
      ['content-encoding', 'gzip'],
      ['Refer-To', '<sip:c@example.com>'],
      ['Session-Expires', '1800'],
      ['Identity', 'abc'],
      ['Referred-By', '<sip:d@example.com>'],
      ['Reject-Contact', '*;audio'],
      ['Request-Disposition', 'proxy'],
      ['l', '2'],
    ];
    for (const [name, value] of expected) assert.equal(m.headers.get(name), value, name);
  });

  test('line folding: continuation lines join with one space (RFC 3261 §7.3.1)', () => {
    const raw =
      'OPTIONS sip:b@example.com SIP/2.0\r\n' +
      'Via: SIP/2.0/UDP 192.0.2.1\r\n ;branch=z9hG4bK-1\r\n' +
      'From: <sip:a@example.com>\r\n\t;tag=f1\r\n' +
      'To:\r\n <sip:b@example.com>\r\n' +
      'Call-ID: c1\r\nCSeq: 1\r\n    OPTIONS\r\n' +
      'Subject: one\r\n   two  \r\n\tthree\r\n' +
      'Content-Length: 0\r\n\r\n';
    const m = parseSipMessage(raw);
    assert.equal(m.headers.get('subject'), 'one two three');
    assert.equal(m.headers.get('to'), '<sip:b@example.com>');
    assert.equal(m.headers.get('via'), 'SIP/2.0/UDP 192.0.2.1 ;branch=z9hG4bK-1');
    assert.equal(m.headers.get('cseq'), '1 OPTIONS');
  });

  test('whitespace around the colon and empty values', () => {
    const m = parseSipMessage(options([['Subject', '']]).toString('latin1').replace('Call-ID: ', 'Call-ID   :   '));
    assert.equal(m.headers.get('call-id'), 'c1@example.com');
    assert.equal(m.headers.get('subject'), '');
  });

  test('header order and original names are kept', () => {
    const m = parseSipMessage(options([['X-One', '1'], ['x-one', '2']]));
    const names = [...m.headers].map((f) => f.name);
    assert.deepEqual(names, ['Via', 'From', 'To', 'Call-ID', 'CSeq', 'X-One', 'x-one', 'Content-Length']);
    assert.deepEqual(m.headers.getAll('X-ONE'), ['1', '2']);
  });

  test('comma-separated values of list headers are split outside quotes and <>', () => {
    const m = parseSipMessage(
      options([
        ['Contact', '"Doe, John" <sip:j@a.example.com;x=1,2>, <sip:k@b.example.com>'],
        ['Contact', 'sip:l@c.example.com'],
        ['Supported', 'path, gruu ,,outbound'],
        ['Subject', 'a, b'],
      ]),
    );
    assert.deepEqual(m.headers.values('m'), [
      '"Doe, John" <sip:j@a.example.com;x=1,2>',
      '<sip:k@b.example.com>',
      'sip:l@c.example.com',
    ]);
    assert.deepEqual(m.headers.values('supported'), ['path', 'gruu', 'outbound']);
    assert.deepEqual(m.headers.values('subject'), ['a, b'], 'Subject is not a list header');
  });

  test('UTF-8 in display names and reason phrases is decoded', () => {
    const m = parseSipMessage(buildResponse({ status: 200, reason: 'Très bien ✓', fromUri: 'sip:w@example.com' }));
    assert.equal(asResponse(m).reason, 'Très bien ✓');
    const n = parseSipMessage(options().toString('utf8').replace('From: <', 'From: "Zoë 日本" <'));
    assert.equal(n.headers.get('from'), '"Zoë 日本" <sip:a@example.com>;tag=f1');
  });

  test('bare LF line ends are tolerated', () => {
    const crlf = options([], 'body\r\n').toString('latin1');
    const end = crlf.indexOf('\r\n\r\n');
    const m = parseSipMessage(`${crlf.slice(0, end).replaceAll('\r\n', '\n')}\n\n${crlf.slice(end + 4)}`);
    assert.equal(m.headers.get('call-id'), 'c1@example.com');
    assert.equal(Buffer.from(m.body).toString(), 'body\r\n');
  });

  test('rejects bad header lines', () => {
    rejects(options().toString().replace('Call-ID: c1@example.com', 'Call-ID c1@example.com'), 'SIP_ERR_PARSE_HEADER');
    rejects(options().toString().replace('Call-ID:', ': c1 Call-ID:'), 'SIP_ERR_PARSE_HEADER');
    rejects(options().toString().replace('Call-ID:', 'Call(ID):'), 'SIP_ERR_PARSE_HEADER');
    rejects('OPTIONS sip:b@example.com SIP/2.0\r\n continuation: first\r\n\r\n', 'SIP_ERR_PARSE_HEADER');
    rejects(options().toString().replace('\r\n\r\n', '\r\n'), 'SIP_ERR_PARSE_HEADER');
  });
});

describe('parseSipMessage: validation of what a server needs', () => {
  test('missing mandatory headers', () => {
    for (const [name, header] of [
      ['Via', 'via'],
      ['From', 'from'],
      ['To', 'to'],
      ['Call-ID', 'call-id'],
      ['CSeq', 'cseq'],
    ] as const) {
      const e = rejects(
        buildMessage('OPTIONS sip:b@example.com SIP/2.0', BASE.filter(([n]) => n !== name)),
        'SIP_ERR_PARSE_MISSING_HEADER',
      );
      assert.equal(e.header, header);
      assert.match(e.message, new RegExp(name));
    }
  });

  test('repeated single-valued headers are rejected', () => {
    rejects(options([['CSeq', '2 OPTIONS']]), 'SIP_ERR_PARSE_HEADER');
    rejects(options([['t', '<sip:c@example.com>']]), 'SIP_ERR_PARSE_HEADER');
    rejects(options([['i', 'other']]), 'SIP_ERR_PARSE_HEADER');
    rejects(options([['f', '<sip:c@example.com>;tag=2']]), 'SIP_ERR_PARSE_HEADER');
  });

  test('top Via must parse; a Via without branch (RFC 2543) is accepted', () => {
    const m = parseSipMessage(buildMessage('OPTIONS sip:b@example.com SIP/2.0', [['Via', 'SIP/2.0/UDP 192.0.2.1'], ...BASE.slice(1)]));
    assert.equal(m.headers.get('via'), 'SIP/2.0/UDP 192.0.2.1');
    rejects(buildMessage('OPTIONS sip:b@example.com SIP/2.0', [['Via', 'SIP/2.0 192.0.2.1'], ...BASE.slice(1)]), 'SIP_ERR_PARSE_VIA');
    rejects(buildMessage('OPTIONS sip:b@example.com SIP/2.0', [['Via', 'SIP/2.0/UDP 192.0.2.1;;branch=1'], ...BASE.slice(1)]), 'SIP_ERR_PARSE_VIA');
  });

  test('CSeq: number below 2**31 and a method equal to the request method', () => {
    rejects(buildMessage('OPTIONS sip:b@example.com SIP/2.0', [...BASE.slice(0, 4), ['CSeq', '1 INFO']]), 'SIP_ERR_PARSE_CSEQ');
    rejects(buildMessage('OPTIONS sip:b@example.com SIP/2.0', [...BASE.slice(0, 4), ['CSeq', 'OPTIONS']]), 'SIP_ERR_PARSE_CSEQ');
    rejects(buildMessage('OPTIONS sip:b@example.com SIP/2.0', [...BASE.slice(0, 4), ['CSeq', '2147483648 OPTIONS']]), 'SIP_ERR_PARSE_CSEQ');
    const ok = parseSipMessage(buildMessage('OPTIONS sip:b@example.com SIP/2.0', [...BASE.slice(0, 4), ['CSeq', '2147483647 OPTIONS']]));
    assert.equal(ok.headers.get('cseq'), '2147483647 OPTIONS');
    // A response's CSeq names the request method, not checked against anything.
    assert.equal(asResponse(parseSipMessage(buildResponse({ method: 'NOTIFY' }))).status, 200);
  });

  test('From and To must be name-addr or addr-spec', () => {
    rejects(options().toString().replace('To: <sip:b@example.com>', 'To: "unterminated <sip:b@example.com>'), 'SIP_ERR_PARSE_NAME_ADDR');
    rejects(options().toString().replace('To: <sip:b@example.com>', 'To: <sip:b@example.com'), 'SIP_ERR_PARSE_NAME_ADDR');
    rejects(options().toString().replace('From: <sip:a@example.com>', 'From: nobody'), 'SIP_ERR_PARSE_NAME_ADDR');
    rejects(options().toString().replace(';tag=f1', ';tag='), 'SIP_ERR_PARSE_NAME_ADDR');
  });

  test('Call-ID must not be empty', () => {
    rejects(options().toString().replace('Call-ID: c1@example.com', 'Call-ID:'), 'SIP_ERR_PARSE_MISSING_HEADER');
  });
});

describe('parseSipMessage: body and Content-Length', () => {
  test('body is exactly Content-Length octets; trailing datagram octets are ignored', () => {
    const bytes = Buffer.concat([options([], 'hello'), Buffer.from('TRAILING')]);
    const m = parseSipMessage(bytes);
    assert.deepEqual(Buffer.from(m.body), Buffer.from('hello'));
  });

  test('without Content-Length a datagram body runs to the end', () => {
    const m = parseSipMessage(buildMessage('OPTIONS sip:b@example.com SIP/2.0', BASE, { body: 'abc', contentLength: null }));
    assert.deepEqual(Buffer.from(m.body), Buffer.from('abc'));
  });

  test('body octets are kept byte-exact (binary)', () => {
    const body = Buffer.from([0, 1, 2, 0xff, 0x0d, 0x0a, 0x0d, 0x0a, 0x80]);
    const m = parseSipMessage(buildMessage('OPTIONS sip:b@example.com SIP/2.0', BASE, { body }));
    assert.deepEqual(Buffer.from(m.body), body);
  });

  test('bad Content-Length values are rejected', () => {
    for (const value of ['-1', 'abc', '', '1 2', '99999999999', '0x10']) {
      rejects(buildMessage('OPTIONS sip:b@example.com SIP/2.0', BASE, { contentLength: value }), 'SIP_ERR_PARSE_CONTENT_LENGTH');
    }
    rejects(buildMessage('OPTIONS sip:b@example.com SIP/2.0', BASE, { body: 'abc', contentLength: 4 }), 'SIP_ERR_PARSE_CONTENT_LENGTH');
    rejects(options([['l', '0']]), 'SIP_ERR_PARSE_CONTENT_LENGTH');
  });

  test('on a stream Content-Length is mandatory (RFC 3261 §18.3)', () => {
    const noLength = buildMessage('OPTIONS sip:b@example.com SIP/2.0', BASE, { contentLength: null });
    assert.equal(parseSipMessage(noLength).body.length, 0);
    rejects(noLength, 'SIP_ERR_PARSE_CONTENT_LENGTH', { framing: 'stream' });
    assert.equal(parseSipMessage(options([], 'x'), { framing: 'stream' }).body.length, 1);
  });
});

describe('parseSipMessage: limits', () => {
  test('defaults', () => {
    assert.deepEqual({ ...DEFAULT_PARSE_LIMITS }, { maxMessageBytes: 65535, maxHeaders: 128, maxLineLength: 16384 });
  });

  test('message size', () => {
    const big = options([], 'x'.repeat(1000));
    rejects(big, 'SIP_ERR_PARSE_LIMIT', { limits: { maxMessageBytes: 1000 } });
    assert.equal(parseSipMessage(big, { limits: { maxMessageBytes: big.length } }).body.length, 1000);
    rejects(Buffer.alloc(70000, 0x41), 'SIP_ERR_PARSE_LIMIT');
  });

  test('header count (continuation lines do not count)', () => {
    const extra: Array<[string, string]> = [];
    for (let i = 0; i < 20; i++) extra.push([`X-H${i}`, 'v']);
    const m = options(extra); // 5 + 20 + Content-Length = 26 headers
    rejects(m, 'SIP_ERR_PARSE_LIMIT', { limits: { maxHeaders: 25 } });
    assert.equal(parseSipMessage(m, { limits: { maxHeaders: 26 } }).headers.size, 26);
    const many: Array<[string, string]> = [];
    for (let i = 0; i < 200; i++) many.push(['X-H', String(i)]);
    rejects(options(many), 'SIP_ERR_PARSE_LIMIT');
  });

  test('line length, also of an unfolded value', () => {
    rejects(options([['X-Long', 'y'.repeat(200)]]), 'SIP_ERR_PARSE_LIMIT', { limits: { maxLineLength: 100 } });
    const folded = `${options().toString().replace('\r\n\r\n', '\r\nX-Folded: a')}${'\r\n bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'.repeat(5)}\r\n\r\n`;
    rejects(folded, 'SIP_ERR_PARSE_LIMIT', { limits: { maxLineLength: 100 } });
    assert.equal(parseSipMessage(folded).headers.get('x-folded')?.length, 1 + 5 * 41);
  });
});

describe('test/support/sip-fixtures builders', () => {
  test('buildNotify, buildSubscribe and buildResponse give parseable messages', () => {
    const notify = asRequest(parseSipMessage(buildNotify()));
    assert.equal(notify.method, 'NOTIFY');
    assert.equal(notify.headers.get('content-type'), 'application/pidf+xml');
    assert.equal(Buffer.from(notify.body).toString(), DEFAULT_PIDF);
    const subscribe = asRequest(parseSipMessage(buildSubscribe({ expires: 0 })));
    assert.equal(subscribe.headers.get('expires'), '0');
    const response = asResponse(parseSipMessage(buildResponse({ status: 489 })));
    assert.equal(response.reason, 'Bad Event');
    assert.equal(response.headers.get('expires'), undefined);
  });
});
