import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createResponse } from '../../../src/sip/codec/index.js';
import type { SipRequest } from '../../../src/sip/codec/message.js';
import type { NonInviteServerTransaction } from '../../../src/sip/transaction/server-transaction.js';
import { incomingRequest, layerHarness, T1 } from './helpers.js';

function withListener(h: ReturnType<typeof layerHarness>) {
  const seen: Array<{ request: SipRequest; transaction: NonInviteServerTransaction | undefined }> = [];
  h.layer.onRequest((request, _source, transaction) => seen.push({ request, transaction }));
  return seen;
}

test('NIST: a retransmitted request reaches the user once and gets the same response again, byte for byte', () => {
  const h = layerHarness();
  const seen = withListener(h);
  const request = incomingRequest('NOTIFY');
  h.transport.receive(request);
  h.transport.receive(incomingRequest('NOTIFY')); // retransmission in Trying: dropped
  assert.equal(seen.length, 1);
  assert.equal(h.transport.sent.length, 0);
  const transaction = seen[0]!.transaction!;
  transaction.respond(createResponse(seen[0]!.request, 200, 'OK', { toTag: 'x1' }));
  h.clock.advance(T1);
  h.transport.receive(incomingRequest('NOTIFY'));
  h.clock.advance(2 * T1);
  h.transport.receive(incomingRequest('NOTIFY'));
  assert.equal(seen.length, 1);
  const responses = h.transport.responses(200);
  assert.equal(responses.length, 3);
  assert.deepEqual(responses[1]!.bytes, responses[0]!.bytes);
  assert.deepEqual(responses[2]!.bytes, responses[0]!.bytes);
  const stats = h.layer.stats();
  assert.equal(stats.retransmittedRequestsAbsorbed, 3);
  assert.equal(stats.responseRetransmissions, 2);
  assert.equal(stats.serverTransactionsCreated, 1);
});

test('NIST: only a copy that comes after the final is told to the answered-retransmission listener (RFC 3261 §17.2.2)', () => {
  const h = layerHarness();
  const seen = withListener(h);
  const told: string[] = [];
  h.layer.onAnsweredRetransmission((request) => told.push(request.method));
  h.transport.receive(incomingRequest('NOTIFY'));
  h.transport.receive(incomingRequest('NOTIFY')); // in Trying: no answer was sent yet
  assert.deepEqual(told, []);
  seen[0]!.transaction!.respond(createResponse(seen[0]!.request, 200, 'OK', { toTag: 'x1' }));
  h.transport.receive(incomingRequest('NOTIFY'));
  h.transport.receive(incomingRequest('NOTIFY'));
  assert.deepEqual(told, ['NOTIFY', 'NOTIFY'], 'each copy after the 200');
  assert.equal(h.transport.responses(200).length, 3, 'and each got the 200 again');
  assert.equal(seen.length, 1, 'never a new request for the user');
});

test('NIST: in Proceeding the last provisional is resent; a second final is discarded', () => {
  const h = layerHarness();
  const seen = withListener(h);
  h.transport.receive(incomingRequest('SUBSCRIBE'));
  const { request, transaction } = seen[0]!;
  transaction!.respond(createResponse(request, 100));
  h.transport.receive(incomingRequest('SUBSCRIBE'));
  assert.deepEqual(
    h.transport.responses().map((s) => s.message.status),
    [100, 100],
  );
  transaction!.respond(createResponse(request, 202, undefined, { toTag: 't' }));
  transaction!.respond(createResponse(request, 500, undefined, { toTag: 't' }));
  assert.deepEqual(
    h.transport.responses().map((s) => s.message.status),
    [100, 100, 202],
  );
  assert.equal(h.layer.stats().lateResponsesDiscarded, 1);
});

