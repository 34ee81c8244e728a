/**
 * Cluster takeover at the engine (issue 16, docs/cluster.md §8): dialogs
 * handed over and adopted at runtime, on the wire, with the scripted peer as
 * the presence server and one ManualClock for both B2BUAs (two "nodes" on
 * one store):
 * - handOver forgets a live dialog without a word (no unSUBSCRIBE, no
 *   refresh later), keeps its snapshot as flushed, and answers its late
 *   NOTIFYs 200 (a 481 would end the dialog the new owner resumes);
 * - adopt on the other node resumes it in-dialog when its subscription
 *   comes: stored Call-ID and tags, CSeq RESUME_CSEQ_MARGIN above the mark,
 *   the new node's Contact; adoptions are paced by max_subscribe_rate;
 * - a refresh in flight when the dialog is handed over: its 2xx brings no
 *   unSUBSCRIBE; `holds` false at refresh time hands the dialog over instead.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type PresenceB2B, type PresenceB2BOptions, createPresenceB2B } from '../../../src/b2b/create-presence-b2b.js';
import { contactsOf, cseqOf, fromHeader, toHeader } from '../../../src/sip/codec/index.js';
import { MemorySubscriptionStore } from '../../../src/store/memory-store.js';
import { RESUME_CSEQ_MARGIN } from '../../../src/store/resume-cseq.js';
import { ManualClock } from '../../../src/util/clock.js';
import { SeededRandom } from '../../../src/util/random.js';
import { TimerScheduler } from '../../../src/util/timer-scheduler.js';
import { type ReceivedRequest, ScriptedSipPeer } from '../../support/scripted-peer.js';
import { BASE_SETTINGS, SUBSCRIBER, settle, takeMessage } from './harness.js';

interface Rig {
  clock: ManualClock;
  peer: ScriptedSipPeer;
  store: MemorySubscriptionStore;
  start(extra?: PresenceB2BOptions): Promise<PresenceB2B>;
  portOf(b2b: PresenceB2B): number;
  record(user?: string): string;
  /** Advances engine time in 100 ms steps (loopback I/O let through) until the peer has a request; undefined when none within `boundMs`. */
  nextRequest(boundMs: number): Promise<ReceivedRequest | undefined>;
  /** Establishes `record` on `b2b`: its SUBSCRIBE answered 200, a NOTIFY, the active status; the snapshot flushed. */
  establish(b2b: PresenceB2B, record: string, tag: string): Promise<ReceivedRequest>;
  close(): Promise<void>;
}

async function rig(): Promise<Rig> {
  const clock = new ManualClock();
  const scheduler = new TimerScheduler(clock);
  const peer = await ScriptedSipPeer.start({ transport: 'udp' });
  const store = new MemorySubscriptionStore();
  const opened: PresenceB2B[] = [];
  const target = `sip:ps@127.0.0.1:${peer.address.port}`;
  let branch = 0;
  const nextRequest = async (boundMs: number): Promise<ReceivedRequest | undefined> => {
    for (let t = 0; t <= boundMs; t += 100) {
      await settle(() => peer.queued().length > 0, 50);
      if (peer.queued().length > 0) return peer.expectRequest({ timeoutMs: 500 });
      clock.advance(100);
    }
    return undefined;
  };
  return {
    clock,
    peer,
    store,
    async start(extra = {}) {
      const b2b = await createPresenceB2B({
        ...BASE_SETTINGS,
        listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }],
        clock,
        scheduler,
        random: new SeededRandom(opened.length + 7),
        store,
        // A cluster node resumes nothing at start: it adopts what its shards hold.
        resumeFrom: [],
        resumeGrace: 20,
        ...extra,
      });
      opened.push(b2b);
      return b2b;
    },
    portOf: (b2b) => b2b.transport.listening()[0]!.port,
    record: (user = 'alice') => `sip:${user}@127.0.0.1:${peer.address.port}`,
    nextRequest,
    async establish(b2b, record, tag) {
      const q = b2b.qsa.createQueue();
      b2b.qsa.subscribe({ record, subscriber: SUBSCRIBER, queue: q });
      const initial = await nextRequest(2000);
      assert.ok(initial !== undefined, 'the initial SUBSCRIBE');
      await peer.reply(initial, 200, { toTag: tag, headers: [['Expires', '600'], ['Contact', `<${target}>`]] });
      await peer.sendNotify(initial.from, { ...peer.notifyOptionsFor(initial, tag), cseq: 5, branch: `z9hG4bK-e${++branch}` });
      await peer.expectResponse({ method: 'NOTIFY', status: 200 });
      assert.equal((await takeMessage(q)).state, 'active');
      await b2b.flushSnapshots();
      return initial;
    },
    async close() {
      for (const b2b of opened) {
        const closing = b2b.close(1000, 'leave');
        clock.advance(1000);
        await closing;
      }
      scheduler.close();
      await peer.close();
    },
  };
}

