import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { presenceOf } from '../../../src/presence/presence-status.js';
import type { PresenceDocument } from '../../../src/presence/pidf-types.js';
import { QsaBroker, type QsaNotifier, type QsaSubscription } from '../../../src/qsa/index.js';
import { keptBodiesOf } from '../../../src/qsa/qsa-broker.js';
import { compactUpdate, letGoKeptUpdate, REREAD_DOCUMENT, type RereadableUpdate, withDocument } from '../../../src/qsa/status-message.js';
import { PRESENCE_EVENT_PACKAGE } from '../../../src/subscription/presence-package.js';
import { ManualClock } from '../../../src/util/clock.js';

// Issue 11: a presence status keeps its body; its parsed document is held while queued, then only
// while somebody holds it, and read again from the body when asked after that.

const PIDF = (basic: string) =>
  new TextEncoder().encode(
    `<?xml version="1.0"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"><tuple id="t1"><status><basic>${basic}</basic></status><note>n-${basic}</note></tuple></presence>`,
  );

const reread = PRESENCE_EVENT_PACKAGE.rereadDocument!;

function rig() {
  const broker = new QsaBroker({ clock: new ManualClock(0, 0) });
  const held: QsaSubscription[] = [];
  const notifier: QsaNotifier = { subscribe: (s) => void held.push(s), unsubscribe: () => {} };
  broker.registerNotifier('presence', notifier, { name: 'engine' });
  const queue = broker.createQueue();
  const handle = broker.subscribe({ record: 'sip:alice@example.com', subscriber: 'sip:bob@example.com', queue });
  return { broker, queue, handle, sub: held[0]! };
}

function update(basic: string): RereadableUpdate {
  const body = PIDF(basic);
  const u: RereadableUpdate = { state: 'active', contentType: 'application/pidf+xml', body, document: reread('application/pidf+xml', body) };
  u[REREAD_DOCUMENT] = reread;
  return u;
}

/** A full GC from a test (the flag is set at run time; the function comes from a fresh context). */
function fullGc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

test('a re-readable document: the same object while queued and after poll; JSON, spread and presenceOf see it', () => {
  const { broker, queue, handle, sub } = rig();
  const u = update('open');
  const given = u.document;
  assert.equal(broker.notify(sub, u), true);
  const message = queue.poll()!;
  assert.equal(handle.lastStatus, message);
  assert.equal(message.document, given, 'the parsed document handed by the notifier, not a second parse');
  assert.equal(message.document, message.document);
  assert.equal(presenceOf(message)?.tuples[0]?.basic, 'open');
  assert.equal(JSON.parse(JSON.stringify(message)).document.tuples[0].basic, 'open');
  assert.equal(({ ...message } as { document?: PresenceDocument }).document?.tuples[0]?.notes[0]?.text, 'n-open');
  assert.ok(Object.keys(message).includes('document'));
});

test('after a full GC nobody holds the document: it is read again from the body, equal to the first', () => {
  const { broker, queue, handle, sub } = rig();
  const u = update('closed');
  const expected = structuredClone(u.document);
  broker.notify(sub, u);
  delete u.document;
  queue.poll();
  fullGc();
  const again = handle.lastStatus!.document;
  assert.deepEqual(again, expected);
  assert.equal(handle.lastStatus!.document, again, 'held by the caller: the same object');
});

test('a document set by its user stays as set', () => {
  const { broker, queue, sub } = rig();
  broker.notify(sub, update('open'));
  const message = queue.poll()! as { document?: unknown };
  const mine = { tuples: [] };
  message.document = mine;
  fullGc();
  assert.equal(message.document, mine);
  message.document = undefined;
  assert.equal(message.document, undefined);
});

test('compactUpdate drops only a re-readable document; withDocument and a message built from it read it again', () => {
  const { broker, queue, sub } = rig();
  const u = update('open');
  const kept = compactUpdate(u);
  assert.equal(kept.document, undefined);
  assert.equal(kept.body, u.body);
  const again = withDocument(kept);
  assert.deepEqual(Object.keys(again).sort(), ['body', 'contentType', 'document', 'state'], 'the fields the update had, no undefined ones');
  assert.equal((again.document as PresenceDocument).tuples[0]?.basic, 'open');
  broker.notify(sub, kept);
  assert.equal(presenceOf(queue.poll()!)?.tuples[0]?.basic, 'open');
  // An ordinary update (no reader) keeps its document.
  const plain = { state: 'active' as const, body: PIDF('open'), document: { x: 1 } };
  assert.equal(compactUpdate(plain).document, plain.document);
  assert.equal(withDocument(plain), plain);
});

/** What the message holds of its document, seen through its one hidden symbol slot. */
function heldDocument(message: object): unknown {
  const slot = Object.getOwnPropertySymbols(message).find((s) => s.description === 'presence-b2b.qsa.document');
  assert.ok(slot !== undefined, 'a message with a re-readable document has the hidden slot');
  return (message as Record<symbol, unknown>)[slot];
}

const endOfTask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('taken out of its queue, a message lets its document go when the task ends, not only at a full GC (no WeakRef: scavenges copy their targets)', async () => {
  const { broker, queue, handle, sub } = rig();
  const u = update('open');
  const given = u.document;
  broker.notify(sub, u);
  delete u.document;
  assert.equal(heldDocument(handle.lastStatus!), given, 'held while queued');
  const message = queue.poll()!;
  assert.equal(message.document, given, 'the same object in the task that took it');
  assert.equal(heldDocument(message), given);
  await endOfTask();
  assert.equal(heldDocument(message), undefined, 'nothing held once the task has ended');
  const again = message.document as PresenceDocument;
  assert.deepEqual(again, given, 'read again from the body: equal to the first');
  assert.equal(message.document, again, 'then the same object while it is held');
  assert.ok(heldDocument(message) instanceof WeakRef, 'a document read again is held weakly');
  await endOfTask();
  assert.equal(message.document, again);
});

