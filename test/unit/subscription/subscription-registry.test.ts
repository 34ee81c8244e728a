import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { QsaSubscription } from '../../../src/qsa/index.js';
import { newDialogState } from '../../../src/sip/dialog/dialog-state.js';
import { SubscriptionDialog } from '../../../src/subscription/subscription-dialog.js';
import { SubscriptionRegistry } from '../../../src/subscription/subscription-registry.js';
import { ManualClock } from '../../../src/util/clock.js';
import { TimerScheduler } from '../../../src/util/timer-scheduler.js';

function sub(id: string): QsaSubscription {
  return { id, package: 'presence', record: 'sip:alice@example.com', subscriber: 'sip:bob@example.com', data: undefined, active: true };
}

function dialog(id = 'd1'): SubscriptionDialog {
  return new SubscriptionDialog(id, 'sip:alice@example.com', 'sip:bob@example.com', 'presence');
}

function sipDialog(callId: string) {
  return newDialogState({ callId, localTag: 'ours', localUri: 'sip:bob@example.com', remoteUri: 'sip:alice@example.com' });
}

test('a dialog is found by identity, member and SIP dialog; remove() takes it out of every map', () => {
  const registry = new SubscriptionRegistry();
  const d = dialog();
  const [a, b] = [sub('s1'), sub('s2')];
  registry.add(d, a, true);
  registry.join(d, b);
  registry.setSipDialog(d, sipDialog('c1'));
  assert.equal(registry.sharedDialog('presence', 'sip:alice@example.com', 'sip:bob@example.com'), d);
  assert.equal(registry.dialogOfMember(b), d);
  assert.equal(registry.dialogOfMemberId('s2'), d);
  assert.equal(registry.dialogOfNotify('c1', 'ours'), d);
  assert.equal(registry.dialogOfNotify('c1', 'theirs'), undefined, 'the Call-ID finds it; our tag must match too');
  assert.deepEqual(d.members, [a, b]);

  assert.equal(registry.remove(d), true);
  assert.equal(registry.size, 0);
  assert.equal(registry.sharedDialog('presence', 'sip:alice@example.com', 'sip:bob@example.com'), undefined);
  assert.equal(registry.dialogOfMember(a), undefined);
  assert.equal(registry.dialogOfMemberId('s1'), undefined);
  assert.equal(registry.dialogOfNotify('c1', 'ours'), undefined);
  assert.equal(d.dialog, undefined);
  assert.deepEqual(d.members, []);
  assert.equal(registry.remove(d), false, 'a second remove is a no-op');
});

test('setSipDialog: a new SIP dialog replaces the old one in NOTIFY matching', () => {
  const registry = new SubscriptionRegistry();
  const d = dialog();
  registry.add(d, sub('s1'), false);
  assert.equal(registry.sharedDialog('presence', 'sip:alice@example.com', 'sip:bob@example.com'), undefined, 'not shared when sharing is off');
  registry.setSipDialog(d, sipDialog('c1'));
  registry.setSipDialog(d, sipDialog('c2'));
  assert.equal(registry.dialogOfNotify('c1', 'ours'), undefined);
  assert.equal(registry.dialogOfNotify('c2', 'ours'), d);
});

test('leave() and stopSharing(): the last member leaving keeps the dialog (the engine ends it); a stopped dialog takes no newcomer', () => {
  const registry = new SubscriptionRegistry();
  const d = dialog();
  const a = sub('s1');
  registry.add(d, a, true);
  assert.equal(registry.leave(a), d);
  assert.equal(registry.leave(a), undefined);
  assert.deepEqual(d.members, []);
  assert.equal(registry.size, 1);
  registry.stopSharing(d);
  assert.equal(registry.sharedDialog('presence', 'sip:alice@example.com', 'sip:bob@example.com'), undefined);
  // Another dialog with the same identity may share now; stopping the old one again leaves it alone.
  const e = dialog('d2');
  registry.add(e, sub('s3'), true);
  registry.stopSharing(d);
  assert.equal(registry.sharedDialog('presence', 'sip:alice@example.com', 'sip:bob@example.com'), e);
});

test('identity: package, record and subscriber joined by newlines, as a stored dialog\'s key', () => {
  assert.equal(dialog().identity, 'presence\nsip:alice@example.com\nsip:bob@example.com');
});

