import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { createResponse } from '../../../src/sip/codec/index.js';
import { CompletedServerTransactions, transactionKeyHash } from '../../../src/sip/transaction/completed-server-transactions.js';
import type { NonInviteServerTransaction } from '../../../src/sip/transaction/server-transaction.js';
import type { ReceivedFrom } from '../../../src/sip/transport/types.js';
import { ManualClock } from '../../../src/util/clock.js';
import { TimerScheduler } from '../../../src/util/timer-scheduler.js';
import { incomingRequest, layerHarness, T1 } from './helpers.js';

// Issue 11: a completed UDP server transaction waits out Timer J (64·T1, RFC 3261 §17.2.2) as a
// compact record (key and final's bytes in a shared chunk, numbers in typed arrays), not an object.

const TIMER_J = 64 * T1;
const SOURCE: ReceivedFrom = { transport: 'udp', remoteAddress: '192.0.2.10', remotePort: 5060, localAddress: '127.0.0.1', localPort: 5060 };

function table(hashOf?: (key: string) => number, firstTicket?: number) {
  const clock = new ManualClock();
  const scheduler = new TimerScheduler(clock);
  const completed = new CompletedServerTransactions(scheduler, TIMER_J, hashOf, firstTicket);
  return { clock, completed };
}

const response = (n: number) => Buffer.from(`SIP/2.0 200 OK\r\nCSeq: ${n} NOTIFY\r\n\r\n`);

test('CompletedServerTransactions: a record answers with a copy of its final until Timer J, then is gone', () => {
  const { clock, completed } = table();
  const bytes = response(1);
  const ticket = completed.keep('z9hG4bKa\u0001host\u00015060\u0001NOTIFY', bytes, SOURCE, undefined);
  bytes.fill(0); // the caller's buffer may be reused: the record has its own copy
  assert.equal(completed.find('z9hG4bKa\u0001host\u00015060\u0001NOTIFY'), ticket);
  assert.equal(completed.find('z9hG4bKa\u0001host\u00015060\u0001SUBSCRIBE'), -1, 'the method is part of the key');
  assert.deepEqual(completed.response(ticket), response(1));
  assert.equal(completed.source(ticket), SOURCE);
  assert.equal(completed.destination(ticket), undefined);
  clock.advance(TIMER_J - 1);
  assert.equal(completed.find('z9hG4bKa\u0001host\u00015060\u0001NOTIFY'), ticket);
  clock.advance(1);
  assert.equal(completed.find('z9hG4bKa\u0001host\u00015060\u0001NOTIFY'), -1);
  assert.equal(completed.has(ticket), false);
  assert.equal(completed.size, 0);
});

test('CompletedServerTransactions: many records, each expiring 64·T1 after its own; slots and chunks reused', () => {
  const { clock, completed } = table();
  const tickets: number[] = [];
  for (let i = 0; i < 5000; i++) {
    tickets.push(completed.keep(`z9hG4bK${i}\u0001h\u00015060\u0001NOTIFY`, response(i), SOURCE, undefined));
    clock.advance(1);
  }
  assert.equal(completed.size, 5000);
  for (let i = 0; i < 5000; i += 7) {
    assert.equal(completed.find(`z9hG4bK${i}\u0001h\u00015060\u0001NOTIFY`), tickets[i]);
    assert.deepEqual(completed.response(tickets[i]!), response(i));
  }
  const chunksAtPeak = completed.chunkCount;
  clock.advance(TIMER_J - 5000 + 2500); // the first 2,501 are due
  assert.equal(completed.size, 2499);
  assert.equal(completed.find('z9hG4bK2500\u0001h\u00015060\u0001NOTIFY'), -1);
  assert.equal(completed.find('z9hG4bK2501\u0001h\u00015060\u0001NOTIFY'), tickets[2501]);
  assert.deepEqual(completed.response(tickets[4999]!), response(4999), 'bytes intact after older chunks were let go');
  assert.ok(completed.chunkCount < chunksAtPeak, 'chunks of expired records are let go');
  clock.advance(TIMER_J);
  assert.equal(completed.size, 0);
  assert.ok(completed.chunkCount <= 1, 'only the current chunk stays');
  // Slots are used again: a new record in the slot of an old one is not the old one.
  const again = completed.keep('z9hG4bK0\u0001h\u00015060\u0001NOTIFY', response(0), SOURCE, undefined);
  assert.notEqual(again, tickets[0]);
  for (let i = 1; i < 1100; i++) completed.keep(`z9hG4bKnew${i}\u0001h\u00015060\u0001NOTIFY`, response(i), SOURCE, undefined);
  for (const old of tickets) assert.equal(completed.has(old), false);
  assert.equal(completed.find('z9hG4bK0\u0001h\u00015060\u0001NOTIFY'), again);
  assert.equal(completed.find('z9hG4bKnew1099\u0001h\u00015060\u0001NOTIFY') >= 0, true);
});

