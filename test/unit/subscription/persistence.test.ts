/**
 * The engine's side of persistence (issue 10, docs/persistence.md) over a
 * FakeUserAgent and an in-memory store: which dialogs are stored and when
 * (the NOTIFY path only marks, the writer writes once per tick), and what a
 * restart does with them: in-dialog resume, the fallbacks (481, timeout,
 * expired), unclaimed snapshots unSUBSCRIBEd after resume_grace, and the
 * pacing of all of it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { presenceOf } from '../../../src/presence/index.js';
import { MemorySubscriptionStore } from '../../../src/store/memory-store.js';
import { RESUME_CSEQ_MARGIN } from '../../../src/store/resume-cseq.js';
import { dialogIdentity, type StoredDialog } from '../../../src/store/stored-dialog.js';
import type { DialogWriteBatch } from '../../../src/store/subscription-store.js';
import { FAKE_SERVER_CONTACT, type SentRequest } from '../../support/fake-user-agent.js';
import { brief, engineHarness, RECORD, SUBSCRIBER } from './engine-harness.js';

/** A memory store that records every writeDialogs call. */
class RecordingStore extends MemorySubscriptionStore {
  readonly writes: Array<{ upserts: StoredDialog[]; deletes: string[] }> = [];
  override writeDialogs(batch: DialogWriteBatch): Promise<void> {
    this.writes.push({ upserts: [...(batch.upserts ?? [])], deletes: [...(batch.deletes ?? [])] });
    return super.writeDialogs(batch);
  }
}

const WALL_START = Date.UTC(2026, 0, 1);
const SERVER_TARGET = /<(.*)>/.exec(FAKE_SERVER_CONTACT)![1]!;
const KEY = dialogIdentity('presence', RECORD, SUBSCRIBER);
const ROUTE = '<sip:proxy.example.com;lr>';

/** A first run: one dialog established (with a Record-Route), its snapshot stored; returns the store and what was sent. */
async function firstRun(record = RECORD, settings: Parameters<typeof engineHarness>[0] = {}) {
  const store = new RecordingStore();
  const h = engineHarness(settings, { store });
  const handle = h.subscribe(record);
  const subscribe = h.ua.take();
  subscribe.accept({ headers: [['Record-Route', ROUTE]] });
  h.ua.notify(subscribe, { basic: 'open' });
  h.statuses();
  const stored = await h.flushed(store);
  return { store, h, handle, subscribe, stored };
}

/** A second run `laterMs` after the first one's start, on the same store. */
function secondRun(store: MemorySubscriptionStore, stored: readonly StoredDialog[], laterMs: number, settings: Parameters<typeof engineHarness>[0] = {}) {
  return engineHarness(settings, { store, stored, wallStart: WALL_START + laterMs, seed: 2 });
}

