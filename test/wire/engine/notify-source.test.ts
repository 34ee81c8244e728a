/**
 * Spoofed NOTIFYs (docs/hostile-input.md): a NOTIFY whose Call-ID and tags
 * match one of our dialogs but whose source address is none the dialog
 * expects (where its SUBSCRIBE went, its remote target, its first route) is
 * counted, published on ENGINE_CHANNEL_NOTIFY_SOURCE, and per
 * notify_source_check accepted (`log`, the default), refused with 403
 * (`reject`) or not looked at (`off`). A NOTIFY with wrong tags is never
 * delivered, whatever its source. The spoofer sends from 127.0.0.2
 * (loopback), the presence server from 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import diagnosticsChannel from 'node:diagnostics_channel';
import { test } from 'node:test';
import { parseSipMessage, type SipResponse } from '../../../src/sip/codec/index.js';
import { ENGINE_CHANNEL_NOTIFY_SOURCE, type EngineNotifySourceEvent } from '../../../src/subscription/engine-diagnostics.js';
import type { NotifySourceCheck } from '../../../src/subscription/engine-options.js';
import type { ReceivedRequest } from '../../support/scripted-peer.js';
import { buildNotify, type NotifyOptions } from '../../support/sip-fixtures.js';
import { establish, type Harness, notify, settle, startHarness, takeMessage } from './harness.js';

interface Spoofer {
  socket: Socket;
  port: number;
  responses: SipResponse[];
  close(): Promise<void>;
}

async function spoofer(): Promise<Spoofer> {
  const socket = createSocket('udp4');
  const responses: SipResponse[] = [];
  socket.on('message', (data) => responses.push(parseSipMessage(data) as SipResponse));
  socket.on('error', () => {});
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.2', () => resolve()));
  return { socket, port: socket.address().port, responses, close: () => new Promise((resolve) => socket.close(() => resolve())) };
}

/** A NOTIFY in the dialog of `subscribe`, sent from the spoofer's 127.0.0.2 socket; resolves with our answer. */
async function spoofNotify(h: Harness, s: Spoofer, subscribe: ReceivedRequest, options: NotifyOptions): Promise<SipResponse> {
  const before = s.responses.length;
  const bytes = buildNotify({
    ...h.peer.notifyOptionsFor(subscribe, 'srv1'),
    viaHost: `127.0.0.2:${s.port}`,
    branch: `z9hG4bK-spoof-${options.cseq ?? 0}-${before}`,
    contact: `<sip:ps@127.0.0.2:${s.port}>`,
    ...options,
  });
  await new Promise<void>((resolve, reject) => s.socket.send(bytes, h.ourPort, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
  assert.ok(await settle(() => s.responses.length > before, 2000), 'an answer to the spoofed NOTIFY');
  return s.responses[before]!;
}

/** Our answer is sent once the NOTIFY is handled, so by then nothing more can reach the queue from it. */
function assertNothingQueued(h: Harness): void {
  const m = h.queue.poll();
  assert.equal(m, undefined, `expected no status message, got ${JSON.stringify(m)}`);
}

async function withSpoofer(check: NotifySourceCheck | undefined, body: (h: Harness, s: Spoofer, events: EngineNotifySourceEvent[]) => Promise<void>): Promise<void> {
  const h = await startHarness(check === undefined ? {} : { notifySourceCheck: check });
  const s = await spoofer();
  const events: EngineNotifySourceEvent[] = [];
  const listener = (message: unknown) => events.push(message as EngineNotifySourceEvent);
  diagnosticsChannel.subscribe(ENGINE_CHANNEL_NOTIFY_SOURCE, listener);
  try {
    await body(h, s, events);
  } finally {
    diagnosticsChannel.unsubscribe(ENGINE_CHANNEL_NOTIFY_SOURCE, listener);
    await s.close();
    await h.close();
  }
}

test('notify_source_check log (default): a NOTIFY from an unexpected address is counted, published and accepted', async () => {
  await withSpoofer(undefined, async (h, s, events) => {
    const { subscribe } = await establish(h);
    assert.equal(h.b2b.engine.stats.notifySourceMismatches, 0, 'the server’s own NOTIFY matches');
    const answer = await spoofNotify(h, s, subscribe, { cseq: 2, subscriptionState: 'active;expires=600' });
    assert.equal(answer.status, 200);
    assert.equal(h.b2b.engine.stats.notifySourceMismatches, 1);
    assert.equal(events.length, 1);
    const event = events[0]!;
    assert.equal(event.action, 'accepted');
    assert.equal(event.source.address, '127.0.0.2');
    assert.equal(event.source.port, s.port);
    assert.equal(event.callId, subscribe.message.headers.get('Call-ID'));
    assert.deepEqual(event.expected, ['127.0.0.1']);
    assert.equal((await takeMessage(h.queue)).state, 'active', 'accepted: its status reaches the queue');
  });
});

test('notify_source_check reject: 403, nothing delivered, the dialog unchanged (the server’s next NOTIFY with the same CSeq is accepted)', async () => {
  await withSpoofer('reject', async (h, s, events) => {
    const { subscribe } = await establish(h);
    const answer = await spoofNotify(h, s, subscribe, { cseq: 7, subscriptionState: 'terminated;reason=noresource' });
    assert.equal(answer.status, 403);
    assert.match(answer.reason, /Forbidden/);
    assert.equal(h.b2b.engine.stats.notifySourceMismatches, 1);
    assert.equal(h.b2b.engine.stats.notifiesRejected, 1);
    assert.equal(events[0]?.action, 'rejected');
    assertNothingQueued(h);
    assert.equal(h.b2b.engine.list()[0]?.state, 'active', 'a spoofed terminated NOTIFY ended nothing');
    // The CSeq of the spoofed NOTIFY was not taken: the server's own NOTIFY 2 is in order.
    assert.equal((await notify(h, subscribe, { cseq: 2 })).message.status, 200);
    assert.equal((await takeMessage(h.queue)).state, 'active');
    assert.equal(h.b2b.engine.stats.notifySourceMismatches, 1);
  });
});

test('notify_source_check reject: the 403 is sent statelessly (RFC 3261 §8.2.7), so a flood of them holds nothing for Timer J', async () => {
  await withSpoofer('reject', async (h, s) => {
    const { subscribe } = await establish(h);
    const before = s.responses.length;
    const bytes = buildNotify({
      ...h.peer.notifyOptionsFor(subscribe, 'srv1'),
      viaHost: `127.0.0.2:${s.port}`,
      branch: 'z9hG4bK-spoof-again',
      contact: `<sip:ps@127.0.0.2:${s.port}>`,
      cseq: 9,
    });
    // The same NOTIFY twice (a retransmission: the same branch): answered 403 twice, each time by the engine.
    for (let i = 1; i <= 2; i++) {
      await new Promise<void>((resolve, reject) => s.socket.send(bytes, h.ourPort, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
      assert.ok(await settle(() => s.responses.length >= before + i, 2000), `answer ${i}`);
    }
    assert.deepEqual(
      s.responses.slice(before).map((r) => r.status),
      [403, 403],
    );
    assert.equal(h.b2b.engine.stats.notifiesRejected, 2, 'the retransmission was not absorbed by a kept 403');
    assertNothingQueued(h);
  });
});

test('notify_source_check off: nothing is counted', async () => {
  await withSpoofer('off', async (h, s, events) => {
    const { subscribe } = await establish(h);
    assert.equal((await spoofNotify(h, s, subscribe, { cseq: 2 })).status, 200);
    assert.equal(h.b2b.engine.stats.notifySourceMismatches, 0);
    assert.deepEqual(events, []);
    await takeMessage(h.queue);
  });
});

test('wrong tags are never delivered, from the server’s address or another (481), whatever notify_source_check says', async () => {
  for (const check of ['off', 'log', 'reject'] as const) {
    await withSpoofer(check, async (h, s) => {
      const { subscribe } = await establish(h);
      // A wrong From tag (another dialog) from the server's own address, then wrong To and From tags from elsewhere.
      assert.equal((await notify(h, subscribe, { cseq: 2, serverTag: 'other-fork' })).message.status, 481, check);
      assert.equal((await spoofNotify(h, s, subscribe, { cseq: 3, fromTag: 'guessed' })).status, 481, check);
      assert.equal((await spoofNotify(h, s, subscribe, { cseq: 4, toTag: 'guessed' })).status, 481, check);
      assertNothingQueued(h);
      assert.equal(h.b2b.engine.stats.notifySourceMismatches, 0, 'tags are checked first: nothing of ours was matched');
    });
  }
});