test('CompletedServerTransactions: chunks let go are written over by later records, never a view handed out', () => {
  // Issue 11: a new 64 KB chunk per ~160 records made V8 count external memory towards its next
  // mark-compact; chunks whose records have all ended are reused instead (docs/latency-tail.md).
  const { clock, completed } = table();
  const key = (i: number) => `z9hG4bK${i}\u0001h\u00015060\u0001NOTIFY`;
  const firstTicket = completed.keep(key(0), response(0), SOURCE, undefined);
  const handedOut = completed.response(firstTicket);
  for (let i = 1; i < 2000; i++) completed.keep(key(i), response(i), SOURCE, undefined);
  const chunksInUse = completed.chunkCount;
  assert.ok(chunksInUse >= 2, `several chunks (${chunksInUse})`);
  // One record kept just before the others expire, so that some record is still kept when they do.
  clock.advance(TIMER_J - 1);
  completed.keep(key(5000), response(5000), SOURCE, undefined);
  clock.advance(1);
  assert.equal(completed.size, 1);
  assert.equal(completed.spareChunkCount, chunksInUse - 1, 'all but the current chunk kept for reuse');
  // As many records again: they fill the rest of the current chunk, then the spare ones, then (the
  // current chunk was partly used) at most one new chunk.
  const tickets: number[] = [];
  for (let i = 0; i < 2000; i++) tickets.push(completed.keep(key(10_000 + i), response(10_000 + i), SOURCE, undefined));
  assert.equal(completed.spareChunkCount, 0, 'the spare chunks are used again');
  assert.ok(completed.chunkCount <= chunksInUse + 1, `at most one chunk more than before (${completed.chunkCount} against ${chunksInUse})`);
  for (let i = 0; i < 2000; i += 97) assert.deepEqual(completed.response(tickets[i]!), response(10_000 + i));
  // What response() gave out is a copy: the chunk it came from now holds other records.
  assert.deepEqual(handedOut, response(0));
  const again = completed.response(tickets[0]!)!;
  again.fill(0);
  assert.deepEqual(completed.response(tickets[0]!), response(10_000), 'a copy each time: writing to one changes nothing kept');
  // clear() lets the spare chunks go too.
  clock.advance(TIMER_J - 1);
  completed.keep(key(20_000), response(20_000), SOURCE, undefined);
  clock.advance(1);
  assert.equal(completed.size, 1);
  assert.ok(completed.spareChunkCount > 0);
  completed.clear();
  assert.equal(completed.spareChunkCount, 0);
});

test('CompletedServerTransactions: once every record has ended, no spare chunk is kept', () => {
  // An idle daemon keeps nothing of a burst's chunks: they are memory mapped for them (outside
  // malloc), given back when let go (docs/establishment.md §15).
  const { clock, completed } = table();
  const key = (i: number) => `z9hG4bKidle${i}\u0001h\u00015060\u0001NOTIFY`;
  for (let i = 0; i < 2000; i++) completed.keep(key(i), response(i), SOURCE, undefined);
  assert.ok(completed.chunkCount >= 2);
  clock.advance(TIMER_J);
  assert.equal(completed.size, 0);
  assert.equal(completed.spareChunkCount, 0);
  assert.equal(completed.chunkCount, 1, 'the current chunk only');
  // The next burst maps chunks again, and answers with the right bytes.
  const tickets: number[] = [];
  for (let i = 0; i < 2000; i++) tickets.push(completed.keep(key(10_000 + i), response(10_000 + i), SOURCE, undefined));
  for (let i = 0; i < 2000; i += 89) assert.deepEqual(completed.response(tickets[i]!), response(10_000 + i));
  for (let i = 0; i < 2000; i += 89) assert.equal(completed.find(key(10_000 + i)), tickets[i]);
});