describe('what is stored', () => {
  test('a confirmed dialog: Call-ID, tags, CSeqs, route set, target, our Contact, wall-clock expiry', async () => {
    const { stored, subscribe } = await firstRun();
    assert.equal(stored.length, 1);
    const d = stored[0]!;
    assert.deepEqual(d, {
      key: KEY,
      package: 'presence',
      record: RECORD,
      subscriber: SUBSCRIBER,
      callId: subscribe.callId,
      localTag: /tag=([^;]+)/.exec(subscribe.header('From') ?? '')![1],
      remoteTag: 'srv1',
      localUri: SUBSCRIBER,
      remoteUri: RECORD,
      localCSeq: 1,
      remoteCSeq: 1,
      routeSet: [ROUTE],
      remoteTarget: SERVER_TARGET,
      contact: '<sip:b2b@127.0.0.1:5060>',
      expiresAt: WALL_START + 600_000,
    });
  });

  test('nothing before the 2xx; then once per tick however many NOTIFYs came, the latest remote CSeq', async () => {
    const store = new RecordingStore();
    const h = engineHarness({}, { store });
    h.subscribe();
    const sub = h.ua.take();
    h.clock.advance(1000);
    await h.snapshots!.flush();
    assert.equal(store.writes.length, 0, 'an unconfirmed dialog is not stored');
    sub.accept();
    for (let i = 0; i < 5; i++) h.ua.notify(sub, { basic: i % 2 === 0 ? 'open' : 'closed' });
    assert.equal(store.writes.length, 0, 'the NOTIFY path writes nothing');
    assert.equal(h.snapshots!.pending, 1, 'one dirty dialog');
    h.clock.advance(1000);
    await h.snapshots!.flush();
    assert.equal(store.writes.length, 1);
    assert.equal(store.writes[0]!.upserts.length, 1);
    assert.equal(store.writes[0]!.upserts[0]!.remoteCSeq, 5);
  });

  test('a refresh raises the CSeq and the expiry; an unsubscribe deletes the snapshot', async () => {
    const { store, h, handle } = await firstRun();
    h.clock.advance(570_000);
    const refresh = h.ua.take();
    refresh.accept({ expires: 300 });
    let stored = await h.flushed(store);
    assert.equal(stored[0]!.localCSeq, 2);
    assert.equal(stored[0]!.expiresAt, WALL_START + 570_000 + 300_000);
    h.unsubscribe(handle);
    h.ua.take().accept();
    stored = await h.flushed(store);
    assert.deepEqual(stored, [], 'deleted as soon as the unsubscribe starts');
  });

  test('a dropped dialog (481 to the refresh) is deleted; its successor stored under the same key', async () => {
    const { store, h, subscribe } = await firstRun();
    h.clock.advance(570_000);
    h.ua.take().reply(481);
    assert.deepEqual(await h.flushed(store), []);
    assert.notEqual(h.advanceUntilSent(4000), undefined, 'a new dialog 2.5-3 s later');
    const next = h.ua.take();
    assert.notEqual(next.callId, subscribe.callId);
    next.accept();
    const stored = await h.flushed(store);
    assert.deepEqual(stored.map((d) => [d.key, d.callId]), [[KEY, next.callId]]);
  });

  test('without share_identical_subscriptions each dialog has a key of its own', async () => {
    const store = new RecordingStore();
    const h = engineHarness({ shareIdenticalSubscriptions: false }, { store });
    h.subscribe();
    h.subscribe();
    for (const s of h.ua.takeAll('SUBSCRIBE')) s.accept();
    const stored = await h.flushed(store);
    assert.equal(stored.length, 2);
    assert.notEqual(stored[0]!.key, stored[1]!.key);
    for (const d of stored) assert.ok(d.key.startsWith(`${KEY}\n`));
  });

  test('a final answer stores nothing and deletes nothing twice', async () => {
    const store = new RecordingStore();
    const h = engineHarness({}, { store });
    h.subscribe();
    h.ua.take().reply(403);
    h.statuses();
    assert.deepEqual(await h.flushed(store), []);
    assert.equal(store.writes.length, 0);
  });
});