test('handOver: no unSUBSCRIBE, no refresh later, snapshot kept, late NOTIFY 200; adopt on another node resumes in-dialog with its Contact', async () => {
  const r = await rig();
  try {
    const a = await r.start();
    const record = r.record();
    const initial = await r.establish(a, record, 'srv1');
    const [stored] = (await r.store.load()).dialogs;
    assert.ok(stored !== undefined, 'the snapshot is stored');

    assert.equal(a.engine.handOver(() => true), 1);
    assert.equal(a.engine.size, 0, 'forgotten here');
    assert.equal(a.engine.restartStats.handedOver, 1);
    // A NOTIFY the server sent before the new owner moved the target: 200, nothing delivered.
    await r.peer.sendNotify(initial.from, { ...r.peer.notifyOptionsFor(initial, 'srv1'), cseq: 6, branch: 'z9hG4bK-late' });
    await r.peer.expectResponse({ method: 'NOTIFY', status: 200 });
    assert.equal(a.engine.restartStats.handedOverNotifies, 1);
    // Past the refresh time (600 s grant): nothing at all from node A.
    assert.equal(await r.nextRequest(1000), undefined);
    r.clock.advance(700_000);
    assert.equal(await r.nextRequest(500), undefined, 'no refresh, no unSUBSCRIBE from the node that handed it over');
    await a.flushSnapshots();
    assert.deepEqual((await r.store.load()).dialogs, [stored], 'the snapshot is as flushed: the new owner resumes from it');
  } finally {
    await r.close();
  }
});

test('adopt: the subscription that comes resumes the adopted dialog in-dialog (new Contact, CSeq above the mark); nobody claims one: unSUBSCRIBE after resume_grace', async () => {
  const r = await rig();
  try {
    const a = await r.start();
    const record = r.record();
    const bobRecord = r.record('carol');
    const initial = await r.establish(a, record, 'srv1');
    await r.establish(a, bobRecord, 'srv2');
    a.engine.handOver(() => true);
    const stored = (await r.store.load()).dialogs;
    assert.equal(stored.length, 2);

    const b = await r.start({ maxSubscribeRate: 10 });
    assert.equal(b.engine.adopt(stored), 2);
    assert.equal(b.engine.adopt(stored), 0, 'adopting again takes nothing twice');
    assert.equal(b.engine.restartStats.adopted, 2);
    const q = b.qsa.createQueue();
    b.qsa.subscribe({ record, subscriber: SUBSCRIBER, queue: q });
    const resume = await r.nextRequest(1000);
    assert.ok(resume !== undefined && resume.message.method === 'SUBSCRIBE');
    const m = resume.message;
    assert.equal(m.headers.get('Call-ID'), initial.message.headers.get('Call-ID'), 'the stored Call-ID');
    assert.equal(fromHeader(m).tag, fromHeader(initial.message).tag);
    assert.equal(toHeader(m).tag, 'srv1');
    assert.equal(cseqOf(m).seq, 1 + RESUME_CSEQ_MARGIN, 'CSeq RESUME_CSEQ_MARGIN above the stored mark');
    const contact = contactsOf(m);
    assert.ok(contact !== '*' && contact[0]?.uri.includes(`:${r.portOf(b)}`), 'the new node’s Contact: a target refresh');
    await r.peer.reply(resume, 200, { toTag: 'srv1', headers: [['Expires', '600']] });
    await r.peer.sendNotify(resume.from, { ...r.peer.notifyOptionsFor(resume, 'srv1'), cseq: 7, branch: 'z9hG4bK-b1' });
    await r.peer.expectResponse({ method: 'NOTIFY', status: 200 });
    assert.equal((await takeMessage(q)).state, 'active');
    assert.equal(b.engine.restartStats.resumed, 1);

    // carol's subscription never comes to node B (deleted meanwhile): after resume_grace, Expires: 0 in its dialog.
    r.clock.advance(20_000);
    const unsubscribe = await r.nextRequest(1000);
    assert.ok(unsubscribe !== undefined);
    assert.equal(unsubscribe.message.headers.get('Expires'), '0');
    assert.equal(toHeader(unsubscribe.message).tag, 'srv2');
    await r.peer.reply(unsubscribe, 200, { toTag: 'srv2', headers: [['Expires', '0']] });
    assert.equal(b.engine.restartStats.unclaimedUnsubscribed, 1);
  } finally {
    await r.close();
  }
});

