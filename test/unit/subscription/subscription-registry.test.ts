import assert from 'node:assert/strict';
import { test } from 'node:test';
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
  return new SubscriptionDialog(id, 'presence\nsip:alice@example.com\nsip:bob@example.com', 'sip:alice@example.com', 'sip:bob@example.com', 'presence');
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
  assert.equal(registry.sharedDialog(d.identity), d);
  assert.equal(registry.dialogOfMember('s2'), d);
  assert.equal(registry.dialogOfNotify('c1', 'ours'), d);
  assert.equal(registry.dialogOfNotify('c1', 'theirs'), undefined, 'the Call-ID finds it; our tag must match too');
  assert.deepEqual(d.members, [a, b]);

  assert.equal(registry.remove(d), true);
  assert.equal(registry.size, 0);
  assert.equal(registry.sharedDialog(d.identity), undefined);
  assert.equal(registry.dialogOfMember('s1'), undefined);
  assert.equal(registry.dialogOfNotify('c1', 'ours'), undefined);
  assert.equal(d.dialog, undefined);
  assert.deepEqual(d.members, []);
  assert.equal(registry.remove(d), false, 'a second remove is a no-op');
});

test('setSipDialog: a new SIP dialog replaces the old one in NOTIFY matching', () => {
  const registry = new SubscriptionRegistry();
  const d = dialog();
  registry.add(d, sub('s1'), false);
  assert.equal(registry.sharedDialog(d.identity), undefined, 'not shared when sharing is off');
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
  assert.equal(registry.sharedDialog(d.identity), undefined);
  // Another dialog with the same identity may share now; stopping the old one again leaves it alone.
  const e = dialog('d2');
  registry.add(e, sub('s3'), true);
  registry.stopSharing(d);
  assert.equal(registry.sharedDialog(e.identity), e);
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
