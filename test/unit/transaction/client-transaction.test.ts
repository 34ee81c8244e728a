import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ACCESSOR_CACHE, type AccessorCache } from '../../../src/sip/codec/cache.js';
import { flushMicrotasks } from '../../support/fake-transport.js';
import { layerHarness, outgoingRequest, recordingUser, responseTo, T1, T2, T4 } from './helpers.js';

const UDP = { transport: 'udp', host: '192.0.2.20', port: 5060 } as const;
const TCP = { transport: 'tcp', host: '192.0.2.20', port: 5060 } as const;

test('NICT over UDP: Timer E at T1, 2·T1, 4·T1, then every T2; Timer F at 64·T1 gives exactly one local 408', () => {
  const { clock, layer, transport } = layerHarness();
  const { user, finals } = recordingUser(clock);
  const request = outgoingRequest('SUBSCRIBE', 'z9hG4bKnict1');
  layer.sendRequest(request, UDP, user);
  // Walk in small steps so that each send is observed at its exact time.
  for (let t = 0; t < 40_000; t += 100) clock.advance(100);
  const times = transport.requests().map((s) => s.at);
  // RFC 3261 §17.1.2.2: 500, 1500, 3500, then +T2 until Timer F (32 s).
  assert.deepEqual(times, [0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
  assert.equal(times[1]! - times[0]!, T1);
  assert.equal(times[5]! - times[4]!, T2);
  // Every retransmission carries exactly the bytes of the first send: the same
  // buffer, serialized once when the transaction started.
  const first = transport.requests()[0]!.bytes;
  for (const s of transport.requests()) assert.equal(s.bytes, first);
  assert.deepEqual(finals, [{ status: 408, reason: 'Request Timeout', local: true, at: 64 * T1 }]);
  const stats = layer.stats();
  assert.equal(stats.requestRetransmissions, 10);
  assert.equal(stats.timeouts, 1);
  assert.equal(stats.activeClientTransactions, 0);
});

test('NICT: after a provisional, Timer E fires every T2', () => {
  const { clock, layer, transport } = layerHarness();
  const { user, finals, provisionals } = recordingUser(clock);
  const request = outgoingRequest('SUBSCRIBE', 'z9hG4bKnict2');
  const transaction = layer.sendRequest(request, UDP, user);
  clock.advance(600); // sends at 0 and 500
  transport.receive(responseTo(request, 100));
  assert.equal(transaction.state, 'proceeding');
  assert.deepEqual(provisionals, [100]);
  for (let t = 600; t < 20_000; t += 100) clock.advance(100);
  // The pending E (due at 1500) fires, then every T2 (RFC 3261 §17.1.2.2, Proceeding).
  assert.deepEqual(
    transport.requests().map((s) => s.at),
    [0, 500, 1500, 5500, 9500, 13500, 17500],
  );
  transport.receive(responseTo(request, 200));
  assert.equal(finals.length, 1);
  assert.equal(finals[0]!.status, 200);
  assert.equal(finals[0]!.local, false);
  clock.advance(10 * T2);
  assert.equal(transport.requests().length, 7, 'nothing is retransmitted once Completed');
});

test('NICT over TCP: no retransmission at all, still a local 408 at 64·T1', () => {
  const { clock, layer, transport } = layerHarness();
  const { user, finals } = recordingUser(clock);
  layer.sendRequest(outgoingRequest('SUBSCRIBE', 'z9hG4bKnict3', 'TCP'), TCP, user);
  clock.advance(64 * T1 - 1);
  assert.equal(transport.requests().length, 1);
  assert.equal(finals.length, 0);
  clock.advance(1);
  assert.deepEqual(finals, [{ status: 408, reason: 'Request Timeout', local: true, at: 64 * T1 }]);
  clock.advance(100_000);
  assert.equal(transport.requests().length, 1);
  assert.equal(finals.length, 1);
});

test('NICT: the final is delivered once, retransmitted finals are absorbed, Timer K = T4 on UDP removes the transaction', () => {
  const { clock, layer, transport } = layerHarness();
  const { user, finals } = recordingUser(clock);
  const request = outgoingRequest('NOTIFY', 'z9hG4bKnict4');
  const transaction = layer.sendRequest(request, UDP, user);
  clock.advance(100);
  const ok = responseTo(request, 200);
  transport.receive(ok);
  transport.receive(ok);
  transport.receive(responseTo(request, 180)); // a late provisional is ignored in Completed
  assert.equal(finals.length, 1);
  assert.equal(transaction.state, 'completed');
  assert.equal(layer.stats().retransmittedResponsesAbsorbed, 1);
  assert.equal(layer.stats().activeClientTransactions, 1);
  clock.advance(T4 - 1);
  assert.equal(layer.stats().activeClientTransactions, 1);
  clock.advance(1);
  assert.equal(transaction.state, 'terminated');
  assert.equal(layer.stats().activeClientTransactions, 0);
  // Now the same response matches nothing.
  transport.receive(ok);
  assert.equal(layer.stats().unmatchedResponses, 1);
  assert.equal(finals.length, 1);
  assert.equal(transport.requests().length, 1);
});

test('NICT over TCP: Timer K is 0, the transaction is gone as soon as the final arrives', () => {
  const { clock, layer, transport } = layerHarness();
  const { user, finals } = recordingUser(clock);
  const request = outgoingRequest('NOTIFY', 'z9hG4bKnict5', 'TCP');
  const transaction = layer.sendRequest(request, TCP, user);
  transport.receive(responseTo(request, 481));
  assert.equal(finals.length, 1);
  assert.equal(transaction.state, 'terminated');
  assert.equal(layer.stats().activeClientTransactions, 0);
});

test('NICT: a transport error gives one local 503 and ends the transaction', async () => {
  const { clock, layer, transport } = layerHarness();
  const { user, finals } = recordingUser(clock);
  transport.failSends();
  const transaction = layer.sendRequest(outgoingRequest('SUBSCRIBE', 'z9hG4bKnict6', 'TCP'), TCP, user);
  await flushMicrotasks();
  assert.equal(finals.length, 1);
  assert.equal(finals[0]!.status, 503);
  assert.equal(finals[0]!.local, true);
  assert.match(finals[0]!.reason, /ECONNREFUSED/);
  assert.equal(transaction.state, 'terminated');
  clock.advance(64 * T1);
  assert.equal(finals.length, 1, 'Timer F was cancelled');
  assert.equal(layer.stats().transportErrors, 1);
});

test('NICT: a synchronous transport error on a retransmission also ends it with one 503', () => {
  const { clock, layer, transport } = layerHarness({ synchronousErrors: true });
  const { user, finals } = recordingUser(clock);
  layer.sendRequest(outgoingRequest('SUBSCRIBE', 'z9hG4bKnict7'), UDP, user);
  transport.failSends(undefined, undefined, true);
  clock.advance(T1);
  assert.equal(finals.length, 1);
  assert.equal(finals[0]!.status, 503);
  clock.advance(64 * T1);
  assert.equal(transport.requests().length, 2);
  assert.equal(finals.length, 1);
});

test('responses are matched on top Via branch and CSeq method only (RFC 3261 §17.1.3)', () => {
  const { clock, layer, transport } = layerHarness();
  const { user, finals } = recordingUser(clock);
  const request = outgoingRequest('SUBSCRIBE', 'z9hG4bKnict8');
  layer.sendRequest(request, UDP, user);
  // Same branch, other method (e.g. a CANCEL's response): no match.
  const other = responseTo(request, 200);
  other.headers.set('CSeq', '1 CANCEL');
  transport.receive(other);
  // Other branch: no match.
  const stray = responseTo(outgoingRequest('SUBSCRIBE', 'z9hG4bKother'), 200);
  transport.receive(stray);
  // No Via at all: dropped as malformed.
  const broken = responseTo(request, 200);
  broken.headers.delete('via');
  transport.receive(broken);
  assert.equal(finals.length, 0);
  assert.equal(layer.stats().unmatchedResponses, 2);
  assert.equal(layer.stats().malformedDropped, 1);
  transport.receive(responseTo(request, 202));
  assert.equal(finals[0]!.status, 202);
});

test('abandon() stops retransmissions and silences the user', () => {
  const { clock, layer, transport } = layerHarness();
  const { user, finals } = recordingUser(clock);
  const request = outgoingRequest('SUBSCRIBE', 'z9hG4bKnict9');
  const transaction = layer.sendRequest(request, UDP, user);
  clock.advance(T1);
  transaction.abandon();
  clock.advance(64 * T1);
  assert.equal(transport.requests().length, 2);
  assert.equal(finals.length, 0);
  assert.equal(layer.stats().activeClientTransactions, 0);
});

test('stopRetransmitting(): no more Timer E sends, but a final response still reaches the user; Timer F still ends it', () => {
  const { clock, layer, transport } = layerHarness();
  const { user, finals } = recordingUser(clock);
  const answered = outgoingRequest('SUBSCRIBE', 'z9hG4bKquiet1');
  const first = layer.sendRequest(answered, UDP, user);
  clock.advance(T1); // one retransmission
  first.stopRetransmitting();
  clock.advance(10 * T1);
  assert.equal(transport.requests().length, 2, 'nothing after stopRetransmitting');
  transport.receive(responseTo(answered, 200));
  assert.deepEqual(finals.map((f) => f.status), [200], 'the late 2xx is still delivered');
  const silent = layer.sendRequest(outgoingRequest('SUBSCRIBE', 'z9hG4bKquiet2'), UDP, user);
  silent.stopRetransmitting();
  clock.advance(64 * T1);
  assert.equal(transport.requests().length, 3);
  assert.deepEqual(finals.map((f) => [f.status, f.local]), [[200, false], [408, true]], 'Timer F: the local 408');
  clock.advance(T4);
  assert.equal(layer.stats().activeClientTransactions, 0);
});

test('sendRequest refuses requests without a z9hG4bK branch, duplicates and INVITE', () => {
  const { clock, layer } = layerHarness();
  const { user } = recordingUser(clock);
  assert.throws(() => layer.sendRequest(outgoingRequest('SUBSCRIBE', 'abc'), UDP, user), { code: 'SIP_ERR_TRANSACTION_NO_BRANCH' });
  layer.sendRequest(outgoingRequest('SUBSCRIBE', 'z9hG4bKdup'), UDP, user);
  assert.throws(() => layer.sendRequest(outgoingRequest('SUBSCRIBE', 'z9hG4bKdup'), UDP, user), { code: 'SIP_ERR_TRANSACTION_DUPLICATE' });
  assert.throws(() => layer.sendRequest(outgoingRequest('INVITE', 'z9hG4bKinv'), UDP, user), { code: 'SIP_ERR_TRANSACTION_METHOD' });
});

test('sendRequest reads the branch without leaving a parsed Via on the request it holds (issue 11)', () => {
  const { clock, layer, transport } = layerHarness();
  const { user, finals } = recordingUser(clock);
  const request = outgoingRequest('SUBSCRIBE', 'z9hG4bKnomemo');
  layer.sendRequest(request, UDP, user);
  // A Via memoised on a request held until Timer K made V8 allocate every parsed Via in the old
  // generation (docs/latency-tail.md, "The unknown 0.9 KB"): the accessor cache has none.
  assert.equal((request as { [ACCESSOR_CACHE]?: AccessorCache })[ACCESSOR_CACHE]?.topVia, undefined);
  transport.receive(responseTo(request, 200));
  assert.deepEqual(finals.map((f) => [f.status, f.local]), [[200, false]], 'the response still matches by that branch');
  // A request without any Via: the same error, with the codec's error as its cause.
  const noVia = outgoingRequest('SUBSCRIBE', 'z9hG4bKnovia');
  noVia.headers.delete('via');
  assert.throws(() => layer.sendRequest(noVia, UDP, user), (e: unknown) => (e as { code?: string; cause?: { code?: string } }).code === 'SIP_ERR_TRANSACTION_NO_BRANCH' && (e as { cause?: { code?: string } }).cause?.code === 'SIP_ERR_PARSE_MISSING_HEADER');
});

test('a user callback that throws is counted, never propagated', () => {
  const { clock, layer, transport } = layerHarness();
  const request = outgoingRequest('SUBSCRIBE', 'z9hG4bKthrow');
  layer.sendRequest(request, UDP, {
    onFinal: () => {
      throw new Error('user bug');
    },
  });
  assert.doesNotThrow(() => transport.receive(responseTo(request, 200)));
  assert.equal(layer.stats().userErrors, 1);
  clock.advance(T4);
});

test('close() ends every transaction and leaves no timer behind', () => {
  const { clock, scheduler, layer } = layerHarness();
  const { user, finals } = recordingUser(clock);
  for (let i = 0; i < 10; i++) layer.sendRequest(outgoingRequest('SUBSCRIBE', `z9hG4bKclose${i}`), UDP, user);
  assert.equal(layer.stats().activeClientTransactions, 10);
  layer.close();
  assert.equal(layer.stats().activeClientTransactions, 0);
  assert.equal(scheduler.size, 0);
  clock.advance(64 * T1);
  assert.equal(finals.length, 0);
});

test('NICT: Timers F and K of many transactions take one scheduler timer each; each fires 64·T1 after its own start / T4 after its own final (issue 11)', () => {
  const { clock, scheduler, layer, transport } = layerHarness();
  const { user, finals } = recordingUser(clock);
  const requests: ReturnType<typeof outgoingRequest>[] = [];
  const transactions = [];
  for (let i = 0; i < 200; i++) {
    const request = outgoingRequest('SUBSCRIBE', `z9hG4bKfk${i}`, 'TCP');
    requests.push(request);
    transactions.push(layer.sendRequest(request, TCP, user));
    clock.advance(10);
  }
  // Over TCP there is no Timer E: the only scheduler timer is the Timer F queue's.
  assert.equal(scheduler.size, 1);
  // The even ones are answered now: they end at once (Timer K is 0 over TCP) and never see Timer F.
  for (let i = 0; i < 200; i += 2) transport.receive(responseTo(requests[i]!, 200));
  assert.equal(finals.length, 100);
  assert.equal(layer.stats().activeClientTransactions, 100);
  // The first unanswered one (i = 1) started at t = 10; now is t = 2000.
  clock.advance(64 * T1 + 10 - 2000 - 1);
  assert.equal(finals.length, 100);
  clock.advance(1);
  assert.equal(finals.length, 101);
  assert.deepEqual(finals.at(-1), { status: 408, reason: 'Request Timeout', local: true, at: 64 * T1 + 10 });
  clock.advance(199 * 10);
  assert.equal(finals.length, 200);
  assert.deepEqual(
    finals.slice(100).map((f) => f.at),
    Array.from({ length: 100 }, (_, k) => 64 * T1 + (2 * k + 1) * 10),
  );
  assert.ok(finals.slice(0, 100).every((f) => f.status === 200 && !f.local));
  assert.equal(layer.stats().timeouts, 100);
  assert.equal(layer.stats().activeClientTransactions, 0);
  assert.equal(scheduler.size, 0);
  for (const t of transactions) assert.equal(t.state, 'terminated');
});

test('NICT over UDP: Timer K from the queue, T4 after each final; abandon() in Completed ends it at once and Timer K finds nothing (issue 11)', () => {
  const { clock, scheduler, layer, transport } = layerHarness();
  const { user, finals } = recordingUser(clock);
  const requests = [];
  const transactions = [];
  for (let i = 0; i < 50; i++) {
    const request = outgoingRequest('SUBSCRIBE', `z9hG4bKk${i}`);
    requests.push(request);
    transactions.push(layer.sendRequest(request, UDP, user));
  }
  for (let i = 0; i < 50; i++) {
    transport.receive(responseTo(requests[i]!, 200));
    clock.advance(20);
  }
  assert.equal(finals.length, 50);
  assert.ok(transactions.every((t) => t.state === 'completed'));
  // Those answered at 500 ms or later were sent again by Timer E first (T1 = 500 ms); nothing after.
  const sentBeforeFinals = transport.requests().length;
  assert.equal(sentBeforeFinals, 75);
  // Timer E was cancelled by the finals; the Timer F queue's timer may still be armed for a cancelled
  // item (it lets go of it at its time); the Timer K queue's timer: one.
  assert.ok(scheduler.size <= 2, `scheduler.size ${scheduler.size}`);
  transactions[10]!.abandon();
  assert.equal(transactions[10]!.state, 'terminated');
  assert.equal(layer.stats().activeClientTransactions, 49);
  // The first final came at t = 0: it ends at T4, the others 20 ms apart.
  clock.advance(T4 - 50 * 20 - 1);
  assert.equal(transactions[0]!.state, 'completed');
  clock.advance(1);
  assert.equal(transactions[0]!.state, 'terminated');
  assert.equal(transactions[1]!.state, 'completed');
  clock.advance(49 * 20);
  assert.ok(transactions.every((t) => t.state === 'terminated'));
  assert.equal(layer.stats().activeClientTransactions, 0);
  assert.equal(finals.length, 50);
  clock.advance(64 * T1);
  assert.equal(scheduler.size, 0);
  assert.equal(transport.requests().length, sentBeforeFinals, 'no retransmission once Completed');
});

test('NICT over UDP: the first Timer E of many transactions waits in one queue; an answered one is never sent again, the others at T1 after their own start, then on the heap (issue 11)', () => {
  const { clock, scheduler, layer, transport } = layerHarness();
  const { user, finals } = recordingUser(clock);
  const requests = [];
  for (let i = 0; i < 100; i++) {
    const request = outgoingRequest('SUBSCRIBE', `z9hG4bKe${i}`);
    requests.push(request);
    layer.sendRequest(request, UDP, user);
    clock.advance(1);
  }
  // The two queue timers (first E, F), and no heap entry per transaction.
  assert.ok(scheduler.size <= 2, `scheduler.size ${scheduler.size}`);
  for (let i = 0; i < 100; i += 2) transport.receive(responseTo(requests[i]!, 200));
  assert.equal(finals.length, 50);
  clock.advance(T1 + 3 * T1); // t = 100 + 2000: every odd one was sent at its start, +T1, +3·T1
  const sends = transport.requests();
  assert.equal(sends.length, 100 + 50 * 2);
  const at = (i: number) =>
    sends.filter((s) => s.bytes.toString('latin1').includes(`branch=z9hG4bKe${i};`)).map((s) => s.at);
  for (let i = 0; i < 100; i++) assert.deepEqual(at(i), i % 2 === 0 ? [i] : [i, i + T1, i + 3 * T1], `transaction ${i}`);
  assert.equal(layer.stats().requestRetransmissions, 100);
});

test('NICT over UDP: in Completed the layer keeps the key alone, so the transaction object is not held for Timer K; abandon() before or after Timer K (issue 11)', async () => {
  const { clock, layer, transport } = layerHarness();
  const { user, finals } = recordingUser(clock);
  const request = outgoingRequest('SUBSCRIBE', 'z9hG4bKkeyonly');
  let transaction: ReturnType<typeof layer.sendRequest> | undefined = layer.sendRequest(request, UDP, user);
  const held = new WeakRef(transaction);
  const ok = responseTo(request, 200);
  transport.receive(ok);
  assert.equal(transaction.state, 'completed');
  transaction = undefined;
  // A full GC (the flag set at run time, the function from a fresh context) in a later task: a WeakRef
  // keeps its target alive until the end of the task that made it.
  await new Promise((resolve) => setImmediate(resolve));
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  assert.equal(held.deref(), undefined, 'nothing in the layer holds the completed transaction');
  // Its key still absorbs a retransmitted final until Timer K.
  transport.receive(ok);
  assert.equal(layer.stats().retransmittedResponsesAbsorbed, 1);
  assert.equal(layer.stats().activeClientTransactions, 1);
  clock.advance(T4);
  assert.equal(layer.stats().activeClientTransactions, 0);
  transport.receive(ok);
  assert.equal(layer.stats().unmatchedResponses, 1);
  assert.equal(finals.length, 1);

  // abandon() in Completed forgets the key at once; after Timer K it changes nothing.
  const a = outgoingRequest('SUBSCRIBE', 'z9hG4bKkeyonly-a');
  const b = outgoingRequest('SUBSCRIBE', 'z9hG4bKkeyonly-b');
  const ta = layer.sendRequest(a, UDP, user);
  const tb = layer.sendRequest(b, UDP, user);
  transport.receive(responseTo(a, 200));
  transport.receive(responseTo(b, 200));
  assert.equal(layer.stats().activeClientTransactions, 2);
  ta.abandon();
  assert.equal(ta.state, 'terminated');
  assert.equal(layer.stats().activeClientTransactions, 1);
  transport.receive(responseTo(a, 200));
  assert.equal(layer.stats().unmatchedResponses, 2, 'an abandoned transaction absorbs nothing');
  clock.advance(T4 - 1);
  assert.equal(tb.state, 'completed');
  clock.advance(1);
  assert.equal(tb.state, 'terminated');
  tb.abandon();
  assert.equal(tb.state, 'terminated');
  assert.equal(layer.stats().activeClientTransactions, 0);
});
