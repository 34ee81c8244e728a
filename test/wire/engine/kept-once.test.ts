/**
 * Issue 11: a dialog's usual last status (an active NOTIFY's whole document)
 * is kept once, by its first member's broker record, which the engine reads
 * back (a joining subscriber's status, the dialog snapshot), instead of a
 * kept update of its own as well. What every queue receives is unchanged: a
 * subscriber that joins learns the last status at once, byte for byte, from
 * one member to two and back; a dialog whose member is taken from the engine
 * keeps a copy of its own before another notifier reports.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { QsaSubscription, StatusUpdate } from '../../../src/qsa/index.js';
import type { SubscriptionDialog } from '../../../src/subscription/subscription-dialog.js';
import { accept, expectSubscribe, notify, startHarness, takeMessage, type Harness } from './harness.js';

const endOfTask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function pidf(basic: string, note: string): Uint8Array {
  return new TextEncoder().encode(
    `<?xml version="1.0" encoding="UTF-8"?>\n<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"><tuple id="t1"><status><basic>${basic}</basic></status><note>${note}</note></tuple></presence>\n`,
  );
}

/** The engine's dialog object of a member (a test's look inside: `kept` is what the dialog holds). */
function dialogOf(h: Harness, id: string): SubscriptionDialog {
  const registry = (h.b2b.engine as unknown as { registry: { dialogOfMemberId(id: string): SubscriptionDialog | undefined } }).registry;
  const dialog = registry.dialogOfMemberId(id);
  assert.ok(dialog !== undefined);
  return dialog;
}

const keptByMember = (kept: StatusUpdate | QsaSubscription | undefined): boolean => kept !== undefined && !('state' in kept);

test('one member, then two, then one: each joiner learns the last status byte for byte; the status is kept once while a member holds it', async () => {
  const h = await startHarness();
  try {
    const store = h.b2b.qsa.keptBodies;
    const q2 = h.b2b.qsa.createQueue();
    const q3 = h.b2b.qsa.createQueue();
    const a = h.subscribe();
    const sub = await expectSubscribe(h.peer);
    await accept(h.peer, sub);
    const open = pidf('open', 'first');
    assert.equal((await notify(h, sub, { cseq: 1, body: open })).message.status, 200);
    assert.deepEqual((await takeMessage(h.queue)).body, open);
    await endOfTask();
    const dialog = dialogOf(h, a.id);
    assert.equal(dialog.kept, dialog.firstMember, 'one member: read back from its record, no kept update of its own');
    assert.deepEqual(dialog.lastStatus?.body, open);
    assert.equal(dialog.lastStatus?.state, 'active');
    assert.equal(h.b2b.engine.dialogOf(a.id)?.lastStatus?.document !== undefined, true, 'the snapshot reads the document again');
    assert.equal(store.stats().bodies, 1);

    // A second subscriber joins: it learns the last status at once.
    const b = h.subscribe(h.record(), q2);
    const joined = await takeMessage(q2);
    assert.equal(joined.subscriptionId, b.id);
    assert.equal(joined.state, 'active');
    assert.deepEqual(joined.body, open);
    assert.equal((joined.document as { entity?: string } | undefined)?.entity, 'sip:alice@example.com');

    // Two members: every NOTIFY reaches both; the dialog still reads its first member's record.
    const closed = pidf('closed', 'second');
    assert.equal((await notify(h, sub, { cseq: 2, body: closed })).message.status, 200);
    assert.deepEqual((await takeMessage(h.queue)).body, closed);
    assert.deepEqual((await takeMessage(q2)).body, closed);
    await endOfTask();
    assert.equal(dialog.kept, dialog.firstMember);
    assert.equal(store.stats().bodies, 1, 'one slot for both records');

    // The first member leaves: its ended record still gives the last status to a joiner.
    h.b2b.qsa.unsubscribe(a);
    assert.deepEqual(dialog.lastStatus?.body, closed);
    const c = h.subscribe(h.record(), q3);
    const joined3 = await takeMessage(q3);
    assert.equal(joined3.subscriptionId, c.id);
    assert.deepEqual(joined3.body, closed);
    h.b2b.qsa.unsubscribe(c);

    // Back to one member (b): the next status is read back from b's record.
    const third = pidf('open', 'third');
    assert.equal((await notify(h, sub, { cseq: 3, body: third })).message.status, 200);
    assert.deepEqual((await takeMessage(q2)).body, third);
    await endOfTask();
    assert.equal(dialog.kept, dialog.firstMember);
    assert.equal(dialog.firstMember?.id, b.id);
    assert.deepEqual(dialog.lastStatus?.body, third);

    // A status without a body is not the usual one: the dialog keeps it itself, as before.
    assert.equal((await notify(h, sub, { cseq: 4, subscriptionState: 'active;expires=500', body: '' })).message.status, 200);
    assert.equal((await takeMessage(q2)).expires, 500);
    assert.equal(keptByMember(dialog.kept), false);
    assert.equal(dialog.lastStatus?.expires, 500);
    const d = h.subscribe(h.record(), q3);
    const joined4 = await takeMessage(q3);
    assert.equal(joined4.subscriptionId, d.id);
    assert.equal(joined4.expires, 500);
    h.b2b.qsa.unsubscribe(d);
  } finally {
    await h.close();
  }
});

test('a member taken from the engine (its registration withdrawn): the dialog keeps its own copy before another notifier reports', async () => {
  const h = await startHarness();
  try {
    const a = h.subscribe();
    const sub = await expectSubscribe(h.peer);
    await accept(h.peer, sub);
    const open = pidf('open', 'engine');
    assert.equal((await notify(h, sub, { cseq: 1, body: open })).message.status, 200);
    await takeMessage(h.queue);
    await endOfTask();
    const dialog = dialogOf(h, a.id);
    assert.equal(dialog.kept, dialog.firstMember);

    const engineRegistration = h.b2b.qsa.notifiers('presence').find((n) => n.name === 'presence-b2b');
    assert.ok(engineRegistration !== undefined);
    const other = {
      subscribe(s: QsaSubscription) {
        h.b2b.qsa.notify(s, { state: 'active', body: pidf('closed', 'other'), contentType: 'application/pidf+xml' });
      },
      unsubscribe() {},
    };
    h.b2b.qsa.registerNotifier('presence', other, { priority: -1, name: 'other' });
    h.b2b.qsa.unregisterNotifier(engineRegistration);
    assert.equal(a.notifierName, 'other');
    assert.deepEqual(a.lastStatus?.body, pidf('closed', 'other'), "the record's last status is the other notifier's");
    assert.equal(keptByMember(dialog.kept), false, 'a copy of its own');
    assert.deepEqual(dialog.lastStatus?.body, open, "the dialog's last status is still what the engine told");
  } finally {
    await h.close();
  }
});
