/**
 * Memory held per completed UDP server transaction waiting out Timer J (64·T1 = 32 s,
 * RFC 3261 §17.2.2): N NOTIFYs, each on a transaction of its own, answered 200 at once
 * (as the engine does), none expired. Prints the JS heap and the ArrayBuffer memory
 * (kept finals) left alive after a full GC, per transaction.
 *   npm run build && node --expose-gc dist/bench/timer-j-heap.js [N]   (default 320,000: 10,000/s for 32 s)
 */
import { parseSipMessage } from '../src/sip/codec/parser.js';
import type { SipRequest } from '../src/sip/codec/message.js';
import { TransactionLayer } from '../src/sip/transaction/transaction-layer.js';
import type { MessageHandler, ReceivedFrom, SipTransport } from '../src/sip/transport/types.js';
import { ManualClock } from '../src/util/clock.js';
import { SeededRandom } from '../src/util/random.js';
import { TimerScheduler } from '../src/util/timer-scheduler.js';

const n = Number(process.argv[2] ?? 320_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

let handler: MessageHandler | undefined;
const transport: SipTransport = {
  onMessage: (h) => {
    handler = h;
  },
  send: () => undefined,
  chooseTransport: () => 'udp',
  sentBy: () => ({ host: '127.0.0.1', port: 5060 }),
  listening: () => [{ transport: 'udp', host: '127.0.0.1', port: 5060 }],
  close: async () => undefined,
};
const clock = new ManualClock();
const layer = new TransactionLayer({ transport, scheduler: new TimerScheduler(clock), random: new SeededRandom(1) });
layer.onRequest((_request, _source, transaction) => transaction?.respondBodyless(200, 'OK', undefined, []));
const source: ReceivedFrom = { transport: 'udp', remoteAddress: '192.0.2.10', remotePort: 5060, localAddress: '127.0.0.1', localPort: 5060 };

function notify(i: number): SipRequest {
  const text =
    `NOTIFY sip:b2b@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK${(1e9 + i).toString(36)}x7d2;rport\r\n` +
    `Max-Forwards: 70\r\nFrom: <sip:alice@example.com>;tag=f${i % 10_000}\r\nTo: <sip:b2b@example.org>;tag=t${i % 10_000}\r\n` +
    `Call-ID: c${i % 10_000}@example.com\r\nCSeq: ${2 + Math.floor(i / 10_000)} NOTIFY\r\nEvent: presence\r\nSubscription-State: active;expires=3600\r\nContent-Length: 0\r\n\r\n`;
  return parseSipMessage(text) as SipRequest;
}

function held(): { heap: number; arrayBuffers: number } {
  gc!();
  gc!();
  const usage = process.memoryUsage();
  return { heap: usage.heapUsed, arrayBuffers: usage.arrayBuffers };
}

// Warm the code up (and let those transactions be) before the baseline.
for (let i = 0; i < 2000; i++) handler!(notify(n + i), source);
const before = held();
for (let i = 0; i < n; i++) handler!(notify(i), source);
const after = held();
const stats = layer.stats();
if (stats.activeServerTransactions !== n + 2000) throw new Error(`expected ${n + 2000} kept transactions, found ${stats.activeServerTransactions}`);
const heap = (after.heap - before.heap) / n;
const buffers = (after.arrayBuffers - before.arrayBuffers) / n;
console.log(
  `${n} kept transactions: JS heap ${heap.toFixed(1)} B, ArrayBuffers ${buffers.toFixed(1)} B, total ${(heap + buffers).toFixed(1)} B per transaction ` +
    `(${((after.heap - before.heap) / 1e6).toFixed(1)} MB heap, ${((after.arrayBuffers - before.arrayBuffers) / 1e6).toFixed(1)} MB buffers)`,
);
layer.close();