test('NIST: responses go back to the source address and port when the Via has rport (RFC 3581)', () => {
  const h = layerHarness();
  const seen = withListener(h);
  h.transport.receive(incomingRequest('NOTIFY', { sentBy: 'peer.example.com:5070', extra: [] }), { remoteAddress: '198.51.100.7', remotePort: 40000 });
  // No rport in this Via: received address (the source) and the sent-by port (RFC 3261 §18.2.2).
  seen[0]!.transaction!.respond(createResponse(seen[0]!.request, 200, 'OK', { toTag: 'a' }));
  assert.deepEqual(h.transport.last().destination, { transport: 'udp', host: '198.51.100.7', port: 5070 });
  const withRport = incomingRequest('NOTIFY', { branch: 'z9hG4bKrport', sentBy: 'peer.example.com:5070' });
  withRport.headers.set('Via', 'SIP/2.0/UDP peer.example.com:5070;branch=z9hG4bKrport;rport');
  h.transport.receive(withRport, { remoteAddress: '198.51.100.7', remotePort: 40000 });
  seen[1]!.transaction!.respond(createResponse(seen[1]!.request, 200, 'OK', { toTag: 'a' }));
  assert.deepEqual(h.transport.last().destination, { transport: 'udp', host: '198.51.100.7', port: 40000 });
});

test('NIST: a retransmitted request gets the same bytes as the last response, serialized once', () => {
  const h = layerHarness();
  const seen = withListener(h);
  h.transport.receive(incomingRequest('NOTIFY'));
  seen[0]!.transaction!.respond(createResponse(seen[0]!.request, 200, 'OK', { toTag: 'x' }));
  h.transport.receive(incomingRequest('NOTIFY'));
  h.transport.receive(incomingRequest('NOTIFY'));
  const sent = h.transport.responses(200);
  assert.equal(sent.length, 3);
  // Kept for Timer J in a chunk shared with other finals (no Buffer of its own for 32 s, issue 11):
  // the same octets on every retransmission, each sent from a copy of its own, since the chunk is
  // written over by later records once this one has ended (a send the socket queued may read it late).
  assert.deepEqual(sent[1]!.bytes, sent[0]!.bytes);
  assert.deepEqual(sent[2]!.bytes, sent[1]!.bytes);
  const sameMemory = (a: Uint8Array, b: Uint8Array) => a.buffer === b.buffer && a.byteOffset === b.byteOffset;
  assert.ok(!sameMemory(sent[2]!.bytes, sent[1]!.bytes), 'a copy each time');
  assert.ok(!sameMemory(sent[1]!.bytes, sent[0]!.bytes), 'not the first send\'s bytes');
  assert.equal(h.layer.stats().responseRetransmissions, 2);
});

test('NIST: Timer J = 64·T1 on UDP, then the transaction is gone', () => {
  const h = layerHarness();
  const seen = withListener(h);
  h.transport.receive(incomingRequest('NOTIFY'));
  seen[0]!.transaction!.respond(createResponse(seen[0]!.request, 200, 'OK', { toTag: 'x' }));
  h.clock.advance(64 * T1 - 1);
  assert.equal(h.layer.stats().activeServerTransactions, 1);
  assert.equal(seen[0]!.transaction!.state, 'completed');
  h.clock.advance(1);
  assert.equal(h.layer.stats().activeServerTransactions, 0);
  assert.equal(seen[0]!.transaction!.state, 'terminated');
  assert.equal(h.scheduler.size, 0);
});

test('NIST: a stateless final (RFC 3261 §8.2.7) keeps no Timer J record: a retransmission reaches the user again', () => {
  const h = layerHarness();
  const seen = withListener(h);
  h.transport.receive(incomingRequest('NOTIFY'));
  seen[0]!.transaction!.respondBodyless(403, 'Forbidden', 'x', [], true);
  assert.equal(h.transport.responses(403).length, 1);
  assert.equal(seen[0]!.transaction!.state, 'terminated', 'ended at once, on UDP too');
  assert.equal(h.layer.stats().activeServerTransactions, 0, 'nothing kept for 64·T1');
  assert.equal(h.scheduler.size, 0);
  // The same request again: a new request for the user, answered the same way.
  h.transport.receive(incomingRequest('NOTIFY'));
  assert.equal(seen.length, 2);
  seen[1]!.transaction!.respondBodyless(403, 'Forbidden', 'x', [], true);
  const sent = h.transport.responses(403);
  assert.equal(sent.length, 2);
  assert.deepEqual(sent[1]!.bytes, sent[0]!.bytes);
  assert.equal(h.layer.stats().responseRetransmissions, 0);
});