test('CompletedServerTransactions: segments are taken for a burst and let go once the burst has expired', () => {
  const { clock, completed } = table();
  const key = (i: number): string => `z9hG4bKburst${i}\u0001h\u00015060\u0001NOTIFY`;
  const first = completed.slotCount;
  const tickets: number[] = [];
  for (let i = 0; i < 20_000; i++) {
    tickets.push(completed.keep(key(i), response(i % 50), SOURCE, undefined));
    if (i % 10 === 0) clock.advance(1);
  }
  assert.ok(completed.slotCount >= 20_000, `${completed.slotCount} slots hold the burst`);
  const peak = completed.slotCount;
  // A steady trickle after the burst: the burst expires in batches, the trickle stays.
  for (let i = 0; i < 40; i++) {
    clock.advance(1000);
    completed.keep(key(100_000 + i), response(i), SOURCE, undefined);
  }
  assert.ok(completed.slotCount < peak, `${completed.slotCount} slots after the burst (peak ${peak})`);
  assert.ok(completed.slotCount <= 4 * first, `${completed.slotCount} slots for ${completed.size} records`);
  assert.equal(completed.size, 32, 'the trickle of the last 32 s is kept');
  for (const old of tickets) assert.equal(completed.has(old), false);
  for (let i = 8; i < 40; i++) {
    const ticket = completed.find(key(100_000 + i));
    assert.ok(ticket >= 0, `trickle record ${i} still found after the shrink`);
    assert.deepEqual(completed.response(ticket), response(i));
  }
  clock.advance(TIMER_J);
  assert.equal(completed.size, 0);
  assert.equal(completed.slotCount, first);
});

/**
 * Keeps, finds, drops and expiries against a Map, through the lookup table's growth (a few entries
 * moved per record kept, both tables looked in meanwhile) and its shrinking after the burst.
 */
function againstModelThroughGrowth(hashOf: ((key: string) => number) | undefined, records: number, firstTicket?: number): void {
  const { clock, completed } = table(hashOf, firstTicket);
  const model = new Map<string, { ticket: number; until: number; n: number }>();
  const key = (i: number) => `z9hG4bKgrow${i}\u0001h\u00015060\u0001NOTIFY`;
  let seed = 12345;
  const random = (below: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % below;
  };
  let sawGrowing = 0;
  const sizes = new Set<number>([completed.indexSize]);
  const check = (i: number): void => {
    const kept = model.get(key(i));
    const ticket = completed.find(key(i));
    assert.equal(ticket, kept?.ticket ?? -1, `key ${i}`);
    if (kept !== undefined) assert.deepEqual(completed.response(ticket), response(kept.n));
  };
  for (let i = 0; i < records; i++) {
    const ticket = completed.keep(key(i), response(i % 97), SOURCE, undefined);
    model.set(key(i), { ticket, until: clock.now() + TIMER_J, n: i % 97 });
    if (completed.indexGrowing) sawGrowing++;
    sizes.add(completed.indexSize);
    check(random(i + 1));
    check(i + 1 + random(10)); // never kept yet
    if (random(10) === 0) {
      const victim = key(random(i + 1));
      const kept = model.get(victim);
      if (kept !== undefined) {
        completed.drop(kept.ticket);
        model.delete(victim);
      }
    }
    if (i % 50 === 0) {
      clock.advance(random(3) === 0 ? 400 : 40);
      for (const [k, kept] of model) if (kept.until <= clock.now()) model.delete(k);
    }
  }
  assert.equal(completed.size, model.size);
  assert.ok(sawGrowing > 0, 'records were kept while the table grew');
  assert.ok(sizes.size >= 3, `the table grew at least twice (${[...sizes].join(', ')})`);
  for (let i = 0; i < records; i += 7) check(i);
  // The burst expires: the table is made small again, and what is kept later is found.
  const grown = completed.indexSize;
  clock.advance(TIMER_J);
  assert.equal(completed.size, 0);
  assert.ok(completed.indexSize < grown, `${completed.indexSize} positions after the burst (${grown} at its peak)`);
  const late = completed.keep(key(records + 1), response(1), SOURCE, undefined);
  assert.equal(completed.find(key(records + 1)), late);
}

test('CompletedServerTransactions: the lookup table grows a few entries at a time, against a Map', () => {
  againstModelThroughGrowth(undefined, 12_000);
});

test('CompletedServerTransactions: the lookup table grows a few entries at a time, against a Map, with a poor hash', () => {
  // 64 hash values: long probe runs that growth, removal and the move between tables must keep whole.
  againstModelThroughGrowth((key) => transactionKeyHash(key) & 0x3f, 2_500);
});

