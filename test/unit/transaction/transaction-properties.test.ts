import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { createResponse } from '../../../src/sip/codec/index.js';
import type { SipRequest } from '../../../src/sip/codec/message.js';
import { TransactionLayer } from '../../../src/sip/transaction/transaction-layer.js';
import { harness, incomingRequest, outgoingRequest, recordingUser } from './helpers.js';

/** RFC 3261 §17.1.2.2 as a model: E doubles from T1 up to T2; sends stop at Timer F = 64·T1. */
function modelSendTimes(t1: number, t2: number): number[] {
  const times = [0];
  let at = 0;
  let interval = t1;
  for (;;) {
    at += interval;
    if (at >= 64 * t1) return times;
    times.push(at);
    interval = Math.min(2 * interval, t2);
  }
}

test('property: for any T1 ≤ T2, UDP sends follow the Timer E model and exactly one 408 comes at 64·T1', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 2000 }), fc.integer({ min: 1, max: 16 }), (t1, factor) => {
      const t2 = t1 * factor;
      const { clock, scheduler, random, transport } = harness();
      const layer = new TransactionLayer({ transport, scheduler, random, timers: { t1, t2 } });
      const { user, finals } = recordingUser(clock);
      layer.sendRequest(outgoingRequest('SUBSCRIBE', 'z9hG4bKprop'), { transport: 'udp', host: '192.0.2.1', port: 5060 }, user);
      clock.advance(64 * t1 + 10 * t2);
      assert.deepEqual(
        transport.requests().map((s) => s.at),
        modelSendTimes(t1, t2),
      );
      assert.deepEqual(finals, [{ status: 408, reason: 'Request Timeout', local: true, at: 64 * t1 }]);
      assert.equal(scheduler.size, 0);
    }),
    { numRuns: 200 },
  );
});

type Step = { kind: 'retransmit' } | { kind: 'provisional' } | { kind: 'final' } | { kind: 'wait'; ms: number };

const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  fc.constant<Step>({ kind: 'retransmit' }),
  fc.constant<Step>({ kind: 'provisional' }),
  fc.constant<Step>({ kind: 'final' }),
  fc.integer({ min: 1, max: 40_000 }).map<Step>((ms) => ({ kind: 'wait', ms })),
);

test('property: however requests are retransmitted, the user sees each once and the peer gets the last response again', () => {
  fc.assert(
    fc.property(fc.array(stepArbitrary, { maxLength: 30 }), (steps) => {
      const { clock, scheduler, random, transport } = harness();
      const layer = new TransactionLayer({ transport, scheduler, random });
      let delivered = 0;
      let current: Parameters<Parameters<TransactionLayer['onRequest']>[0]>[2];
      let currentRequest: SipRequest | undefined;
      layer.onRequest((request, _source, transaction) => {
        delivered++;
        current = transaction;
        currentRequest = request;
      });
      transport.receive(incomingRequest('NOTIFY'));
      // Model: the last response given while the transaction lives, and whether it is still alive.
      let last: number | undefined;
      let finalAt: number | undefined;
      let createdAt = 0;
      // Timer J after the final; before it, the 64·T1 guard from creation.
      const expired = () => clock.now() >= (finalAt ?? createdAt) + 32_000;
      let expectedDeliveries = 1;
      for (const step of steps) {
        const before = transport.sent.length;
        if (step.kind === 'wait') {
          clock.advance(step.ms);
        } else if (step.kind === 'retransmit') {
          transport.receive(incomingRequest('NOTIFY'));
          if (expired()) {
            // A new transaction: the user sees it again and answers nothing yet.
            expectedDeliveries++;
            last = undefined;
            finalAt = undefined;
            createdAt = clock.now();
            assert.equal(transport.sent.length, before);
          } else if (last === undefined) {
            assert.equal(transport.sent.length, before);
          } else {
            assert.equal(transport.sent.length, before + 1);
            const resent = transport.last().message;
            assert.ok(resent.kind === 'response' && resent.status === last);
          }
        } else if (current !== undefined && !expired()) {
          const status = step.kind === 'final' ? 200 : 100;
          current.respond(createResponse(currentRequest!, status, undefined, { toTag: 't' }));
          if (finalAt === undefined) {
            last = status;
            if (status === 200) finalAt = clock.now();
          }
        }
        assert.equal(delivered, expectedDeliveries);
      }
    }),
    { numRuns: 300 },
  );
});