test('adopted resumes leave at max_subscribe_rate, not in a burst', async () => {
  const r = await rig();
  try {
    const a = await r.start();
    const records = ['u1', 'u2', 'u3'].map((u) => r.record(u));
    for (const [i, rec] of records.entries()) await r.establish(a, rec, `srv${i}`);
    a.engine.handOver(() => true);
    const b = await r.start({ maxSubscribeRate: 1 });
    b.engine.adopt((await r.store.load()).dialogs);
    const q = b.qsa.createQueue();
    for (const rec of records) b.qsa.subscribe({ record: rec, subscriber: SUBSCRIBER, queue: q });
    const times: number[] = [];
    const seen = new Set<string>();
    while (times.length < 3) {
      const resume = await r.nextRequest(3000);
      assert.ok(resume !== undefined, `resume ${times.length + 1}`);
      const tag = toHeader(resume.message).tag;
      assert.ok(tag !== undefined, 'in-dialog');
      // Answered, so that UDP retransmissions stop; a retransmission is not a new resume.
      await r.peer.reply(resume, 200, { toTag: tag, headers: [['Expires', '600']] });
      const callId = resume.message.headers.get('Call-ID') ?? '';
      if (seen.has(callId)) continue;
      seen.add(callId);
      times.push(r.clock.now());
    }
    assert.ok(times[1]! - times[0]! >= 900 && times[2]! - times[1]! >= 900, `a second apart at 1/s: ${times.join(', ')}`);
  } finally {
    await r.close();
  }
});

test('a refresh in flight when handed over: its 2xx brings no unSUBSCRIBE; `holds` false at refresh time hands the dialog over instead of refreshing', async () => {
  const r = await rig();
  let ours = true;
  try {
    const a = await r.start({ holds: () => ours, defaultExpiration: 120 });
    const initial = await r.establish(a, r.record(), 'srv1');
    // Refresh at 120 − 30 (resubscribe_delta) s.
    r.clock.advance(89_000);
    const refresh = await r.nextRequest(2000);
    assert.ok(refresh !== undefined && toHeader(refresh.message).tag === 'srv1', 'the refresh');
    a.engine.handOver(() => true);
    await r.peer.reply(refresh, 200, { toTag: 'srv1', headers: [['Expires', '120']] });
    assert.equal(await r.nextRequest(500), undefined, 'no unSUBSCRIBE after the late 2xx');

    const second = await r.establish(a, r.record('dave'), 'srv3');
    assert.notEqual(second.message.headers.get('Call-ID'), initial.message.headers.get('Call-ID'));
    ours = false;
    r.clock.advance(89_000);
    assert.equal(await r.nextRequest(2000), undefined, 'not ours any more: no refresh');
    assert.equal(a.engine.size, 0, 'handed over');
    assert.equal(a.engine.restartStats.handedOver, 2);
  } finally {
    await r.close();
  }
});

