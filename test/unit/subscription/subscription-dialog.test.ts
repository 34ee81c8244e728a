import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { QsaSubscription } from '../../../src/qsa/index.js';
import type { DigestCredentials, DigestSession } from '../../../src/sip/auth/digest-client.js';
import { type RestartStep, SubscriptionDialog } from '../../../src/subscription/subscription-dialog.js';

function sub(id: string): QsaSubscription {
  return { id, package: 'presence', record: 'sip:alice@example.com', subscriber: 'sip:bob@example.com', data: undefined, active: true };
}

function dialog(): SubscriptionDialog {
  return new SubscriptionDialog(1, 'sip:alice@example.com', 'sip:bob@example.com', 'presence');
}

/** Whether the dialog holds its object of rarities (a private field: the memory contract of issue 11 is what is tested). */
function holdsRarities(d: SubscriptionDialog): boolean {
  return (d as unknown as { rare: object | undefined }).rare !== undefined;
}

const session = { challenge: {}, headerName: 'Authorization', nonceCount: 0 } as unknown as DigestSession;
const credentials = { username: 'bob', password: 'secret' } as unknown as DigestCredentials;

test('a held dialog at its defaults keeps no object of rarities; each rarity makes one, and the last one back lets it go', () => {
  const d = dialog();
  const a = sub('s1');
  d.addMember(a);
  d.failures = 0;
  d.auth = undefined;
  d.staleAnswers = 0;
  assert.equal(holdsRarities(d), false, 'setting defaults makes nothing');

  d.failures = 2;
  d.auth = session;
  d.subscriberCredentials = credentials;
  d.restart = 'resume';
  d.redirects = 3;
  d.addMember(sub('s2'));
  assert.equal(holdsRarities(d), true);
  assert.deepEqual([d.failures, d.auth, d.subscriberCredentials, d.restart, d.redirects, d.memberCount], [2, session, credentials, 'resume', 3, 2]);

  d.failures = 0;
  d.auth = undefined;
  d.subscriberCredentials = undefined;
  d.restart = undefined;
  d.redirects = 0;
  assert.equal(holdsRarities(d), true, 'the second member is still a rarity');
  assert.equal(d.removeMember(d.memberAt(1)!), true);
  assert.equal(holdsRarities(d), false);
  assert.deepEqual(d.members, [a]);
});

test('the rarities read back what was written, whatever the order (property, against a plain model)', () => {
  type Op =
    | { kind: 'failures'; value: number }
    | { kind: 'auth'; on: boolean }
    | { kind: 'credentials'; on: boolean }
    | { kind: 'restart'; value: RestartStep | undefined }
    | { kind: 'counter'; which: 'staleAnswers' | 'redirects' | 'intervalRetries' | 'authAttempts'; value: number }
    | { kind: 'join' }
    | { kind: 'leave'; index: number }
    | { kind: 'clear' };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant('failures' as const), value: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 9 })) }),
    fc.record({ kind: fc.constant('auth' as const), on: fc.boolean() }),
    fc.record({ kind: fc.constant('credentials' as const), on: fc.boolean() }),
    fc.record({ kind: fc.constant('restart' as const), value: fc.constantFrom<RestartStep | undefined>(undefined, 'resume', 'new', 'resuming') }),
    fc.record({
      kind: fc.constant('counter' as const),
      which: fc.constantFrom('staleAnswers' as const, 'redirects' as const, 'intervalRetries' as const, 'authAttempts' as const),
      value: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 300 })),
    }),
    fc.record({ kind: fc.constant('join' as const) }),
    fc.record({ kind: fc.constant('leave' as const), index: fc.nat(5) }),
    fc.record({ kind: fc.constant('clear' as const) }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
      const d = dialog();
      const model = {
        failures: 0,
        auth: undefined as DigestSession | undefined,
        subscriberCredentials: undefined as DigestCredentials | undefined,
        restart: undefined as RestartStep | undefined,
        staleAnswers: 0,
        redirects: 0,
        intervalRetries: 0,
        authAttempts: 0,
        members: [] as QsaSubscription[],
      };
      let next = 0;
      for (const o of ops) {
        switch (o.kind) {
          case 'failures':
            d.failures = o.value;
            model.failures = o.value;
            break;
          case 'auth':
            d.auth = o.on ? session : undefined;
            model.auth = o.on ? session : undefined;
            break;
          case 'credentials':
            d.subscriberCredentials = o.on ? credentials : undefined;
            model.subscriberCredentials = o.on ? credentials : undefined;
            break;
          case 'restart':
            d.restart = o.value;
            model.restart = o.value;
            break;
          case 'counter':
            d[o.which] = o.value;
            model[o.which] = Math.min(o.value, 255);
            break;
          case 'join': {
            const s = sub(`s${next++}`);
            d.addMember(s);
            model.members.push(s);
            break;
          }
          case 'leave': {
            const s = model.members[o.index];
            if (s === undefined) break;
            assert.equal(d.removeMember(s), true);
            model.members.splice(o.index, 1);
            break;
          }
          case 'clear':
            d.clearMembers();
            model.members = [];
            break;
        }
        const { members, ...scalars } = model;
        assert.deepEqual(
          {
            failures: d.failures,
            auth: d.auth,
            subscriberCredentials: d.subscriberCredentials,
            restart: d.restart,
            staleAnswers: d.staleAnswers,
            redirects: d.redirects,
            intervalRetries: d.intervalRetries,
            authAttempts: d.authAttempts,
          },
          scalars,
        );
        assert.deepEqual(d.members, members);
        assert.equal(d.memberCount, members.length);
        const usual =
          members.length <= 1 &&
          scalars.failures === 0 &&
          scalars.auth === undefined &&
          scalars.subscriberCredentials === undefined &&
          scalars.restart === undefined &&
          scalars.staleAnswers + scalars.redirects + scalars.intervalRetries + scalars.authAttempts === 0;
        assert.equal(holdsRarities(d), !usual);
      }
    }),
    { numRuns: 300 },
  );
});