test('CompletedServerTransactions: tickets wrap at 2^30 across segments, against a Map', () => {
  // Records take a segment per 4,096 tickets; the segment numbers wrap with the tickets.
  againstModelThroughGrowth(undefined, 12_000, 2 ** 30 - 5000);
});

test('CompletedServerTransactions: a ticket not kept now is not kept, whatever segment it would be in', () => {
  const { clock, completed } = table();
  const key = (i: number) => `z9hG4bKseg${i}\u0001h\u00015060\u0001NOTIFY`;
  const tickets: number[] = [];
  for (let i = 0; i < 10_000; i++) {
    tickets.push(completed.keep(key(i), response(i % 10), SOURCE, undefined));
    if (i === 4999) clock.advance(1000);
  }
  assert.equal(completed.slotCount, 3 * 4096, 'a segment per 4,096 records');
  assert.equal(completed.has(10_000), false, 'the next ticket');
  assert.equal(completed.has(50_000), false, 'far beyond the segments held');
  clock.advance(TIMER_J - 1000);
  assert.equal(completed.size, 5000, 'the first 5,000 expired');
  assert.equal(completed.slotCount, 2 * 4096, 'the first segment let go');
  assert.equal(completed.has(tickets[0]!), false);
  assert.equal(completed.has(tickets[4999]!), false);
  assert.equal(completed.has(tickets[5000]!), true);
  assert.deepEqual(completed.response(tickets[9999]!), response(9));
  // The next records go on in the current segment, then a spare one (no new mapping needed).
  for (let i = 10_000; i < 14_000; i++) tickets.push(completed.keep(key(i), response(i % 10), SOURCE, undefined));
  assert.equal(completed.slotCount, 3 * 4096);
  for (let i = 5000; i < 14_000; i += 101) assert.equal(completed.find(key(i)), tickets[i]);
});

test('CompletedServerTransactions: keys with the same hash are told apart by their bytes, also after one is dropped', () => {
  const { completed } = table(() => 7);
  const a = completed.keep('z9hG4bKa', response(1), SOURCE, undefined);
  const b = completed.keep('z9hG4bKb', response(2), SOURCE, { transport: 'udp', host: '198.51.100.1', port: 5070 });
  const c = completed.keep('z9hG4bKc', response(3), SOURCE, undefined);
  assert.equal(completed.find('z9hG4bKa'), a);
  assert.equal(completed.find('z9hG4bKb'), b);
  assert.equal(completed.find('z9hG4bKc'), c);
  assert.equal(completed.find('z9hG4bKd'), -1);
  assert.equal(completed.find('z9hG4bK'), -1, 'a prefix is not the key');
  assert.deepEqual(completed.destination(b), { transport: 'udp', host: '198.51.100.1', port: 5070 });
  completed.drop(b);
  assert.equal(completed.find('z9hG4bKb'), -1);
  assert.equal(completed.find('z9hG4bKa'), a);
  assert.equal(completed.find('z9hG4bKc'), c, 'found past the dropped entry of its probe run');
  assert.deepEqual(completed.response(c), response(3));
  assert.equal(completed.size, 2);
});

test('CompletedServerTransactions: against a Map, with a poor hash (property)', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.record({ op: fc.constant('keep' as const), key: fc.integer({ min: 0, max: 40 }) }),
          fc.record({ op: fc.constant('drop' as const), key: fc.integer({ min: 0, max: 40 }) }),
          fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: TIMER_J }) }),
        ),
        { maxLength: 200 },
      ),
      (ops) => {
        const { clock, completed } = table((key) => key.length % 3);
        const model = new Map<string, { ticket: number; until: number; n: number }>();
        for (const step of ops) {
          if (step.op === 'advance') {
            clock.advance(step.ms);
            for (const [key, kept] of model) if (kept.until <= clock.now()) model.delete(key);
            continue;
          }
          const key = `k${'x'.repeat(step.key % 5)}${step.key}`;
          if (step.op === 'keep' && !model.has(key)) {
            const ticket = completed.keep(key, response(step.key), SOURCE, undefined);
            model.set(key, { ticket, until: clock.now() + TIMER_J, n: step.key });
          } else if (step.op === 'drop' && model.has(key)) {
            completed.drop(model.get(key)!.ticket);
            model.delete(key);
          }
        }
        assert.equal(completed.size, model.size);
        for (let k = 0; k <= 40; k++) {
          const key = `k${'x'.repeat(k % 5)}${k}`;
          const kept = model.get(key);
          assert.equal(completed.find(key), kept?.ticket ?? -1);
          if (kept) assert.deepEqual(completed.response(kept.ticket), response(kept.n));
        }
      },
    ),
    { numRuns: 200 },
  );
});