test('NIST: Timer J = 0 on TCP, and responses carry the source for connection reuse', () => {
  const h = layerHarness();
  const seen = withListener(h);
  const request = incomingRequest('NOTIFY');
  request.headers.set('Via', 'SIP/2.0/TCP 192.0.2.10:5060;branch=z9hG4bKtcp');
  const source = { transport: 'tcp', remoteAddress: '192.0.2.10', remotePort: 50123, connectionId: 7 } as const;
  h.transport.receive(request, source);
  seen[0]!.transaction!.respond(createResponse(seen[0]!.request, 200, 'OK', { toTag: 'x' }));
  assert.equal(h.layer.stats().activeServerTransactions, 0);
  assert.equal(h.transport.last().source?.connectionId, 7);
  assert.equal(h.transport.last().destination.transport, 'tcp');
});

test('NIST: a user that never answers loses the transaction after 64·T1', () => {
  const h = layerHarness();
  const seen = withListener(h);
  h.transport.receive(incomingRequest('NOTIFY'));
  h.clock.advance(64 * T1);
  assert.equal(h.layer.stats().activeServerTransactions, 0);
  assert.equal(h.layer.stats().serverTransactionsExpired, 1);
  seen[0]!.transaction!.respond(createResponse(seen[0]!.request, 200));
  assert.equal(h.transport.sent.length, 0);
});

test('matching with a z9hG4bK branch uses branch, sent-by and method (RFC 3261 §17.2.3)', () => {
  const h = layerHarness();
  const seen = withListener(h);
  h.transport.receive(incomingRequest('NOTIFY', { branch: 'z9hG4bKsame' }));
  h.transport.receive(incomingRequest('NOTIFY', { branch: 'z9hG4bKsame', sentBy: '192.0.2.99:5060' }));
  h.transport.receive(incomingRequest('OPTIONS', { branch: 'z9hG4bKsame' }));
  h.transport.receive(incomingRequest('NOTIFY', { branch: 'z9hG4bKSAME' }));
  h.transport.receive(incomingRequest('NOTIFY', { branch: 'z9hG4bKsame', sentBy: '192.0.2.10' })); // 5060 is the default port
  assert.equal(seen.length, 4);
  assert.equal(h.layer.stats().retransmittedRequestsAbsorbed, 1);
});

test('RFC 2543 fallback: without a magic cookie, Request-URI, tags, Call-ID, CSeq and top Via decide', () => {
  const h = layerHarness();
  const seen = withListener(h);
  h.transport.receive(incomingRequest('NOTIFY', { branch: null, cseq: 5 }));
  h.transport.receive(incomingRequest('NOTIFY', { branch: null, cseq: 5 })); // retransmission
  h.transport.receive(incomingRequest('NOTIFY', { branch: '1234', cseq: 5 })); // other top Via
  h.transport.receive(incomingRequest('NOTIFY', { branch: null, cseq: 6 })); // other CSeq
  h.transport.receive(incomingRequest('NOTIFY', { branch: null, cseq: 5, toTag: 'other' })); // other To tag
  assert.equal(seen.length, 4);
  assert.equal(h.layer.stats().retransmittedRequestsAbsorbed, 1);
  seen[0]!.transaction!.respond(createResponse(seen[0]!.request, 200, 'OK', { toTag: 'x' }));
  h.transport.receive(incomingRequest('NOTIFY', { branch: null, cseq: 5 }));
  assert.equal(h.transport.responses(200).length, 2);
});