test('a message still queued keeps its document across tasks; one set by its user is kept after the task', async () => {
  const { broker, queue, sub } = rig();
  const u = update('closed');
  const given = u.document;
  broker.notify(sub, u);
  await endOfTask();
  const message = queue.poll()! as { document?: unknown };
  assert.equal(message.document, given, 'held while it waited in the queue');
  const mine = { tuples: [] };
  message.document = mine;
  await endOfTask();
  assert.equal(message.document, mine);
  assert.deepEqual(Object.keys(JSON.parse(JSON.stringify(message))).includes('document'), true);
});

test('the last status after the task that took it: kept in fields, an equal message (same JSON), the same object while held', async () => {
  const { broker, queue, handle, sub } = rig();
  broker.notify(sub, { ...update('open'), expires: 600 });
  const taken = queue.poll()!;
  assert.equal(handle.lastStatus, taken, 'the message itself in the task that took it');
  const json = JSON.stringify(taken);
  await endOfTask();
  const last = handle.lastStatus!;
  assert.notEqual(last, taken, 'built again from the kept fields');
  assert.equal(JSON.stringify(last), json, 'equal to the message taken: every field, the document read again');
  assert.equal(handle.lastStatus, last, 'the same object while it is held');
  assert.equal(handle.lastState, 'active');
  assert.equal(last.subscription, handle);
  assert.equal(last.sequence, taken.sequence);
  assert.equal(last.timestamp, taken.timestamp);
  // The next status replaces it; rare fields (reason, retry-after, error) are kept too.
  broker.notify(sub, { ...update('closed'), state: 'terminated', reason: 'timeout', retryAfter: 30, error: { code: 'B2B_ERR_SUBSCRIBE_TIMEOUT', message: 'x' } } as RereadableUpdate);
  assert.equal(handle.lastState, 'terminated', 'queued: the new message');
  const second = queue.poll()!;
  const json2 = JSON.stringify(second);
  await endOfTask();
  assert.equal(JSON.stringify(handle.lastStatus), json2);
  assert.equal(presenceOf(handle.lastStatus!)?.tuples[0]?.basic, 'closed');
  assert.equal(JSON.parse(JSON.stringify(handle)).state, 'terminated');
});

test('a last status whose message was never taken, or whose document was set by a user, stays the message itself', async () => {
  const { broker, queue, handle, sub } = rig();
  broker.notify(sub, update('open'));
  await endOfTask();
  const queued = handle.lastStatus!;
  assert.equal(queue.poll(), queued, 'queued: the message itself');
  const mine = { tuples: [] };
  (queued as { document?: unknown }).document = mine;
  await endOfTask();
  assert.equal(handle.lastStatus, queued);
  assert.equal(handle.lastStatus!.document, mine);
});

test('compactUpdate writes the usual kept update over the previous one (no object per NOTIFY), the rest as before', () => {
  const first = compactUpdate(update('open'));
  const u2 = { ...update('closed'), expires: 30 };
  const second = compactUpdate(u2, first);
  assert.equal(second, first, 'the same object, written over');
  assert.equal(second.body, u2.body);
  assert.equal(second.expires, 30);
  assert.equal(second.document, undefined);
  assert.equal((withDocument(second).document as PresenceDocument).tuples[0]?.basic, 'closed');
  // An unusual update (a reason) is a copy of its own; the kept one is not touched.
  const u3 = { ...update('open'), state: 'terminated' as const, reason: 'noresource' };
  const third = compactUpdate(u3, second);
  assert.notEqual(third, second);
  assert.equal(third.reason, 'noresource');
  assert.equal(second.expires, 30);
});

test('a kept update with a rare field (a terminated status) keeps its body in the broker\'s store, given back when replaced', () => {
  // Issue 11: as a Uint8Array of its own, each such body was an ArrayBuffer that every mark-compact's
  // array buffer sweep went through while the dialog waited for its paced re-SUBSCRIBE (W4).
  const { sub } = rig();
  const store = keptBodiesOf(sub)!;
  const before = store.stats().bodies;
  const u = { ...update('closed'), state: 'terminated' as const, reason: 'deactivated' };
  const kept = compactUpdate(u, undefined, store);
  assert.equal(store.stats().bodies, before + 1, 'the body in a slab slot');
  assert.deepEqual(kept.body, u.body);
  assert.equal(kept.state, 'terminated');
  assert.equal(kept.reason, 'deactivated');
  assert.equal(kept.document, undefined);
  assert.deepEqual(JSON.parse(JSON.stringify(kept)), JSON.parse(JSON.stringify({ state: 'terminated', reason: 'deactivated', contentType: 'application/pidf+xml', body: u.body })));
  assert.equal((withDocument(kept).document as PresenceDocument).tuples[0]?.basic, 'closed');
  // The next status (the usual kind, once the dialog is made again) replaces it: its slot goes back.
  const next = compactUpdate(update('open'), kept, store);
  assert.notEqual(next, kept);
  assert.equal(store.stats().bodies, before + 1, 'one body kept: the new one');
  assert.deepEqual(kept.body, u.body, 'the one replaced is still readable');
  letGoKeptUpdate(next);
  assert.equal(store.stats().bodies, before);
  // And a usual kept update replaced by a rare one gives its slot back too.
  const usual = compactUpdate(update('open'), undefined, store);
  const rare = compactUpdate({ ...update('open'), state: 'terminated' as const, reason: 'timeout' }, usual, store);
  assert.equal(store.stats().bodies, before + 1);
  letGoKeptUpdate(rare);
  assert.equal(store.stats().bodies, before);
});