test('NIST over UDP: a retransmission is answered from the compact record with the same bytes, not delivered again', () => {
  const h = layerHarness();
  const seen: NonInviteServerTransaction[] = [];
  h.layer.onRequest((request, _source, transaction) => {
    seen.push(transaction!);
    transaction!.respond(createResponse(request, 200, 'OK', { toTag: 'x1' }));
  });
  h.transport.receive(incomingRequest('NOTIFY', { branch: 'z9hG4bKr1' }));
  h.transport.receive(incomingRequest('NOTIFY', { branch: 'z9hG4bKr2' }));
  h.clock.advance(TIMER_J - 1);
  h.transport.receive(incomingRequest('NOTIFY', { branch: 'z9hG4bKr1' }));
  assert.equal(seen.length, 2);
  const first = h.transport.responses(200).filter((r) => r.bytes.includes('z9hG4bKr1'));
  assert.equal(first.length, 2);
  assert.deepEqual(Buffer.from(first[1]!.bytes), Buffer.from(first[0]!.bytes), 'byte for byte');
  assert.deepEqual(first[1]!.destination, { transport: 'udp', host: '192.0.2.10', port: 5060 });
  assert.equal(h.layer.stats().activeServerTransactions, 2);
  h.clock.advance(1);
  assert.equal(seen[0]!.state, 'terminated');
  assert.equal(h.layer.stats().activeServerTransactions, 0);
  h.transport.receive(incomingRequest('NOTIFY', { branch: 'z9hG4bKr1' }));
  assert.equal(seen.length, 3, 'after Timer J the same request is a new one, as before');
});

test('NIST over UDP: a transport failure resending the kept final ends the record (RFC 3261 §17.2.4)', () => {
  const h = layerHarness({ synchronousErrors: true });
  let delivered = 0;
  h.layer.onRequest((request, _source, transaction) => {
    delivered++;
    transaction!.respond(createResponse(request, 200, 'OK', { toTag: 'x1' }));
  });
  h.transport.receive(incomingRequest('NOTIFY'));
  h.transport.failSends(() => true, undefined, true);
  h.transport.receive(incomingRequest('NOTIFY'));
  assert.equal(h.layer.stats().transportErrors, 1);
  assert.equal(h.layer.stats().activeServerTransactions, 0);
  h.transport.receive(incomingRequest('NOTIFY'));
  assert.equal(delivered, 2);
});

test('NIST over UDP: a CANCEL naming a completed transaction still finds it', () => {
  const h = layerHarness();
  h.layer.onRequest((request, _source, transaction) => transaction!.respond(createResponse(request, 200, 'OK', { toTag: 'x1' })));
  h.transport.receive(incomingRequest('SUBSCRIBE', { branch: 'z9hG4bKc1' }));
  const cancel = incomingRequest('CANCEL', { branch: 'z9hG4bKc1' });
  assert.equal(h.layer.cancelsTransaction(cancel, ['SUBSCRIBE']), true);
  assert.equal(h.layer.cancelsTransaction(cancel, ['NOTIFY']), false);
  assert.equal(h.layer.findCancelledTransaction(cancel, ['SUBSCRIBE']), undefined, 'no object is kept for it');
});

test('CompletedServerTransactions: non-ASCII keys are compared as UTF-8, never code unit against byte', () => {
  const { completed } = table(() => 3);
  const kept = completed.keep('z9hG4bK\u00c3', response(1), SOURCE, undefined); // UTF-8: C3 83
  assert.equal(completed.find('z9hG4bK\u00c3'), kept);
  assert.equal(completed.find('z9hG4bK\u00c3\u0083'), -1, 'code units equal to the kept UTF-8 bytes are another key');
  assert.equal(completed.find('z9hG4bKA'), -1);
  const ascii = completed.keep('z9hG4bK\u00c3\u0083', response(2), SOURCE, undefined);
  assert.equal(completed.find('z9hG4bK\u00c3\u0083'), ascii);
  assert.equal(completed.find('z9hG4bK\u00c3'), kept);
});

