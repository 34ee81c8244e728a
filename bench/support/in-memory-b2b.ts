import { QsaBroker, type StatusQueue } from '../../src/qsa/index.js';
import { callIdOf, fromHeader, parseSipMessage } from '../../src/sip/codec/index.js';
import type { SipMessage, SipRequest } from '../../src/sip/codec/message.js';
import { Rfc3263Resolver, StaticDnsClient } from '../../src/sip/resolver/index.js';
import { DatagramSources } from '../../src/sip/transport/datagram-sources.js';
import type { ReceivedFrom } from '../../src/sip/transport/types.js';
import { SipUserAgentCore } from '../../src/sip/ua/user-agent-core.js';
import { attachPresenceEngine } from '../../src/b2b/attach-presence-engine.js';
import { DialogSnapshotWriter } from '../../src/store/dialog-snapshot-writer.js';
import type { SubscriptionStore } from '../../src/store/subscription-store.js';
import { DEFAULT_ENGINE_SETTINGS, type EngineSettings } from '../../src/subscription/engine-options.js';
import { type Clock, systemClock } from '../../src/util/clock.js';
import { CryptoRandom } from '../../src/util/random.js';
import { TimerScheduler } from '../../src/util/timer-scheduler.js';
import { NOTIFY_1288 } from '../fixtures/notify-1288.js';
import { InProcessTransport } from './in-process-transport.js';

/** A SipTransport that parses what it is handed, and keeps (parsed) only the last of what it sends. */
class InMemoryTransport extends InProcessTransport {
  private lastBytes: Buffer | undefined;
  bytesSent = 0;
  /** While set, every message sent is kept here too (establishing many dialogs at once). */
  sentLog: Buffer[] | undefined;
  send(data: Buffer): void {
    this.bytesSent += data.length;
    this.lastBytes = data;
    this.sentLog?.push(data);
  }
  /** The last message sent, parsed (on demand: the benchmark's hot path only counts bytes). */
  get last(): SipMessage | undefined {
    return this.lastBytes === undefined ? undefined : parseSipMessage(this.lastBytes);
  }
  deliver(bytes: Uint8Array, source: ReceivedFrom): void {
    this.handler!(parseSipMessage(bytes), source);
  }
}

const SOURCE: ReceivedFrom = { transport: 'udp', remoteAddress: '127.0.0.1', remotePort: 5999, localAddress: '127.0.0.1', localPort: 5060 };
const TCP_SOURCE: ReceivedFrom = { ...SOURCE, transport: 'tcp', connectionId: 1 };

/**
 * The source of a datagram as the UDP transport finds it (src/sip/transport/datagram-sources.ts):
 * from a new address string each time, as dgram reports it.
 */
const udpSources = new DatagramSources('127.0.0.1', 5060);
function udpSource(): ReceivedFrom {
  return udpSources.sourceOf(['127.0.0', '.1'].join(''), 5999);
}

/** The NOTIFY of bench/fixtures/notify-1288.ts rewritten onto one of our dialogs, CSeq and branch varying. */
function notifyFactory(callId: string, localTag: string, remoteTag: string, branchPrefix = ''): () => Buffer {
  const text = NOTIFY_1288.toString('latin1');
  const [head, body] = [text.slice(0, text.indexOf('\r\n\r\n')), text.slice(text.indexOf('\r\n\r\n') + 4)];
  let cseq = 1;
  return () => {
    cseq++;
    const lines = head
      .split('\r\n')
      .map((l) => {
        if (l.startsWith('Via:')) return `Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-${branchPrefix}n${cseq}`;
        if (l.startsWith('From:')) return `From: <sip:alice@127.0.0.1:5999>;tag=${remoteTag}`;
        if (l.startsWith('To:')) return `To: <sip:bob@example.com>;tag=${localTag}`;
        if (l.startsWith('Call-ID:')) return `Call-ID: ${callId}`;
        if (l.startsWith('CSeq:')) return `CSeq: ${cseq} NOTIFY`;
        return l;
      })
      .join('\r\n');
    return Buffer.from(`${lines}\r\n\r\n${body}`, 'latin1');
  };
}

/** The presence server's 200 to `subscribe` (To tag `srv1`, Expires 3600), handed in over UDP; returns the dialog's Call-ID. */
function answerSubscribe(transport: InMemoryTransport, subscribe: SipRequest): string {
  const callId = callIdOf(subscribe);
  const via = subscribe.headers.get('via')!;
  const ok = Buffer.from(
    `SIP/2.0 200 OK\r\nVia: ${via}\r\nFrom: ${subscribe.headers.get('from')}\r\nTo: ${subscribe.headers.get('to')};tag=srv1\r\nCall-ID: ${callId}\r\nCSeq: 1 SUBSCRIBE\r\nExpires: 3600\r\nContact: <sip:alice@127.0.0.1:5999>\r\nContent-Length: 0\r\n\r\n`,
  );
  transport.deliver(ok, SOURCE);
  return callId;
}