describe('restart: in-dialog resume', () => {
  test('the stored dialog is refreshed in-dialog: same Call-ID and tags, CSeq above the margin, our current Contact; the NOTIFY re-delivers the state', async () => {
    const first = await firstRun();
    const d = first.stored[0]!;
    const h = secondRun(first.store, first.stored, 100_000);
    const handle = h.subscribe();
    assert.equal(h.engine.restartStats.claimed, 1);
    assert.equal(h.stateOf(handle), 'active', 'the dialog is there while its turn comes');
    assert.deepEqual(h.ua.unseen(), [], 'nothing leaves before the restart pacer gives it a turn');
    h.clock.advance(0);
    const resume = h.ua.take();
    assert.equal(resume.callId, d.callId);
    assert.equal(resume.cseq, d.localCSeq + RESUME_CSEQ_MARGIN);
    assert.equal(resume.request.uri, SERVER_TARGET, 'Request-URI = the stored remote target');
    assert.equal(resume.header('Route'), ROUTE);
    assert.equal(resume.header('To'), `<${RECORD}>;tag=srv1`);
    assert.equal(resume.header('From'), `<${SUBSCRIBER}>;tag=${d.localTag}`);
    assert.equal(resume.header('Contact'), '<sip:b2b@127.0.0.1:5060>', 'a target refresh with our Contact (RFC 6665 §3.1)');
    assert.deepEqual(resume.options?.contact, { user: 'b2b' });
    assert.equal(h.stateOf(handle), 'refreshing');
    resume.accept();
    assert.equal(h.engine.restartStats.resumed, 1);
    assert.equal(h.ua.notify(resume, { cseq: (d.remoteCSeq ?? 0) + 1, basic: 'closed' })?.status, 200);
    const status = h.status();
    assert.equal(status.state, 'active');
    assert.equal(presenceOf(status)?.tuples[0]?.basic, 'closed');
    const stored = await h.flushed(first.store);
    assert.equal(stored[0]!.localCSeq, d.localCSeq + RESUME_CSEQ_MARGIN);
    assert.equal(stored[0]!.callId, d.callId);
  });

  test('Timer N guards the NOTIFY after the resume as after any new 2xx', async () => {
    const { store, stored } = await firstRun();
    const h = secondRun(store, stored, 10_000);
    const handle = h.subscribe();
    h.clock.advance(0);
    h.ua.take().accept();
    h.clock.advance(32_000);
    assert.deepEqual(h.statuses().map(brief), [{ state: 'terminated', reason: 'timeout', code: 'B2B_ERR_NO_NOTIFY' }]);
    assert.equal(h.stateOf(handle), 'waiting');
  });

  test('a NOTIFY before the resume leaves reaches the subscriber; its CSeq is checked against the stored one', async () => {
    const first = await firstRun();
    first.h.ua.notify(first.subscribe, { basic: 'closed' });
    first.h.ua.notify(first.subscribe, { basic: 'open' });
    const stored = await first.h.flushed(first.store);
    assert.equal(stored[0]!.remoteCSeq, 3);
    const h = secondRun(first.store, stored, 5000);
    h.subscribe();
    assert.equal(h.ua.notify(first.subscribe, { cseq: 2, basic: 'closed' })?.status, 500, 'lower than the stored remote CSeq: out of order');
    assert.equal(h.ua.notify(first.subscribe, { cseq: 4, basic: 'closed' })?.status, 200);
    assert.equal(presenceOf(h.status())?.tuples[0]?.basic, 'closed');
    h.clock.advance(0);
    assert.equal(h.ua.take().cseq, 1 + RESUME_CSEQ_MARGIN, 'the resume still leaves');
  });

  test('an unsubscribe before the turn ends the stored dialog in-dialog; no resume follows', async () => {
    const first = await firstRun();
    const h = secondRun(first.store, first.stored, 5000);
    const handle = h.subscribe();
    h.unsubscribe(handle);
    const unsub = h.ua.take();
    assert.equal(unsub.expires, 0);
    assert.equal(unsub.callId, first.subscribe.callId);
    assert.equal(unsub.cseq, 1 + RESUME_CSEQ_MARGIN);
    unsub.accept();
    h.ua.notify(unsub, { state: 'terminated;reason=timeout', cseq: 9 });
    h.clock.advance(60_000);
    h.assertQuiet();
    assert.deepEqual(await h.flushed(first.store), []);
    h.assertNoLeaks();
  });

  for (const [what, answer] of [
    ['481', (s: SentRequest) => s.reply(481)],
    ['a timeout', (s: SentRequest) => s.timeout()],
  ] as const) {
    test(`${what} to the resume: a new dialog (new Call-ID, CSeq 1) at the next turn; the subscriber sees only the new state`, async () => {
      const first = await firstRun();
      const h = secondRun(first.store, first.stored, 5000);
      const handle = h.subscribe();
      h.clock.advance(0);
      answer(h.ua.take());
      assert.equal(h.engine.restartStats.fallbacks, 1);
      assert.equal(h.stateOf(handle), 'waiting');
      assert.deepEqual(h.statuses(), [], 'no status for the fallback itself');
      assert.deepEqual(await h.flushed(first.store), [], 'the stored dialog is deleted');
      h.clock.advance(1000);
      const fresh = h.ua.take();
      assert.notEqual(fresh.callId, first.subscribe.callId);
      assert.equal(fresh.cseq, 1);
      assert.equal(fresh.header('To'), `<${RECORD}>`);
      fresh.accept();
      h.ua.notify(fresh, { basic: 'open' });
      assert.equal(h.status().state, 'active');
      const stored = await h.flushed(first.store);
      assert.deepEqual(stored.map((d) => [d.key, d.callId]), [[KEY, fresh.callId]]);
    });
  }

  test('another error to the resume is handled as for any refresh (backoff, the subscriber is told)', async () => {
    const first = await firstRun();
    const h = secondRun(first.store, first.stored, 5000);
    const handle = h.subscribe();
    h.clock.advance(0);
    h.ua.take().reply(500);
    assert.equal(h.engine.restartStats.fallbacks, 0);
    assert.equal(h.stateOf(handle), 'waiting');
    assert.equal(h.statuses().length, 1);
  });

  test('an expired snapshot: a new dialog at once (paced), the stored one deleted', async () => {
    const first = await firstRun();
    const h = secondRun(first.store, first.stored, 595_000);
    const handle = h.subscribe();
    assert.equal(h.engine.restartStats.expired, 1);
    assert.equal(h.stateOf(handle), 'waiting');
    assert.deepEqual(await h.flushed(first.store), []);
    h.clock.advance(0);
    const fresh = h.ua.take();
    assert.notEqual(fresh.callId, first.subscribe.callId);
    assert.equal(fresh.cseq, 1);
  });

  test('the CSeq numbers are exhausted: a new dialog', async () => {
    const first = await firstRun();
    const worn = first.stored.map((d) => ({ ...d, localCSeq: 2 ** 31 - 10 }));
    const h = secondRun(first.store, worn, 5000);
    h.subscribe();
    h.clock.advance(0);
    assert.equal(h.ua.take().cseq, 1);
    assert.equal(h.engine.restartStats.expired, 1);
  });

  test('a subscription of another identity does not claim it', async () => {
    const first = await firstRun();
    const h = secondRun(first.store, first.stored, 5000);
    h.subscribe(RECORD, 'sip:carol@example.com');
    assert.equal(h.ua.take().cseq, 1);
    assert.equal(h.engine.restartStats.claimed, 0);
  });
});

