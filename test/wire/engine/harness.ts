/**
 * Wire harness for the presence engine: a real B2BUA (createPresenceB2B) on
 * 127.0.0.1 UDP with a ManualClock, a SeededRandom and a scheduler of our own
 * (so that a test can check that no timer is left), and a ScriptedSipPeer
 * playing the presence server. Network I/O is real (loopback); engine time
 * moves only with `clock.advance()`. Every wait is bounded.
 */
import assert from 'node:assert/strict';
import { type PresenceB2B, type PresenceB2BOptions, createPresenceB2B } from '../../../src/b2b/create-presence-b2b.js';
import { fromHeader, toHeader } from '../../../src/sip/codec/index.js';
import type { QsaSubscriptionHandle, StatusMessage, StatusQueue } from '../../../src/qsa/index.js';
import { ManualClock } from '../../../src/util/clock.js';
import { SeededRandom } from '../../../src/util/random.js';
import { TimerScheduler } from '../../../src/util/timer-scheduler.js';
import { type ReceivedRequest, type ReceivedResponse, ScriptedSipPeer, type ScriptedTransport } from '../../support/scripted-peer.js';
import type { NotifyOptions } from '../../support/sip-fixtures.js';

/** RFC 3261 T1 (default) and 64·T1: Timer F, Timer N, Timer J. */
export const T1 = 500;
export const SIXTY_FOUR_T1 = 64 * T1;

/** Small, test-friendly seed parameters; a test overrides what it checks. */
export const BASE_SETTINGS: PresenceB2BOptions = {
  defaultExpiration: 600,
  onErrorRetryTime: 120,
  waitForTermNotify: 10,
  resubscribeDelta: 30,
  minResubscribeTime: 30,
  refreshJitter: 0,
  userAgent: 'presence-b2b-test/1',
};

export const SUBSCRIBER = 'sip:bob@example.com';

export interface Harness {
  readonly clock: ManualClock;
  readonly scheduler: TimerScheduler;
  readonly b2b: PresenceB2B;
  readonly peer: ScriptedSipPeer;
  readonly queue: StatusQueue;
  /** Our listening UDP port (from `b2b.transport.listening()`). */
  readonly ourPort: number;
  /** Our listening port on `transport` (see HarnessOptions.transports). */
  portOf(transport: 'udp' | 'tcp'): number;
  /** `sip:<user>@127.0.0.1:<peer port>`: a numeric host, so no DNS. */
  record(user?: string): string;
  /** QSA subscribe of `record` (default alice) as SUBSCRIBER into `queue` (default the harness queue). */
  subscribe(record?: string, queue?: StatusQueue, subscriber?: string): QsaSubscriptionHandle;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** What the B2BUA listens on (127.0.0.1, ephemeral ports); default UDP only. */
  transports?: ReadonlyArray<'udp' | 'tcp'>;
  /** What the scripted peer speaks; default UDP. */
  peerTransport?: ScriptedTransport;
  /** Settings that name the peer (its port is known only once it runs), merged over `settings`. */
  peerSettings?: (peer: ScriptedSipPeer) => PresenceB2BOptions;
}

export async function startHarness(settings: PresenceB2BOptions = {}, seed = 1, options: HarnessOptions = {}): Promise<Harness> {
  const clock = new ManualClock();
  const scheduler = new TimerScheduler(clock);
  const peer = await ScriptedSipPeer.start({ transport: options.peerTransport ?? 'udp' });
  let b2b: PresenceB2B;
  try {
    b2b = await createPresenceB2B({
      ...BASE_SETTINGS,
      ...settings,
      ...options.peerSettings?.(peer),
      listen: (options.transports ?? ['udp']).map((transport) => ({ transport, host: '127.0.0.1', port: 0 })),
      clock,
      random: new SeededRandom(seed),
      scheduler,
    });
  } catch (error) {
    await peer.close();
    throw error;
  }
  const listening = b2b.transport.listening().find((l) => l.transport === 'udp');
  assert.ok(listening !== undefined, 'the B2BUA listens on UDP');
  const queue = b2b.qsa.createQueue();
  const record = (user = 'alice') => `sip:${user}@127.0.0.1:${peer.address.port}`;
  return {
    clock,
    scheduler,
    b2b,
    peer,
    queue,
    ourPort: listening.port,
    portOf(transport) {
      const socket = b2b.transport.listening().find((l) => l.transport === transport);
      assert.ok(socket !== undefined, `the B2BUA listens on ${transport}`);
      return socket.port;
    },
    record,
    subscribe: (r = record(), q = queue, subscriber = SUBSCRIBER) => b2b.qsa.subscribe({ record: r, subscriber, queue: q }),
    async close() {
      try {
        const closing = b2b.close(1000);
        clock.advance(1000);
        await closing;
      } finally {
        scheduler.close();
        await peer.close();
      }
    },
  };
}

