/**
 * One stored dialog resumed, on the wire, message by message (issue 10), with
 * the scripted peer as the presence server:
 * - a NOTIFY in the stored dialog before any subscription claims it is
 *   answered 200 and delivers nothing;
 * - the resume is an in-dialog SUBSCRIBE: the stored Call-ID, tags, route set
 *   and remote target, CSeq RESUME_CSEQ_MARGIN above the stored one, and our
 *   new Contact (the second B2BUA listens on another port: a target refresh);
 *   the NOTIFY that answers reaches the subscriber;
 * - a resume that is never answered (Timer F) falls back to a new dialog.
 * Real loopback UDP; engine time from one ManualClock shared by the runs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type PresenceB2B, createPresenceB2B } from '../../../src/b2b/create-presence-b2b.js';
import { contactsOf, cseqOf, fromHeader, toHeader } from '../../../src/sip/codec/index.js';
import { MemorySubscriptionStore } from '../../../src/store/memory-store.js';
import { RESUME_CSEQ_MARGIN } from '../../../src/store/resume-cseq.js';
import { ManualClock } from '../../../src/util/clock.js';
import { SeededRandom } from '../../../src/util/random.js';
import { TimerScheduler } from '../../../src/util/timer-scheduler.js';
import { type ReceivedRequest, ScriptedSipPeer } from '../../support/scripted-peer.js';
import { BASE_SETTINGS, SUBSCRIBER, settle, takeMessage } from './harness.js';

test('resume on the wire: 200 to a NOTIFY before the claim, the in-dialog refresh with the stored dialog and our new Contact, a timeout falls back to a new dialog', async () => {
  const clock = new ManualClock();
  const scheduler = new TimerScheduler(clock);
  const peer = await ScriptedSipPeer.start({ transport: 'udp' });
  const store = new MemorySubscriptionStore();
  const opened: PresenceB2B[] = [];
  const start = async (): Promise<PresenceB2B> => {
    const b2b = await createPresenceB2B({
      ...BASE_SETTINGS,
      listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }],
      clock,
      scheduler,
      random: new SeededRandom(opened.length + 1),
      store,
      maxSubscribeRate: 10,
      resumeGrace: 20,
    });
    opened.push(b2b);
    return b2b;
  };
  const portOf = (b2b: PresenceB2B) => b2b.transport.listening()[0]!.port;
  const record = `sip:alice@127.0.0.1:${peer.address.port}`;
  const route = `<sip:127.0.0.1:${peer.address.port};lr>`;
  const target = `sip:ps@127.0.0.1:${peer.address.port}`;
  /** Advances engine time in 100 ms steps (letting loopback I/O through) until the peer has a SUBSCRIBE. */
  const nextSubscribe = async (boundMs: number): Promise<ReceivedRequest> => {
    for (let t = 0; t <= boundMs; t += 100) {
      await settle(() => peer.queued().length > 0, 50);
      if (peer.queued().length > 0) return peer.expectRequest({ method: 'SUBSCRIBE', timeoutMs: 500 });
      clock.advance(100);
    }
    assert.fail(`no SUBSCRIBE within ${boundMs} ms of engine time`);
  };
  try {
    // ---- first run: one dialog, with a route set and a remote target; its snapshot is written at the tick
    const first = await start();
    const q1 = first.qsa.createQueue();
    first.qsa.subscribe({ record, subscriber: SUBSCRIBER, queue: q1 });
    const initial = await nextSubscribe(1000);
    await peer.reply(initial, 200, { toTag: 'srv1', headers: [['Expires', '600'], ['Contact', `<${target}>`], ['Record-Route', route]] });
    await peer.sendNotify(initial.from, { ...peer.notifyOptionsFor(initial, 'srv1'), cseq: 5, branch: 'z9hG4bK-r1' });
    await peer.expectResponse({ method: 'NOTIFY', status: 200 });
    assert.equal((await takeMessage(q1)).state, 'active');
    clock.advance(1000);
    await settle(() => false, 20);
    await first.close(1000, 'leave');
    const [stored] = (await store.load()).dialogs;
    assert.ok(stored !== undefined, 'the dialog is stored');
    assert.equal(stored.localCSeq, 1);
    assert.equal(stored.remoteCSeq, 5);

    // ---- second run, another port: a NOTIFY in the stored dialog comes before the subscription
    const second = await start();
    assert.notEqual(portOf(second), portOf(first));
    const q2 = second.qsa.createQueue();
    const secondAddress = { address: '127.0.0.1', port: portOf(second) };
    await peer.sendNotify(secondAddress, { ...peer.notifyOptionsFor(initial, 'srv1'), requestUri: `sip:b2b@127.0.0.1:${portOf(second)}`, cseq: 6, branch: 'z9hG4bK-r2' });
    await peer.expectResponse({ method: 'NOTIFY', status: 200 });
    assert.equal(second.engine.restartStats.unclaimedNotifies, 1);
    assert.equal(q2.poll(), undefined, 'nothing delivered: nobody claimed the dialog yet');

    second.qsa.subscribe({ record, subscriber: SUBSCRIBER, queue: q2 });
    assert.equal(second.engine.restartStats.claimed, 1);
    const resume = await nextSubscribe(1000);
    const m = resume.message;
    assert.equal(m.uri, target, 'Request-URI: the stored remote target');
    assert.deepEqual(m.headers.getAll('Route'), [route], 'the stored route set');
    assert.equal(m.headers.get('Call-ID'), initial.message.headers.get('Call-ID'), 'the stored Call-ID');
    assert.equal(fromHeader(m).tag, fromHeader(initial.message).tag, 'our stored tag');
    assert.equal(toHeader(m).tag, 'srv1', "the server's stored tag");
    assert.equal(cseqOf(m).seq, 1 + RESUME_CSEQ_MARGIN, 'CSeq RESUME_CSEQ_MARGIN above the stored one');
    const contact = contactsOf(m);
    assert.ok(contact !== '*' && contact[0]?.uri.includes(`:${portOf(second)}`), `our new Contact (${JSON.stringify(contact)})`);
    await peer.reply(resume, 200, { toTag: 'srv1', headers: [['Expires', '600'], ['Contact', `<${target}>`]] });
    await peer.sendNotify(resume.from, { ...peer.notifyOptionsFor(resume, 'srv1'), cseq: 7, branch: 'z9hG4bK-r3' });
    await peer.expectResponse({ method: 'NOTIFY', status: 200 });
    assert.equal((await takeMessage(q2)).state, 'active', 'the current state again, from the NOTIFY that answers');
    assert.equal(second.engine.restartStats.resumed, 1);
    clock.advance(1000);
    await settle(() => false, 20);
    await second.close(1000, 'leave');
    const [again] = (await store.load()).dialogs;
    assert.equal(again?.localCSeq, 1 + RESUME_CSEQ_MARGIN, 'the stored high-water mark follows');

    // ---- third run: the resume is never answered: Timer F, then a new dialog
    const third = await start();
    const q3 = third.qsa.createQueue();
    third.qsa.subscribe({ record, subscriber: SUBSCRIBER, queue: q3 });
    const unanswered = await nextSubscribe(1000);
    assert.equal(cseqOf(unanswered.message).seq, 1 + 2 * RESUME_CSEQ_MARGIN);
    const callId = unanswered.message.headers.get('Call-ID');
    let fresh: ReceivedRequest | undefined;
    for (let t = 0; t < 40_000 && fresh === undefined; t += 500) {
      clock.advance(500);
      await settle(() => peer.queued().length > 0, 50);
      for (const arrival of peer.discardPending()) {
        if ('message' in arrival && 'method' in arrival.message && arrival.message.method === 'SUBSCRIBE' && arrival.message.headers.get('Call-ID') !== callId) {
          fresh = arrival as ReceivedRequest;
        }
      }
    }
    assert.ok(fresh !== undefined, 'a new dialog after the resume timed out');
    assert.equal(toHeader(fresh.message).tag, undefined, 'out of dialog: no To tag');
    assert.equal(third.engine.restartStats.fallbacks, 1);
    await peer.reply(fresh, 200, { toTag: 'srv2', headers: [['Expires', '600'], ['Contact', `<${target}>`]] });
    await peer.sendNotify(fresh.from, { ...peer.notifyOptionsFor(fresh, 'srv2'), cseq: 1, branch: 'z9hG4bK-r4' });
    await peer.expectResponse({ method: 'NOTIFY', status: 200 });
    assert.equal((await takeMessage(q3)).state, 'active');
  } finally {
    for (const b2b of opened) {
      const closing = b2b.close(1000);
      clock.advance(1000);
      await closing;
    }
    scheduler.close();
    await peer.close();
  }
});