test('ACK: never gets a transaction; a stray ACK goes to the user without one', () => {
  const h = layerHarness();
  const seen = withListener(h);
  h.transport.receive(incomingRequest('ACK', { branch: 'z9hG4bKack' }));
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.transaction, undefined);
  assert.equal(h.layer.stats().activeServerTransactions, 0);
});

test('requests without a usable Via are dropped and counted', () => {
  const h = layerHarness();
  const seen = withListener(h);
  const request = incomingRequest('NOTIFY');
  request.headers.delete('via');
  h.transport.receive(request);
  const bad = incomingRequest('NOTIFY');
  bad.headers.set('Via', 'garbage');
  h.transport.receive(bad);
  assert.equal(seen.length, 0);
  assert.equal(h.layer.stats().malformedDropped, 2);
});

test('NIST: Timer J for many completed transactions takes one scheduler timer, and each ends 64·T1 after its own final', () => {
  const h = layerHarness();
  const seen = withListener(h);
  for (let i = 0; i < 300; i++) {
    h.transport.receive(incomingRequest('NOTIFY', { branch: `z9hG4bKmany${i}` }));
    seen[i]!.transaction!.respond(createResponse(seen[i]!.request, 200, 'OK', { toTag: 'x' }));
    h.clock.advance(100);
  }
  // One timer for all of them (no guard was armed: each was answered at once).
  assert.equal(h.scheduler.size, 1);
  assert.equal(h.layer.stats().activeServerTransactions, 300);
  // The first completed at t=0 and has been waiting 30 s; it goes at 32 s, the others 100 ms apart.
  h.clock.advance(64 * T1 - 300 * 100 - 1);
  assert.equal(h.layer.stats().activeServerTransactions, 300);
  h.clock.advance(1);
  assert.equal(h.layer.stats().activeServerTransactions, 299);
  assert.equal(seen[0]!.transaction!.state, 'terminated');
  assert.equal(seen[1]!.transaction!.state, 'completed');
  h.clock.advance(299 * 100);
  assert.equal(h.layer.stats().activeServerTransactions, 0);
  assert.equal(h.scheduler.size, 0);
});

test('NIST: a retransmission in Completed still gets the response after others have expired (Timer J FIFO)', () => {
  const h = layerHarness();
  const seen = withListener(h);
  h.transport.receive(incomingRequest('NOTIFY', { branch: 'z9hG4bKold' }));
  seen[0]!.transaction!.respond(createResponse(seen[0]!.request, 200, 'OK', { toTag: 'x' }));
  h.clock.advance(20_000);
  h.transport.receive(incomingRequest('NOTIFY', { branch: 'z9hG4bKnew' }));
  seen[1]!.transaction!.respond(createResponse(seen[1]!.request, 200, 'OK', { toTag: 'x' }));
  h.clock.advance(64 * T1 - 20_000);
  assert.equal(seen[0]!.transaction!.state, 'terminated');
  h.transport.receive(incomingRequest('NOTIFY', { branch: 'z9hG4bKnew' }));
  assert.equal(h.transport.responses(200).length, 3);
  assert.equal(h.layer.stats().responseRetransmissions, 1);
  // The old one is gone: its retransmission is a new request.
  h.transport.receive(incomingRequest('NOTIFY', { branch: 'z9hG4bKold' }));
  assert.equal(seen.length, 3);
});

test('NIST: a user that answers later still gets the 64·T1 guard from when the request arrived', () => {
  const h = layerHarness();
  const seen = withListener(h);
  h.transport.receive(incomingRequest('SUBSCRIBE'));
  h.clock.advance(64 * T1 - 1);
  seen[0]!.transaction!.respond(createResponse(seen[0]!.request, 202, 'Accepted', { toTag: 'x' }));
  assert.equal(h.transport.responses(202).length, 1);
  assert.equal(h.layer.stats().serverTransactionsExpired, 0);
  assert.equal(seen[0]!.transaction!.state, 'completed');
});