/** Lets the event loop deliver loopback datagrams: up to `turns` setImmediate turns, until `done()`. */
export async function settle(done: () => boolean = () => false, turns = 400): Promise<boolean> {
  for (let i = 0; i < turns; i++) {
    if (done()) return true;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return done();
}

/** Polls `queue` until `count` messages have arrived (bounded). */
export async function takeMessages(queue: StatusQueue, count: number): Promise<StatusMessage[]> {
  const out: StatusMessage[] = [];
  await settle(() => {
    for (let m = queue.poll(); m !== undefined; m = queue.poll()) out.push(m);
    return out.length >= count;
  }, 2000);
  assert.equal(out.length, count, `expected ${count} status message(s), got ${out.length}: ${JSON.stringify(out.map(describe))}`);
  return out;
}

/** One message (bounded wait). */
export async function takeMessage(queue: StatusQueue): Promise<StatusMessage> {
  const [m] = await takeMessages(queue, 1);
  return m!;
}

/**
 * Waits until every message each side sent has reached the other: our
 * transport's sent/received counters equal what the peers received/sent
 * (exact counts, no fixed delay). Polled on event-loop turns, so a request
 * handed to the UA is past its (immediate, numeric-host) RFC 3263 resolution
 * before the counters are compared. Once this resolves, nothing more happens
 * until the test acts (clock or peer), so "nothing arrived" is exact. The
 * turn budget is an I/O safety net only. Pass every peer that talks to us.
 */
export async function quiesce(h: Harness, ...others: ScriptedSipPeer[]): Promise<void> {
  const peers = [h.peer, ...others];
  const stats = h.b2b.transport.stats;
  const peersReceived = () => peers.reduce((n, p) => n + p.receivedCount, 0);
  const peersSent = () => peers.reduce((n, p) => n + p.sentCount, 0);
  await new Promise<void>((resolve) => setImmediate(resolve));
  const balanced = await settle(() => stats.sent === peersReceived() && stats.received === peersSent(), 2000);
  assert.ok(
    balanced,
    `in flight: we sent ${stats.sent}, the peers received ${peersReceived()}; the peers sent ${peersSent()}, we received ${stats.received}`,
  );
}

/** Once everything in flight has arrived (quiesce): no status message in `queue`. */
export async function assertQueueEmpty(h: Harness, queue: StatusQueue = h.queue): Promise<void> {
  await quiesce(h);
  const m = queue.poll();
  assert.equal(m, undefined, `expected no status message, got ${JSON.stringify(m === undefined ? undefined : describe(m))}`);
}

/** Once everything in flight has arrived (quiesce): nothing we sent waits unread at the peers. */
export async function expectNothing(h: Harness, ...others: ScriptedSipPeer[]): Promise<void> {
  await quiesce(h, ...others);
  for (const peer of [h.peer, ...others]) assert.deepEqual(peer.queued(), [], 'nothing more arrived at the peer');
}

function describe(m: StatusMessage): object {
  return { state: m.state, reason: m.reason, retryAfter: m.retryAfter, error: m.error };
}

/** The next SUBSCRIBE the peer receives (bounded wait). */
export function expectSubscribe(peer: ScriptedSipPeer, timeoutMs = 2000): Promise<ReceivedRequest> {
  return peer.expectRequest({ method: 'SUBSCRIBE', timeoutMs });
}

/** The text of a received message. */
export function text(received: ReceivedRequest | ReceivedResponse): string {
  return received.raw.toString('utf8');
}

/** Header lines (name as sent, value) in order, from the raw octets. */
export function headerLines(received: ReceivedRequest | ReceivedResponse): Array<[string, string]> {
  const head = text(received).split('\r\n\r\n')[0]!;
  return head
    .split('\r\n')
    .slice(1)
    .map((line) => {
      const colon = line.indexOf(':');
      return [line.slice(0, colon), line.slice(colon + 1).trim()] as [string, string];
    });
}

/** The values of one header (case-insensitive name), in order. */
export function headerValues(received: ReceivedRequest | ReceivedResponse, name: string): string[] {
  const key = name.toLowerCase();
  return headerLines(received)
    .filter(([n]) => n.toLowerCase() === key)
    .map(([, v]) => v);
}

export function header(received: ReceivedRequest | ReceivedResponse, name: string): string | undefined {
  return headerValues(received, name)[0];
}

export function callIdOf(received: ReceivedRequest): string {
  return received.message.headers.get('Call-ID') ?? '';
}

export function fromTagOf(received: ReceivedRequest): string | undefined {
  return fromHeader(received.message).tag;
}

export function toTagOf(received: ReceivedRequest): string | undefined {
  return toHeader(received.message).tag;
}

/** Answers a SUBSCRIBE 200 with a To-tag, Expires and a Contact at the peer. */
export function accept(
  peer: ScriptedSipPeer,
  subscribe: ReceivedRequest,
  options: { toTag?: string; expires?: number | null; headers?: Array<readonly [string, string]> } = {},
): Promise<Buffer> {
  const headers: Array<readonly [string, string]> = [];
  const expires = options.expires === undefined ? Number(header(subscribe, 'Expires')) : options.expires;
  if (expires !== null) headers.push(['Expires', String(expires)]);
  headers.push(['Contact', `<${peer.uri('ps')}>`]);
  for (const h of options.headers ?? []) headers.push(h);
  return peer.reply(subscribe, 200, { toTag: options.toTag ?? 'srv1', headers });
}

/** Sends a NOTIFY in the dialog of `subscribe` and waits for our answer. */
export async function notify(
  h: Harness,
  subscribe: ReceivedRequest,
  options: NotifyOptions & { serverTag?: string },
): Promise<ReceivedResponse> {
  const { serverTag, ...rest } = options;
  await h.peer.sendNotify({ address: '127.0.0.1', port: h.ourPort }, { ...h.peer.notifyOptionsFor(subscribe, serverTag ?? 'srv1'), ...rest });
  return h.peer.expectResponse({ method: 'NOTIFY' });
}

/**
 * Runs a whole subscription up to `active` with a first NOTIFY (open): returns
 * the initial SUBSCRIBE and the status message it produced.
 */
export async function establish(
  h: Harness,
  options: { record?: string; expires?: number; recordRoute?: string[] } = {},
): Promise<{ handle: QsaSubscriptionHandle; subscribe: ReceivedRequest; first: StatusMessage }> {
  const handle = h.subscribe(options.record);
  const subscribe = await expectSubscribe(h.peer);
  const headers: Array<readonly [string, string]> = (options.recordRoute ?? []).map((rr) => ['Record-Route', rr] as const);
  await accept(h.peer, subscribe, { ...(options.expires !== undefined ? { expires: options.expires } : {}), headers });
  const ok = await notify(h, subscribe, { cseq: 1 });
  assert.equal(ok.message.status, 200);
  const first = await takeMessage(h.queue);
  assert.equal(first.state, 'active');
  return { handle, subscribe, first };
}

/** A handle, or what identifies its dialog once it was unsubscribed. */
export interface DialogRef {
  readonly id: string;
  readonly record: string;
  readonly subscriber: string;
}

/**
 * The state of the dialog serving `handle`; after the handle was
 * unsubscribed, of the (only) dialog left for its record and subscriber.
 */
export function stateOf(h: Harness, handle: DialogRef): string | undefined {
  const served = h.b2b.engine.dialogOf(handle.id);
  if (served !== undefined) return served.state;
  return h.b2b.engine.list().find((d) => d.record === handle.record && d.subscriber === handle.subscriber)?.state;
}

/** Waits (bounded) until the dialog of `handle` (see stateOf) is in `state`. */
export async function waitForState(h: Harness, handle: DialogRef, state: string): Promise<boolean> {
  return settle(() => stateOf(h, handle) === state, 2000);
}

/**
 * Advances the clock in `stepMs` steps until `engine.stats.subscribesSent`
 * grows (at most `maxMs`); returns the time advanced, or undefined.
 */
export function advanceUntilSubscribe(h: Harness, maxMs: number, stepMs = 1): number | undefined {
  const before = h.b2b.engine.stats.subscribesSent;
  const start = h.clock.now();
  while (h.clock.now() - start < maxMs) {
    h.clock.advance(stepMs);
    if (h.b2b.engine.stats.subscribesSent > before) return h.clock.now() - start;
  }
  return undefined;
}

/** After everything is destroyed: no dialog, and (once transactions linger out) no live timer. */
export function assertNoLeaks(h: Harness): void {
  assert.equal(h.b2b.engine.size, 0, 'no dialog left');
  // Client transactions linger T4 (Timer K), server transactions 64·T1 (Timer J).
  h.clock.advance(SIXTY_FOUR_T1 + 5000);
  assert.equal(h.scheduler.size, 0, 'no live timer left in the scheduler');
}
