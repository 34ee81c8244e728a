import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatVia, parseSipMessage, parseVia, SipParseError, topVia, viaList } from '../../../src/sip/codec/index.js';
import { buildMessage } from '../../support/sip-fixtures.js';

describe('parseVia', () => {
  test('branch, received, rport with value', () => {
    const via = parseVia('SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bK-1;received=192.0.2.7;rport=5062');
    assert.equal(via.protocol, 'SIP/2.0');
    assert.equal(via.transport, 'UDP');
    assert.equal(via.host, '10.0.0.9');
    assert.equal(via.port, 5060);
    assert.equal(via.branch, 'z9hG4bK-1');
    assert.equal(via.received, '192.0.2.7');
    assert.equal(via.rport, 5062);
  });

  test('rport without value (RFC 3581), lower-case transport, LWS everywhere', () => {
    const via = parseVia(' sip / 2.0 / tcp   Spindle.Example.com : 5070 ;  RPort ; Branch = z9hG4bK9ikj8 ');
    assert.equal(via.protocol, 'SIP/2.0');
    assert.equal(via.transport, 'TCP');
    assert.equal(via.host, 'spindle.example.com');
    assert.equal(via.port, 5070);
    assert.equal(via.rport, true);
    assert.equal(via.branch, 'z9hG4bK9ikj8');
    assert.deepEqual([...via.params.keys()], ['rport', 'branch']);
  });

  test('IPv6 sent-by and received', () => {
    const via = parseVia('SIP/2.0/TLS [2001:db8::9]:5061;received=2001:db8::7;branch=z9hG4bKx');
    assert.equal(via.host, '[2001:db8::9]');
    assert.equal(via.port, 5061);
    assert.equal(via.received, '2001:db8::7');
  });

  test('no branch (RFC 2543)', () => {
    const via = parseVia('SIP/2.0/UDP iftgw.example.com');
    assert.equal(via.branch, undefined);
    assert.equal(via.port, undefined);
  });

  test('errors', () => {
    for (const text of ['', 'SIP/2.0', 'SIP/2.0/UDP', 'SIP/2.0/UDP ', 'SIP 2.0/UDP h', 'SIP/2.0/UDP h:x', 'SIP/2.0/UDP h:70000', 'SIP/2.0/UDP h;;', 'SIP/2.0/UDP h;branch=', 'SIP/2.0/UDP h junk']) {
      assert.throws(
        () => parseVia(text),
        (e: unknown) => e instanceof SipParseError && e.code === 'SIP_ERR_PARSE_VIA',
        text,
      );
    }
  });
});

describe('viaList, topVia, formatVia', () => {
  const message = parseSipMessage(
    buildMessage('OPTIONS sip:b@example.com SIP/2.0', [
      ['v', 'SIP/2.0/UDP a.example.com;branch=z9hG4bK1 , SIP/2.0/TCP b.example.com:5070;branch=z9hG4bK2'],
      ['From', '<sip:a@example.com>;tag=1'],
      ['To', '<sip:b@example.com>'],
      ['Via', 'SIP/2.0/TLS c.example.com;branch=z9hG4bK3'],
      ['Call-ID', 'x'],
      ['CSeq', '1 OPTIONS'],
    ]),
  );

  test('all elements across lines, top first', () => {
    assert.deepEqual(
      viaList(message).map((v) => `${v.transport} ${v.host} ${v.branch}`),
      ['UDP a.example.com z9hG4bK1', 'TCP b.example.com z9hG4bK2', 'TLS c.example.com z9hG4bK3'],
    );
    assert.equal(topVia(message).host, 'a.example.com');
    assert.equal(topVia(message), topVia(message), 'parsed once, then cached');
  });

  test('topVia follows header changes', () => {
    const m = parseSipMessage(buildMessage('OPTIONS sip:b@example.com SIP/2.0', [
      ['Via', 'SIP/2.0/UDP a.example.com;branch=z9hG4bK1'],
      ['From', '<sip:a@example.com>;tag=1'],
      ['To', '<sip:b@example.com>'],
      ['Call-ID', 'x'],
      ['CSeq', '1 OPTIONS'],
    ]));
    assert.equal(topVia(m).host, 'a.example.com');
    m.headers.prepend('Via', 'SIP/2.0/UDP z.example.com;branch=z9hG4bKz');
    assert.equal(topVia(m).host, 'z.example.com');
    m.headers.deleteFirst('via');
    m.headers.delete('via');
    assert.throws(() => topVia(m), (e: unknown) => e instanceof SipParseError && e.code === 'SIP_ERR_PARSE_MISSING_HEADER');
  });

  test('formatVia writes fields, which win over params', () => {
    const via = parseVia('SIP/2.0/UDP 10.0.0.9:5060;rport;branch=z9hG4bK-1;x=y');
    assert.equal(formatVia(via), 'SIP/2.0/UDP 10.0.0.9:5060;rport;branch=z9hG4bK-1;x=y');
    via.rport = 5099;
    via.received = '192.0.2.1';
    assert.equal(formatVia(via), 'SIP/2.0/UDP 10.0.0.9:5060;rport=5099;branch=z9hG4bK-1;x=y;received=192.0.2.1');
    assert.equal(
      formatVia({ protocol: 'SIP/2.0', transport: 'TCP', host: 'h.example.com', params: new Map(), branch: 'z9hG4bKb', rport: true }),
      'SIP/2.0/TCP h.example.com;branch=z9hG4bKb;rport',
    );
    assert.deepEqual(parseVia(formatVia(via)), { ...via, params: new Map([['rport', '5099'], ['branch', 'z9hG4bK-1'], ['x', 'y'], ['received', '192.0.2.1']]) });
  });
});