describe('restart: snapshots nobody claims', () => {
  test('their NOTIFYs are answered 200 during resume_grace; then an unSUBSCRIBE in the stored dialog; then they are deleted', async () => {
    const first = await firstRun();
    const h = secondRun(first.store, first.stored, 5000, { resumeGrace: 30 });
    assert.equal(h.ua.notify(first.subscribe, { cseq: 2 })?.status, 200, 'not 481: it may be claimed in a moment');
    assert.equal(h.engine.restartStats.unclaimedNotifies, 1);
    h.assertQuiet();
    h.clock.advance(29_999);
    h.assertQuiet();
    h.clock.advance(1);
    const unsub = h.ua.take();
    assert.equal(unsub.expires, 0);
    assert.equal(unsub.callId, first.subscribe.callId);
    assert.equal(unsub.cseq, 1 + RESUME_CSEQ_MARGIN);
    assert.equal(unsub.header('Route'), ROUTE);
    assert.equal(h.engine.restartStats.unclaimedUnsubscribed, 1);
    assert.equal((await h.flushed(first.store)).length, 1, 'kept until the answer');
    unsub.accept();
    assert.equal(h.ua.notify(first.subscribe, { cseq: 3, state: 'terminated;reason=timeout' })?.status, 200, 'the terminating NOTIFY is absorbed');
    assert.deepEqual(await h.flushed(first.store), []);
    // A subscription now starts afresh.
    h.clock.advance(10_000);
    h.subscribe();
    assert.equal(h.ua.take().cseq, 1);
  });

  test('an expired one is deleted without a word; a terminated NOTIFY during the grace forgets one', async () => {
    const store = new RecordingStore();
    const h1 = engineHarness({}, { store });
    h1.subscribe('sip:a@example.com');
    h1.subscribe('sip:b@example.com');
    const [a, b] = h1.ua.takeAll('SUBSCRIBE');
    a!.accept({ expires: 60 });
    b!.accept();
    const stored = await h1.flushed(store);
    assert.equal(stored.length, 2);
    const h = secondRun(store, stored, 30_000, { resumeGrace: 40 });
    assert.equal(h.ua.notify(b!, { cseq: 5, state: 'terminated;reason=noresource' })?.status, 200);
    h.clock.advance(40_000);
    h.assertQuiet();
    assert.equal(h.engine.restartStats.unclaimedExpired, 1);
    assert.deepEqual(await h.flushed(store), []);
    assert.equal(h.ua.notify(b!, { cseq: 6 })?.status, 481, 'forgotten');
  });

  test('close() drops what the restart still owes; the unclaimed snapshots stay for the next start', async () => {
    const first = await firstRun();
    const h = secondRun(first.store, first.stored, 5000);
    await h.engine.close();
    h.clock.advance(120_000);
    h.assertQuiet();
    assert.equal((await h.flushed(first.store)).length, 1);
    assert.equal(h.scheduler.size, 0);
  });
});

