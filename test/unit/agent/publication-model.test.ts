import { presenceOf } from '../../../src/presence/index.js';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { agentHarness } from './agent-harness.js';

const URIS = ['sip:a@example.com', 'sip:b@example.com', 'sip:c@example.net'] as const;

type Op =
  | { kind: 'publish'; uri: number; basic: 'open' | 'closed'; expires: number | undefined }
  | { kind: 'unpublish'; uri: number }
  | { kind: 'advance'; seconds: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('publish' as const),
    uri: fc.integer({ min: 0, max: 2 }),
    basic: fc.constantFrom('open' as const, 'closed' as const),
    expires: fc.option(fc.integer({ min: 0, max: 5000 }), { nil: undefined }),
  }),
  fc.record({ kind: fc.constant('unpublish' as const), uri: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ kind: fc.constant('advance' as const), seconds: fc.integer({ min: 1, max: 4000 }) }),
);

test('property: in-process publications, expiry and QSA delivery follow a simple model', () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
      const { agent, broker, clock, scheduler } = agentHarness();
      const queue = broker.createQueue();
      const handles = URIS.map((record) => broker.subscribe({ record, subscriber: 'sip:model@example.com', queue }));
      // The model: basic status and expiry time per URI.
      const model: Array<{ basic: 'open' | 'closed'; expiresAt: number | undefined } | undefined> = [undefined, undefined, undefined];
      for (const step of ops) {
        if (step.kind === 'publish') {
          agent.publish(URIS[step.uri]!, { basic: step.basic, ...(step.expires !== undefined ? { expires: step.expires } : {}) });
          model[step.uri] =
            step.expires === 0
              ? undefined
              : { basic: step.basic, expiresAt: step.expires === undefined ? undefined : clock.now() + Math.min(step.expires, 3600) * 1000 };
        } else if (step.kind === 'unpublish') {
          assert.equal(agent.unpublish(URIS[step.uri]!), model[step.uri] !== undefined);
          model[step.uri] = undefined;
        } else {
          clock.advance(step.seconds * 1000);
          for (let i = 0; i < model.length; i++) {
            const entry = model[i];
            if (entry?.expiresAt !== undefined && entry.expiresAt <= clock.now()) model[i] = undefined;
          }
        }
        for (let i = 0; i < URIS.length; i++) {
          const expected = model[i]?.basic;
          assert.equal(agent.presenceOf(URIS[i]!)?.tuples[0]?.basic, expected);
          const last = handles[i]!.lastStatus;
          assert.equal(last?.state, 'active');
          assert.equal(presenceOf(last)?.tuples[0]?.basic, expected);
          assert.equal(last?.body === undefined, expected === undefined);
        }
      }
      // Every presentity is still watched (QSA), so all three are listed; timers: one per expiring publication.
      assert.equal(agent.presentities().length, 3);
      assert.equal(scheduler.size, model.filter((m) => m?.expiresAt !== undefined).length);
      for (const handle of handles) broker.unsubscribe(handle);
      assert.deepEqual(
        agent.presentities().map((p) => p.uri),
        URIS.filter((_, i) => model[i] !== undefined).map((u) => u),
      );
    }),
    { numRuns: 60 },
  );
});