test('CompletedServerTransactions: sources and destinations are numbered, shared, and let go with their last record', () => {
  const { clock, completed } = table();
  const other: ReceivedFrom = { ...SOURCE, remotePort: 5070 };
  const a = completed.keep('a', response(1), SOURCE, undefined);
  const b = completed.keep('b', response(2), other, { transport: 'udp', host: '198.51.100.1', port: 5080 });
  const c = completed.keep('c', response(3), SOURCE, undefined);
  assert.equal(completed.source(a), SOURCE);
  assert.equal(completed.source(b), other);
  assert.equal(completed.source(c), SOURCE);
  assert.deepEqual(completed.destination(b), { transport: 'udp', host: '198.51.100.1', port: 5080 });
  completed.drop(a);
  assert.equal(completed.source(c), SOURCE, 'still used by another record');
  completed.drop(b);
  clock.advance(TIMER_J);
  const d = completed.keep('d', response(4), other, undefined);
  assert.equal(completed.source(d), other, 'numbered again after all its records ended');
  assert.equal(completed.destination(d), undefined);
});

test('NIST over UDP: a bodyless final without a To tag of ours is kept as how to write it, and written again from the retransmission octet for octet', () => {
  const h = layerHarness();
  const seen: NonInviteServerTransaction[] = [];
  h.layer.onRequest((request, _source, transaction) => {
    seen.push(transaction!);
    // As IncomingRequest.answer: our To tag only when the request has none (the 200 to an
    // in-dialog NOTIFY has one already), and a Server header.
    const toTag = request.headers.get('to')!.includes(';tag=') ? undefined : 'x9';
    transaction!.respondBodyless(200, undefined, toTag, [['Server', 'presence-b2b/test']]);
  });
  const completed = (h.layer as unknown as { completed: CompletedServerTransactions }).completed;
  h.transport.receive(incomingRequest('NOTIFY', { branch: 'z9hG4bKg1', toTag: 'ours' }));
  const keyOnly = completed.chunkBytesUsed;
  assert.ok(keyOnly > 0 && keyOnly < 100, `the record holds its key only (${keyOnly} octets)`);
  h.transport.receive(incomingRequest('NOTIFY', { branch: 'z9hG4bKg1', toTag: 'ours' }));
  h.transport.receive(incomingRequest('NOTIFY', { branch: 'z9hG4bKg1', toTag: 'ours' }));
  assert.equal(seen.length, 1, 'retransmissions absorbed');
  const sent = h.transport.responses(200);
  assert.equal(sent.length, 3);
  assert.deepEqual(Buffer.from(sent[1]!.bytes), Buffer.from(sent[0]!.bytes), 'byte for byte');
  assert.deepEqual(Buffer.from(sent[2]!.bytes), Buffer.from(sent[0]!.bytes));
  assert.match(Buffer.from(sent[1]!.bytes).toString('latin1'), /\r\nServer: presence-b2b\/test\r\n/);
  assert.equal(h.layer.stats().responseRetransmissions, 2);
  // A request without a To tag gets ours: those octets are kept as they are.
  h.transport.receive(incomingRequest('NOTIFY', { branch: 'z9hG4bKg2' }));
  assert.ok(completed.chunkBytesUsed - keyOnly > 200, 'the final with our To tag is kept as octets');
  h.transport.receive(incomingRequest('NOTIFY', { branch: 'z9hG4bKg2' }));
  const second = h.transport.responses(200).filter((r) => Buffer.from(r.bytes).includes('z9hG4bKg2'));
  assert.equal(second.length, 2);
  assert.deepEqual(Buffer.from(second[1]!.bytes), Buffer.from(second[0]!.bytes));
  assert.match(Buffer.from(second[0]!.bytes).toString('latin1'), /\r\nTo: <sip:b2b@example.org>;tag=/);
});

test('CompletedServerTransactions: at most 16 distinct bodyless finals are named; others, and those copying a Record-Route, are kept as octets', () => {
  const { completed } = table();
  const bytes = response(1);
  const before = completed.chunkBytesUsed;
  for (let n = 0; n < 20; n++) completed.keep(`k${n}`, bytes, SOURCE, undefined, { status: 200, reason: undefined, headers: [['Server', `s${n}`]] });
  // 16 named (key only), the next 4 as octets.
  let keyBytes = 0;
  for (let n = 0; n < 20; n++) keyBytes += `k${n}`.length;
  assert.equal(completed.chunkBytesUsed - before, keyBytes + 4 * bytes.byteLength);
  const recordRoute = completed.keep('rr', bytes, SOURCE, undefined, { status: 200, reason: undefined, headers: [['Record-Route', '<sip:p@x;lr>']] });
  assert.deepEqual(completed.response(recordRoute), bytes);
  // A named final needs the retransmission to be written again.
  assert.equal(completed.response(completed.find('k0')), undefined);
});