test('sharing: dialogs of one record for other subscribers or packages are each found by their own identity, and stop being found one by one', () => {
  const registry = new SubscriptionRegistry();
  const record = 'sip:alice@example.com';
  const bob = new SubscriptionDialog('d1', record, 'sip:bob@example.com', 'presence');
  const carol = new SubscriptionDialog('d2', record, 'sip:carol@example.com', 'presence');
  const bobDialogs = new SubscriptionDialog('d3', record, 'sip:bob@example.com', 'dialog');
  const other = new SubscriptionDialog('d4', 'sip:dave@example.com', 'sip:bob@example.com', 'presence');
  registry.add(bob, sub('s1'), true);
  registry.add(carol, sub('s2'), true);
  registry.add(bobDialogs, sub('s3'), true);
  registry.add(other, sub('s4'), true);
  assert.equal(registry.sharedDialog('presence', record, 'sip:bob@example.com'), bob);
  assert.equal(registry.sharedDialog('presence', record, 'sip:carol@example.com'), carol);
  assert.equal(registry.sharedDialog('dialog', record, 'sip:bob@example.com'), bobDialogs);
  assert.equal(registry.sharedDialog('dialog', record, 'sip:carol@example.com'), undefined);
  assert.equal(registry.sharedDialog('presence', 'sip:dave@example.com', 'sip:bob@example.com'), other);
  assert.equal(registry.sharedDialog('presence', 'sip:dave@example.com', 'sip:carol@example.com'), undefined, 'same record, another subscriber');
  assert.equal(registry.sharedDialog('dialog', 'sip:dave@example.com', 'sip:bob@example.com'), undefined, 'same record and subscriber, another package');

  registry.stopSharing(carol);
  assert.equal(registry.sharedDialog('presence', record, 'sip:carol@example.com'), undefined);
  assert.equal(registry.sharedDialog('presence', record, 'sip:bob@example.com'), bob);
  registry.remove(bob);
  assert.equal(registry.sharedDialog('presence', record, 'sip:bob@example.com'), undefined);
  assert.equal(registry.sharedDialog('dialog', record, 'sip:bob@example.com'), bobDialogs, 'the last one of the record is still found');
  // A new dialog of an identity already shared replaces it; stopping the old one leaves the new one alone.
  const bobDialogs2 = new SubscriptionDialog('d5', record, 'sip:bob@example.com', 'dialog');
  registry.add(bobDialogs2, sub('s5'), true);
  assert.equal(registry.sharedDialog('dialog', record, 'sip:bob@example.com'), bobDialogs2);
  registry.stopSharing(bobDialogs);
  assert.equal(registry.sharedDialog('dialog', record, 'sip:bob@example.com'), bobDialogs2);
  registry.add(carol, sub('s6'), true);
  registry.stopSharing(bobDialogs2);
  assert.equal(registry.sharedDialog('dialog', record, 'sip:bob@example.com'), undefined);
  assert.equal(registry.sharedDialog('presence', record, 'sip:carol@example.com'), carol);
  registry.stopSharing(carol);
  assert.equal(registry.sharedDialog('presence', record, 'sip:carol@example.com'), undefined);
});

test('members: kept in join order whoever leaves (the first, one in the middle, the last); dropMembers leaves none', () => {
  const registry = new SubscriptionRegistry();
  const d = dialog();
  const [a, b, c, e] = [sub('s1'), sub('s2'), sub('s3'), sub('s4')];
  assert.equal(d.memberCount, 0);
  assert.equal(d.firstMember, undefined);
  registry.add(d, a, true);
  assert.deepEqual(d.members, [a]);
  assert.equal(d.memberCount, 1);
  for (const m of [b, c, e]) registry.join(d, m);
  assert.deepEqual(d.members, [a, b, c, e]);
  assert.deepEqual([0, 1, 2, 3].map((i) => d.memberAt(i)), [a, b, c, e]);
  assert.equal(d.memberAt(4), undefined);
  assert.equal(registry.leave(a), d);
  assert.deepEqual(d.members, [b, c, e]);
  assert.equal(d.firstMember, b, 'the next in order becomes the first');
  registry.leave(c);
  assert.deepEqual(d.members, [b, e]);
  registry.leave(e);
  assert.deepEqual(d.members, [b]);
  assert.equal(d.memberCount, 1);
  registry.join(d, a);
  assert.deepEqual(d.members, [b, a]);
  d.members.push(c);
  assert.deepEqual(d.members, [b, a], 'members is a copy: changing it changes nothing');
  registry.dropMembers(d);
  assert.deepEqual(d.members, []);
  assert.equal(d.memberCount, 0);
  assert.equal(registry.dialogOfMember(b), undefined);
  assert.equal(registry.dialogOfMember(a), undefined);
});