/**
 * `clock`: a ManualClock makes a run repeatable (no timer ever fires by itself); default the system clock.
 * With `store`, the engine persists its dialogs there through a DialogSnapshotWriter, as createPresenceB2B({ store }) does.
 */
export async function createPresenceB2BOnTransport(
  options: { clock?: Clock; store?: SubscriptionStore; settings?: Partial<EngineSettings> } = {},
) {
  const clock = options.clock ?? systemClock;
  const random = new CryptoRandom();
  const scheduler = new TimerScheduler(clock);
  const transport = new InMemoryTransport();
  const resolver = new Rfc3263Resolver({ dns: new StaticDnsClient({}), random, clock });
  const ua = new SipUserAgentCore({ transport, resolver, scheduler, random });
  const broker = new QsaBroker({ clock, random });
  const snapshots = options.store === undefined ? undefined : new DialogSnapshotWriter({ store: options.store, scheduler });
  attachPresenceEngine({ ua, broker, scheduler, random, settings: { ...DEFAULT_ENGINE_SETTINGS, ...options.settings }, ...(snapshots !== undefined ? { snapshots, stored: [] } : {}) });
  return {
    transport,
    async establish(): Promise<{ queue: StatusQueue; nextNotify: () => Buffer; deliver: (bytes: Buffer) => void }> {
      const queue = broker.createQueue({ capacity: 1_000_000 });
      broker.subscribe({ record: 'sip:alice@127.0.0.1:5999', subscriber: 'sip:bob@example.com', queue });
      await new Promise((r) => setTimeout(r, 10)); // resolution is asynchronous
      const subscribe = transport.last as SipRequest;
      const callId = answerSubscribe(transport, subscribe);
      const next = notifyFactory(callId, fromHeader(subscribe).tag!, 'srv1');
      return { queue, nextNotify: next, deliver: (bytes) => transport.deliver(bytes, SOURCE) };
    },
    /**
     * `count` subscriptions into one queue, each with its own SIP dialog
     * (records `sip:alice<i>@…`), established at once (set `maxSubscribeRate: 0`
     * in `settings`, or the pacer holds them back). `deliver` hands bytes in as
     * received over UDP (the shared source of the remote address and port, as the UDP transport gives it)
     * or, with `tcp`, over one connection (no Timer J, RFC 3261 §17.2.2).
     */
    async establishMany(
      count: number,
      via: 'udp' | 'tcp' = 'udp',
    ): Promise<{ queue: StatusQueue; nextNotify: Array<() => Buffer>; deliver: (bytes: Buffer) => void }> {
      const queue = broker.createQueue({ capacity: 1_000_000 });
      const sent: Buffer[] = [];
      transport.sentLog = sent;
      for (let i = 0; i < count; i++) broker.subscribe({ record: `sip:alice${i}@127.0.0.1:5999`, subscriber: `sip:bob${i}@example.com`, queue, data: i });
      // Resolution is asynchronous: wait until every SUBSCRIBE has left (bounded).
      for (let waited = 0; sent.length < count && waited < 200; waited++) await new Promise((r) => setTimeout(r, 10));
      transport.sentLog = undefined;
      const nextNotify: Array<() => Buffer> = [];
      for (const bytes of sent) {
        const subscribe = parseSipMessage(bytes) as SipRequest;
        if (subscribe.kind !== 'request' || subscribe.method !== 'SUBSCRIBE') continue;
        const callId = answerSubscribe(transport, subscribe);
        // A branch of its own per dialog: each NOTIFY is a new server transaction (RFC 3261 §17.2.3).
        nextNotify.push(notifyFactory(callId, fromHeader(subscribe).tag!, 'srv1', `d${nextNotify.length}-`));
      }
      if (nextNotify.length !== count) throw new Error(`${nextNotify.length} of ${count} subscriptions sent their SUBSCRIBE`);
      const deliver = via === 'tcp' ? (bytes: Buffer) => transport.deliver(bytes, TCP_SOURCE) : (bytes: Buffer) => transport.deliver(bytes, udpSource());
      return { queue, nextNotify, deliver };
    },
    async close(): Promise<void> {
      await snapshots?.close();
      scheduler.close();
    },
  };
}
