import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeptResponses } from '../../../src/sip/transaction/kept-responses.js';
import { DatagramSources } from '../../../src/sip/transport/datagram-sources.js';

// Issue 11: what a completed UDP server transaction keeps for Timer J (32 s) is no object of its own per NOTIFY.

test('KeptResponses: finals share a chunk, each at its offset; a large one gets its own copy', () => {
  const kept = new KeptResponses();
  const a = Buffer.from('SIP/2.0 200 OK\r\nA\r\n\r\n');
  const b = Buffer.from('SIP/2.0 200 OK\r\nBB\r\n\r\n');
  const chunkA = kept.keep(a);
  const atA = kept.offset();
  const chunkB = kept.keep(b);
  const atB = kept.offset();
  assert.equal(chunkA, chunkB, 'one chunk for both');
  assert.deepEqual(chunkA.subarray(atA, atA + a.length), a);
  assert.deepEqual(chunkB.subarray(atB, atB + b.length), b);
  a.fill(0);
  assert.equal(chunkB.subarray(atA, atA + 3).toString(), 'SIP', 'a copy: the caller may reuse its bytes');
  const large = Buffer.alloc(5000, 0x41);
  const own = kept.keep(large);
  assert.equal(kept.offset(), 0);
  assert.equal(own.length, 5000);
  assert.notEqual(own, chunkA);
  // A full chunk is followed by a new one; the old one's bytes stay as they were.
  let last = chunkA;
  for (let i = 0; i < 4000 && last === chunkA; i++) last = kept.keep(b);
  assert.notEqual(last, chunkA);
  assert.deepEqual(chunkA.subarray(atB, atB + b.length), Buffer.from('SIP/2.0 200 OK\r\nBB\r\n\r\n'));
});

test('DatagramSources: one source object per remote address and port, bounded', () => {
  const sources = new DatagramSources('127.0.0.1', 5060);
  const first = sources.sourceOf(['192.0.2', '.1'].join(''), 5070);
  assert.deepEqual(first, { transport: 'udp', remoteAddress: '192.0.2.1', remotePort: 5070, localAddress: '127.0.0.1', localPort: 5060 });
  assert.equal(sources.sourceOf(['192.0.', '2.1'].join(''), 5070), first, 'the same object for the same address and port');
  assert.notEqual(sources.sourceOf('192.0.2.1', 5071), first);
  assert.notEqual(sources.sourceOf('192.0.2.2', 5070), first);
  for (let port = 1; port <= 2000; port++) sources.sourceOf('198.51.100.1', port);
  const again = sources.sourceOf('192.0.2.1', 5070);
  assert.deepEqual(again, first, 'forgotten past the bound, then made again equal');
});