describe('restart: pacing', () => {
  test('resumes leave max_subscribe_rate per second at most, evenly spaced, in no particular order', async () => {
    const n = 40;
    const store = new RecordingStore();
    const h1 = engineHarness({ maxSubscribeRate: 0 }, { store });
    for (let i = 0; i < n; i++) h1.subscribe(`sip:u${i}@example.com`);
    for (const s of h1.ua.takeAll('SUBSCRIBE')) s.accept();
    const stored = await h1.flushed(store);
    assert.equal(stored.length, n);
    const h = secondRun(store, stored, 5000, { maxSubscribeRate: 10 });
    for (let i = 0; i < n; i++) h.subscribe(`sip:u${i}@example.com`);
    assert.equal(h.engine.restartStats.claimed, n);
    const sent: SentRequest[] = [];
    for (let t = 0; t < 5000 && sent.length < n; t += 10) {
      h.clock.advance(10);
      sent.push(...h.ua.takeAll('SUBSCRIBE'));
    }
    assert.equal(sent.length, n);
    for (let i = 1; i < n; i++) assert.ok(sent[i]!.at - sent[i - 1]!.at >= 100, `100 ms apart at 10/s (${sent[i - 1]!.at} → ${sent[i]!.at})`);
    for (let i = 0; i + 10 < n; i++) assert.ok(sent[i + 10]!.at - sent[i]!.at >= 1000, 'never 11 within a second');
    const order = sent.map((s) => Number(/u(\d+)@/.exec(s.header('To') ?? '')![1]));
    assert.notDeepEqual(order, [...order].sort((x, y) => x - y), 'not in claim order (jitter)');
    for (const s of sent) s.accept();
    assert.equal(h.engine.restartStats.resumed, n);
  });

  test('new subscriptions during the resume wave take turns in it: together never above max_subscribe_rate', async () => {
    const n = 20;
    const store = new RecordingStore();
    const h1 = engineHarness({ maxSubscribeRate: 0 }, { store });
    for (let i = 0; i < n; i++) h1.subscribe(`sip:u${i}@example.com`);
    for (const s of h1.ua.takeAll('SUBSCRIBE')) s.accept();
    const stored = await h1.flushed(store);
    const h = secondRun(store, stored, 5000, { maxSubscribeRate: 10, maxSubscribeDelay: 0 });
    for (let i = 0; i < n; i++) h.subscribe(`sip:u${i}@example.com`);
    // Subscriptions with no stored dialog (made in the crash's last second, or new ones): 10 more.
    for (let i = 0; i < 10; i++) h.subscribe(`sip:new${i}@example.com`);
    assert.deepEqual(h.ua.unseen(), [], 'the new ones wait for their turn too');
    const sent: SentRequest[] = [];
    for (let t = 0; t < 10_000 && sent.length < n + 10; t += 10) {
      h.clock.advance(10);
      sent.push(...h.ua.takeAll('SUBSCRIBE'));
    }
    assert.equal(sent.length, n + 10);
    for (let i = 0; i + 10 < sent.length; i++) assert.ok(sent[i + 10]!.at - sent[i]!.at >= 1000, 'never 11 within a second');
    assert.equal(sent.filter((s) => /new\d+@/.test(s.header('To') ?? '')).length, 10);
  });
});
