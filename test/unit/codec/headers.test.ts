import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSipMessage, serializeSipMessage } from '../../../src/sip/codec/index.js';
import { SipHeaders } from '../../../src/sip/codec/headers.js';

const TEXT = [
  'NOTIFY sip:b@example.com SIP/2.0',
  'v: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-1, SIP/2.0/UDP 192.0.2.2;branch=z9hG4bK-2',
  'Via: SIP/2.0/TCP 192.0.2.3;branch=z9hG4bK-3',
  'From: <sip:a@example.com>;tag=f1',
  'To: <sip:b@example.com>;tag=t1',
  'Call-ID: c1@example.com',
  'CSeq: 7 NOTIFY',
  'Record-Route: <sip:p1.example.com;lr>',
  'Subject: folded',
  '  over two lines',
  'Record-Route: <sip:p2.example.com;lr>',
  'X-Empty:',
  'Content-Length: 0',
  '',
  '',
].join('\r\n');

/** The same fields built by append (objects from the start) as parsed (packed until needed). */
function both(): [SipHeaders, SipHeaders] {
  const parsed = parseSipMessage(TEXT).headers;
  const built = new SipHeaders();
  for (const field of parseSipMessage(TEXT).headers) built.append(field.name, field.value);
  return [parsed, built];
}

function reads(h: SipHeaders): unknown {
  const byIndex = [];
  for (let i = 0; i < h.size; i++) byIndex.push([h.nameAt(i), h.keyAt(i), h.valueAt(i)]);
  return {
    size: h.size,
    byIndex,
    beyond: [h.nameAt(h.size), h.keyAt(h.size), h.valueAt(h.size)],
    get: ['via', 'V', 'record-route', 'subject', 'x-empty', 'nothing'].map((n) => h.get(n)),
    getByKey: h.getByKey('cseq'),
    single: ['via', 'subject', 'x-empty', 'nothing'].map((k) => h.getSingleByKey(k)),
    getAll: h.getAll('via'),
    values: h.values('v'),
    has: ['via', 'nothing', 'x-empty'].map((n) => h.has(n)),
  };
}

test('SipHeaders: a parsed message (packed fields) answers every read exactly as the same fields appended one by one', () => {
  const [parsed, built] = both();
  assert.deepEqual(reads(parsed), reads(built));
  assert.equal(parsed.size, 11);
  assert.equal(parsed.valueAt(7), 'folded over two lines');
  assert.equal(parsed.valueAt(9), '');
  // Reading never unpacks: the same answers again afterwards, and iteration agrees.
  assert.deepEqual(reads(parsed), reads(built));
  assert.deepEqual([...parsed], [...built]);
  assert.deepEqual(reads(parsed), reads(built), 'and after unpacking');
});

test('SipHeaders: changes to a parsed message apply in either form (setValueAt packed, then every mutator)', () => {
  const [parsed, built] = both();
  for (const h of [parsed, built]) h.setValueAt(0, 'SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-1;received=198.51.100.1');
  assert.deepEqual(reads(parsed), reads(built));
  const clonedPacked = parsed.clone();
  for (const h of [parsed, built]) {
    h.prepend('Via', 'SIP/2.0/UDP ours;branch=z9hG4bK-0');
    h.append('Max-Forwards', '69');
    h.set('Subject', 'one');
    assert.equal(h.delete('record-route'), 2);
    assert.equal(h.deleteFirst('x-empty'), true);
  }
  assert.deepEqual(reads(parsed), reads(built));
  assert.deepEqual([...parsed], [...built]);
  assert.equal(parsed.get('subject'), 'one');
  // The clone was taken before the changes and shares nothing with the original.
  assert.equal(clonedPacked.size, 11);
  assert.equal(clonedPacked.get('subject'), 'folded over two lines');
  clonedPacked.append('X-Later', '1');
  assert.equal(parsed.get('x-later'), undefined);
  // A field object from iteration writes through, as before.
  const field = [...parsed].find((f) => f.key === 'call-id')!;
  field.value = 'changed@example.com';
  assert.equal(parsed.get('call-id'), 'changed@example.com');
});

test('SipHeaders: a parsed message serializes to the octets it was parsed from', () => {
  const message = parseSipMessage(TEXT);
  const again = serializeSipMessage(message).toString('latin1');
  assert.equal(again, TEXT.replace('Subject: folded\r\n  over two lines', 'Subject: folded over two lines').replace('X-Empty:', 'X-Empty: '));
  // The parser's scratch array holds nothing of a message once it is parsed: a second parse is independent.
  const other = parseSipMessage(TEXT.replace('Call-ID: c1@example.com', 'Call-ID: c2@example.com'));
  assert.equal(message.headers.get('call-id'), 'c1@example.com');
  assert.equal(other.headers.get('call-id'), 'c2@example.com');
});
