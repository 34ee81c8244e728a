import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  badRequestReason,
  buildBadRequestResponse,
  classifyMalformed,
  hasTagParam,
  readMalformedRequestHead,
} from '../../../src/sip/transport/bad-request.js';

const bytes = (text: string) => Buffer.from(text, 'latin1');

describe('stateless 400 for malformed requests', () => {
  test('classifies by the first line', () => {
    assert.equal(classifyMalformed(bytes('OPTIONS sip:x SIP/2.0\r\nVia: x\r\n')), 'request');
    assert.equal(classifyMalformed(bytes('\r\n\r\nNOTIFY sip:x SIP/2.0\nCSeq: 1\n')), 'request');
    assert.equal(classifyMalformed(bytes('SIP/2.0 200 OK\r\n')), 'response');
    assert.equal(classifyMalformed(bytes('SIP/2.0 SIP/2.0\r\n')), 'response');
    assert.equal(classifyMalformed(bytes('GET / HTTP/1.1\r\n')), 'garbage');
    assert.equal(classifyMalformed(bytes('SIP/2.0')), 'response');
    assert.equal(classifyMalformed(bytes(' SIP/2.0')), 'garbage');
    assert.equal(classifyMalformed(bytes('')), 'garbage');
  });

  test('reads Via lines, From, To, Call-ID, CSeq in long and compact forms, unfolding', () => {
    const head = readMalformedRequestHead(
      bytes(
        'NOTIFY sip:x SIP/2.0\r\nv: SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b\r\nVIA: SIP/2.0/TCP c\r\nf: <sip:a@b>\r\n ;tag=1\r\nt: <sip:c@d>\r\n' +
          'i: abc\r\nCSeq: 4 NOTIFY\r\nCall-ID: second\r\n\r\nVia: body-not-header\r\n',
      ),
    );
    assert.deepEqual(head, {
      vias: ['SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b', 'SIP/2.0/TCP c'],
      from: '<sip:a@b> ;tag=1',
      to: '<sip:c@d>',
      callId: 'abc',
      cseq: '4 NOTIFY',
    });
  });

  test('the reason phrase is one printable line of at most 100 characters', () => {
    assert.equal(badRequestReason('Missing Call-ID'), 'Bad Request - Missing Call-ID');
    assert.equal(badRequestReason('a\r\nb\u0000c\td'), 'Bad Request - a b c d');
    assert.equal(badRequestReason(''), 'Bad Request');
    assert.equal(badRequestReason('é'.repeat(300)), 'Bad Request');
    fc.assert(
      fc.property(fc.string({ maxLength: 400, unit: 'binary' }), (problem) => {
        const reason = badRequestReason(problem);
        assert.ok(reason.length <= 100);
        assert.ok(reason.startsWith('Bad Request'));
        assert.match(reason, /^[\x20-\x7e]*$/);
      }),
      { numRuns: 300 },
    );
  });

  test('finds a To tag only as a header parameter', () => {
    assert.equal(hasTagParam('<sip:a@b>;tag=1'), true);
    assert.equal(hasTagParam('<sip:a@b> ; TAG = 1'), true);
    assert.equal(hasTagParam('<sip:a@b;tag=1>'), false);
    assert.equal(hasTagParam('<sip:a@b>;tagx=1'), false);
    assert.equal(hasTagParam('sip:a@b;tag=2'), true);
  });

  test('builds the exact octets, adding a To tag only when missing', () => {
    const head = { vias: ['SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b', 'SIP/2.0/TCP c'], from: '<sip:a@b>;tag=1', to: '<sip:c@d>', callId: 'abc', cseq: '4 NOTIFY' };
    assert.equal(
      buildBadRequestResponse(head, 'SIP/2.0/UDP a;branch=z9hG4bK1;received=10.0.0.1, SIP/2.0/UDP b', 'Bad Via', 'tt').toString('latin1'),
      'SIP/2.0 400 Bad Request - Bad Via\r\n' +
        'Via: SIP/2.0/UDP a;branch=z9hG4bK1;received=10.0.0.1, SIP/2.0/UDP b\r\n' +
        'Via: SIP/2.0/TCP c\r\n' +
        'From: <sip:a@b>;tag=1\r\n' +
        'To: <sip:c@d>;tag=tt\r\n' +
        'Call-ID: abc\r\n' +
        'CSeq: 4 NOTIFY\r\n' +
        'Content-Length: 0\r\n\r\n',
    );
    const tagged = buildBadRequestResponse({ ...head, to: '<sip:c@d>;tag=x' }, head.vias[0]!, 'p', 'tt').toString('latin1');
    assert.match(tagged, /\r\nTo: <sip:c@d>;tag=x\r\n/);
  });

  test('never throws on arbitrary octets', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.constantFrom('', 'OPTIONS sip:a SIP/2.0\r\n', 'SIP/2.0 200 OK\r\n'), (noise, prefix) => {
        const data = Buffer.concat([bytes(prefix), noise]);
        classifyMalformed(data);
        const head = readMalformedRequestHead(data);
        for (const value of [...head.vias, head.from, head.to, head.callId, head.cseq]) {
          if (value !== undefined) assert.doesNotMatch(value, /[\r\n]/);
        }
      }),
      { numRuns: 500 },
    );
  });
});