test('`holds` unconfirmed (the lease round late): the refresh and a new dialog wait, the dialog is kept, and both go once it is confirmed; nothing is handed over', async () => {
  const r = await rig();
  let answer: boolean | 'unconfirmed' = true;
  try {
    const a = await r.start({ holds: () => answer, defaultExpiration: 120 });
    const record = r.record();
    await r.establish(a, record, 'srv1');
    answer = 'unconfirmed';
    r.clock.advance(89_000); // the refresh is due at 120 − 30 (resubscribe_delta) s
    assert.equal(await r.nextRequest(3000), undefined, 'no refresh while unconfirmed');
    assert.equal(a.engine.size, 1, 'the dialog is kept');
    // A new subscription meanwhile: its SUBSCRIBE waits too.
    const q = a.qsa.createQueue();
    a.qsa.subscribe({ record: r.record('dave'), subscriber: SUBSCRIBER, queue: q });
    assert.equal(await r.nextRequest(3000), undefined, 'no initial SUBSCRIBE while unconfirmed');
    assert.ok(a.engine.restartStats.ownershipWaits >= 2);
    answer = true;
    const got = [await r.nextRequest(1500), await r.nextRequest(1500)];
    assert.ok(got[0] !== undefined && got[1] !== undefined, 'both go within OWNERSHIP_RECHECK_MS of the confirmation');
    const tags = got.map((m) => toHeader(m!.message).tag).sort();
    assert.deepEqual(tags, [undefined, 'srv1'].sort(), 'the in-dialog refresh and the new dialog');
    assert.equal(a.engine.restartStats.handedOver, 0);
    assert.equal(a.engine.size, 2);
  } finally {
    await r.close();
  }
});

test('a resume that moved the target is confirmed by one more refresh 64·T1 after its 2xx: a 481 then (the server dropped it when a NOTIFY to the old address timed out) makes a new dialog', async () => {
  const r = await rig();
  try {
    const a = await r.start();
    const record = r.record();
    await r.establish(a, record, 'srv1');
    a.engine.handOver(() => true);
    const b = await r.start();
    b.engine.adopt((await r.store.load()).dialogs);
    const q = b.qsa.createQueue();
    b.qsa.subscribe({ record, subscriber: SUBSCRIBER, queue: q });
    const resume = await r.nextRequest(1000);
    assert.ok(resume !== undefined);
    await r.peer.reply(resume, 200, { toTag: 'srv1', headers: [['Expires', '600']] });
    await r.peer.sendNotify(resume.from, { ...r.peer.notifyOptionsFor(resume, 'srv1'), cseq: 7, branch: 'z9hG4bK-c1' });
    await r.peer.expectResponse({ method: 'NOTIFY', status: 200 });
    assert.equal((await takeMessage(q)).state, 'active');
    assert.equal(b.engine.restartStats.resumeConfirmations, 1);
    const before = r.clock.now();
    const confirm = await r.nextRequest(40_000);
    assert.ok(confirm !== undefined && toHeader(confirm.message).tag === 'srv1', 'an in-dialog refresh');
    const after = r.clock.now() - before;
    assert.ok(after >= 64 * 500 && after <= 64 * 500 + 1100, `64·T1 + 1 s after the 2xx, not at the grant's refresh (${after} ms)`);
    await r.peer.reply(confirm, 481, {});
    const fresh = await r.nextRequest(3000);
    assert.ok(fresh !== undefined && toHeader(fresh.message).tag === undefined, 'a new dialog');
    assert.equal(b.engine.restartStats.lostAfterResume, 1);
  } finally {
    await r.close();
  }
});