test('dialog timers: arm() replaces what a slot held, clearTimers() leaves none', () => {
  const clock = new ManualClock();
  const scheduler = new TimerScheduler(clock);
  const d = dialog();
  const fired: string[] = [];
  d.arm('timer', scheduler.after(10, () => fired.push('first')));
  d.arm('timer', scheduler.after(20, () => fired.push('second')));
  d.timerNTicket = 3;
  assert.equal(scheduler.size, 1);
  d.clearTimers();
  assert.equal(scheduler.size, 0);
  assert.equal(d.timerNTicket, -1, 'Timer N (a ticket in the engine queue) is cancelled too');
  d.arm('timer', scheduler.after(5, () => fired.push('third')));
  clock.advance(100);
  assert.deepEqual(fired, ['third']);
});

test('a member is found by its subscription whatever happened to its dialog: shared, not shared, ending, replaced by a newer one (property, against a plain model)', () => {
  const records = ['sip:alice@example.com', 'sip:carol@example.com'];
  const subscribers = ['sip:bob@example.com', 'sip:dave@example.com'];
  type Op =
    | { kind: 'add'; record: number; subscriber: number; pkg: number; shared: boolean }
    | { kind: 'join'; pick: number }
    | { kind: 'leave'; pick: number }
    | { kind: 'stopSharing'; pick: number }
    | { kind: 'remove'; pick: number }
    | { kind: 'dropMembers'; pick: number };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant('add' as const), record: fc.nat(1), subscriber: fc.nat(1), pkg: fc.nat(1), shared: fc.boolean() }),
    fc.record({ kind: fc.constant('join' as const), pick: fc.nat() }),
    fc.record({ kind: fc.constant('leave' as const), pick: fc.nat() }),
    fc.record({ kind: fc.constant('stopSharing' as const), pick: fc.nat() }),
    fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }),
    fc.record({ kind: fc.constant('dropMembers' as const), pick: fc.nat() }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      const registry = new SubscriptionRegistry();
      const dialogs: SubscriptionDialog[] = [];
      const subs: QsaSubscription[] = [];
      // The model: which dialog serves each subscription (none once it left).
      const servedBy = new Map<string, SubscriptionDialog>();
      let next = 0;
      const newSub = (d: SubscriptionDialog): QsaSubscription => {
        const s: QsaSubscription = { id: `s${next++}`, package: d.pkg, record: d.record, subscriber: d.subscriber, data: undefined, active: true };
        subs.push(s);
        return s;
      };
      const live = (): SubscriptionDialog[] => dialogs.filter((d) => [...registry.dialogs()].includes(d));
      const apply = (o: Op): void => {
        if (o.kind === 'add') {
          const d = new SubscriptionDialog(`d${dialogs.length}`, records[o.record]!, subscribers[o.subscriber]!, o.pkg === 0 ? 'presence' : 'dialog');
          dialogs.push(d);
          const s = newSub(d);
          registry.add(d, s, o.shared);
          servedBy.set(s.id, d);
          return;
        }
        const candidates = live();
        const d = candidates[o.pick % Math.max(1, candidates.length)];
        if (d === undefined) return;
        if (o.kind === 'join') {
          const s = newSub(d);
          registry.join(d, s);
          servedBy.set(s.id, d);
        } else if (o.kind === 'leave') {
          const members = d.members;
          const s = members[o.pick % Math.max(1, members.length)];
          if (s === undefined) return;
          assert.equal(registry.leave(s), d);
          servedBy.delete(s.id);
        } else if (o.kind === 'stopSharing') {
          registry.stopSharing(d);
        } else if (o.kind === 'dropMembers') {
          for (const s of d.members) servedBy.delete(s.id);
          registry.dropMembers(d);
        } else {
          for (const s of d.members) servedBy.delete(s.id);
          registry.remove(d);
        }
      };
      for (const o of ops) {
        apply(o);
        for (const s of subs) {
          assert.equal(registry.dialogOfMember(s), servedBy.get(s.id), `${s.id} by its subscription`);
          assert.equal(registry.dialogOfMemberId(s.id), servedBy.get(s.id), `${s.id} by its id`);
        }
      }
    }),
    { numRuns: 300 },
  );
});
