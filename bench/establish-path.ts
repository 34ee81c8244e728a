/**
 * The cost of establishing a presence subscription through presence-b2b's own
 * code, without the kernel: `qsa.subscribe()`, the resolution of the record,
 * the SUBSCRIBE built, serialized and sent (the client transaction), its 200
 * parsed and matched, the first NOTIFY (1.3 KB with the PIDF of
 * bench/load/pidf-body.ts, as the simulator sends) parsed, checked, answered
 * and turned into the status message the consumer takes from the queue. The
 * presence server is played in the same process between the measured parts
 * (its work is not counted); the clock is a ManualClock, so no timer fires
 * unless the run moves it.
 *
 *   node dist/bench/establish-path.js [N]      CPU µs per establishment (best and median of 5 rounds of N)
 *   node --expose-gc --max-semi-space-size=256 --min-semi-space-size=256 dist/bench/establish-path.js --alloc [N]
 *       bytes allocated per establishment (rounds with no GC), and what each held
 *       subscription keeps after full GCs once Timer J and Timer K have let the
 *       transactions go (heap, ArrayBuffer, and RSS)
 *   node dist/bench/establish-path.js --once [N]
 *       one round of N after the warm-up, with os.getPriority() called just before and just
 *       after each measured part: bench/callgrind-establish.sh counts the instructions there
 *   node dist/bench/establish-path.js --alloc-profile [N]
 *       where those bytes are allocated: V8's sampling heap profiler with the objects the
 *       GC collected kept in (what --heap-prof leaves out), by function, self and inclusive
 *
 * Environment: ESTABLISH_PROFILE_OUT=FILE keeps the allocation profile (JSON);
 * ESTABLISH_SNAPSHOT_JUST=FILE / ESTABLISH_SNAPSHOT_REST=FILE write heap snapshots
 * just after the held block and at rest (for bench/heap-owners.ts).
 *
 * CPU time is inflated when the machine is busy; the byte counts are not.
 */
import { getPriority } from 'node:os';
import { writeHeapSnapshot } from 'node:v8';
import { QsaBroker, type StatusQueue } from '../src/qsa/index.js';
import { attachPresenceEngine } from '../src/b2b/attach-presence-engine.js';
import { Rfc3263Resolver, StaticDnsClient } from '../src/sip/resolver/index.js';
import type { ReceivedFrom } from '../src/sip/transport/types.js';
import { SipUserAgentCore } from '../src/sip/ua/user-agent-core.js';
import { parseSipMessage } from '../src/sip/codec/index.js';
import { DEFAULT_ENGINE_SETTINGS } from '../src/subscription/engine-options.js';
import { ManualClock } from '../src/util/clock.js';
import { CryptoRandom } from '../src/util/random.js';
import { TimerScheduler } from '../src/util/timer-scheduler.js';
import { pidfBody } from './load/pidf-body.js';
import { InProcessTransport } from './support/in-process-transport.js';
import { allocationProfile } from './support/allocation-profile.js';
import { roundsWithoutGc } from './support/rounds-without-gc.js';

const args = process.argv.slice(2);
const mode = args.includes('--alloc') ? 'alloc' : args.includes('--alloc-profile') ? 'profile' : args.includes('--once') ? 'once' : 'cpu';
/** --once: os.getPriority() around each measured part of one round, the markers bench/callgrind-establish.sh dumps at. */
let markers = false;
const positional = args.filter((a) => !a.startsWith('--'));
const N = Number(positional[0] ?? (mode === 'alloc' ? 2_000 : 5_000));

const PEER_PORT = 5999;
const SOURCE: ReceivedFrom = { transport: 'udp', remoteAddress: '127.0.0.1', remotePort: PEER_PORT, localAddress: '127.0.0.1', localPort: 5060 };

/** Sends are kept (as bytes) for the peer; received bytes are parsed as the UDP transport does. */
class CapturingTransport extends InProcessTransport {
  sent: Buffer[] = [];
  send(data: Buffer): void {
    this.sent.push(data);
  }
  deliver(bytes: Buffer): void {
    // A fresh copy, as a datagram read from a socket is its own memory; one source object for every
    // datagram from the peer, as the UDP transport shares it (src/sip/transport/datagram-sources.ts).
    this.handler!(parseSipMessage(Buffer.from(bytes)), SOURCE);
  }
}

/** The value of header `name` (first line only) in the head of `text`. */
function header(text: string, name: string): string {
  const at = text.indexOf(`\r\n${name}: `);
  if (at < 0) throw new Error(`no ${name} in ${text.slice(0, 200)}`);
  const start = at + name.length + 4;
  return text.slice(start, text.indexOf('\r\n', start));
}

let peerSeq = 0;

/** The presence server's 200 and first NOTIFY for one initial SUBSCRIBE (as bench/load/presence-server-sim.ts answers). */
function answer(subscribe: Buffer): [Buffer, Buffer] {
  const text = subscribe.toString('latin1');
  const via = header(text, 'Via');
  const from = header(text, 'From');
  const to = header(text, 'To');
  const callId = header(text, 'Call-ID');
  const cseq = header(text, 'CSeq');
  const contact = header(text, 'Contact');
  const target = contact.slice(contact.indexOf('<') + 1, contact.indexOf('>'));
  const record = to.slice(to.indexOf('<') + 1, to.indexOf('>'));
  const tag = `ps${(peerSeq++).toString(36)}`;
  const self = `Contact: <sip:ps@127.0.0.1:${PEER_PORT};transport=udp>\r\n`;
  const ok =
    `SIP/2.0 200 OK\r\nVia: ${via}\r\nFrom: ${from}\r\nTo: ${to};tag=${tag}\r\nCall-ID: ${callId}\r\nCSeq: ${cseq}\r\n` +
    `${self}Expires: 3600\r\nContent-Length: 0\r\n\r\n`;
  const body = pidfBody(record, peerSeq, 0n, true);
  const notify =
    `NOTIFY ${target} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${PEER_PORT};branch=z9hG4bK-e${peerSeq.toString(36)};rport\r\n` +
    `Max-Forwards: 70\r\nFrom: <${record}>;tag=${tag}\r\nTo: ${from.replace(/;tag=.*/, '')};tag=${from.slice(from.indexOf(';tag=') + 5)}\r\n` +
    `Call-ID: ${callId}\r\nCSeq: 1 NOTIFY\r\n${self}Event: presence\r\nSubscription-State: active;expires=3600\r\n` +
    `Content-Type: application/pidf+xml\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  return [Buffer.from(ok, 'latin1'), Buffer.from(notify, 'utf8')];
}

interface Rig {
  clock: ManualClock;
  scheduler: TimerScheduler;
  queue: StatusQueue;
  /** Establishes users [from, to); returns the µs of process CPU and the heap bytes allocated in the measured parts (no GC assumed). */
  establish(from: number, to: number): Promise<{ cpuUs: number; heapBytes: number; arrayBytes: number }>;
}

function createRig(): Rig {
  const clock = new ManualClock();
  const random = new CryptoRandom();
  const scheduler = new TimerScheduler(clock);
  const transport = new CapturingTransport();
  const resolver = new Rfc3263Resolver({ dns: new StaticDnsClient({}), random, clock });
  const ua = new SipUserAgentCore({ transport, resolver, scheduler, random });
  const broker = new QsaBroker({ clock, random });
  attachPresenceEngine({ ua, broker, scheduler, random, settings: { ...DEFAULT_ENGINE_SETTINGS, maxSubscribeRate: 0 } });
  const queue = broker.createQueue({ capacity: 1_000_000 });
  let active = 0;
  const drain = (): void => {
    for (let m = queue.poll(); m !== undefined; m = queue.poll()) if (m.state === 'active') active++;
  };
  const measured = async (part: () => Promise<void> | void, into: { cpuUs: number; heapBytes: number; arrayBytes: number }) => {
    const m0 = process.memoryUsage();
    const c0 = process.cpuUsage();
    if (markers) getPriority();
    await part();
    if (markers) getPriority();
    const c = process.cpuUsage(c0);
    const m1 = process.memoryUsage();
    into.cpuUs += c.user + c.system;
    into.heapBytes += m1.heapUsed - m0.heapUsed;
    into.arrayBytes += m1.arrayBuffers - m0.arrayBuffers;
  };
  return {
    clock,
    scheduler,
    queue,
    async establish(from, to) {
      const out = { cpuUs: 0, heapBytes: 0, arrayBytes: 0 };
      const want = active + (to - from);
      transport.sent = [];
      await measured(async () => {
        for (let i = from; i < to; i++) broker.subscribe({ record: `sip:user${i}@127.0.0.1:${PEER_PORT}`, subscriber: `sip:w${i}@b2b.bench`, queue, data: i });
        // The resolution of each record finishes on the microtask queue: the SUBSCRIBEs leave then.
        await new Promise((r) => setImmediate(r));
      }, out);
      const subscribes = transport.sent;
      transport.sent = [];
      if (subscribes.length !== to - from) throw new Error(`${subscribes.length} SUBSCRIBEs sent for ${to - from} subscriptions`);
      const answers = subscribes.map(answer);
      await measured(() => {
        for (const [ok, notify] of answers) {
          transport.deliver(ok);
          transport.deliver(notify);
        }
        drain();
      }, out);
      if (active !== want) throw new Error(`${active} active, ${want} expected`);
      return out;
    },
  };
}

async function main(): Promise<void> {
  const rig = createRig();
  let next = 0;
  /** Establishes `count` more users. */
  const more = (count: number) => {
    const from = next;
    next += count;
    return rig.establish(from, next);
  };
  // Warm-up: the code paths optimised, the maps past their first growths.
  await more(5_000);
  if (mode === 'profile') {
    await allocationProfile(() => more(N).then(() => undefined), N, 'establishment', process.env.ESTABLISH_PROFILE_OUT);
    return;
  }
  if (mode === 'once') {
    // A full GC first (with --expose-gc, as bench/callgrind-establish.sh runs it): without it the
    // measured round met a GC forced by the external memory of the warm-up (a scavenge or a whole
    // mark-compact, landing in either part), which made the counts of the same code differ by a third.
    (globalThis as { gc?: () => void }).gc?.();
    // That full GC throws optimised code away (V8: "marking dependent code for deoptimization,
    // reason: weak objects", about 40 functions here), and the measured round then counted the
    // recompilation of about 80 functions on the main thread (node runs --single-threaded under
    // callgrind) in whichever part it fell. A second, shorter warm-up after the GC compiles them
    // again first (issue 11, docs/establishment.md §12.4).
    await more(2_000);
    console.log('measured part: begin');
    markers = true;
    await more(N);
    markers = false;
    console.log('measured part: end');
    console.log(`establishment path: ${N} establishments measured once (markers: os.getPriority() around each measured part)`);
    return;
  }
  if (mode === 'cpu') {
    const rounds: number[] = [];
    const armed0 = rig.scheduler.armedCount;
    for (let r = 0; r < 5; r++) {
      const out = await more(N);
      rounds.push(out.cpuUs / N);
    }
    rounds.sort((a, b) => a - b);
    console.log(`establishment path (in memory, ${N} per round, ${next} held at the end): best ${rounds[0]!.toFixed(1)} µs, median ${rounds[2]!.toFixed(1)} µs CPU per establishment`);
    // Load-independent: timers put on the scheduler's heap per establishment, and what the heap holds
    // (cancelled entries wait there until they come to the top or the heap is compacted).
    console.log(
      `scheduler: ${((rig.scheduler.armedCount - armed0) / (5 * N)).toFixed(2)} timers armed per establishment; ` +
        `heap ${rig.scheduler.heapEntries} entries for ${rig.scheduler.size} live timers at the end`,
    );
    return;
  }
  const results = await roundsWithoutGc(N, () => more(N));
  const best = results[0];
  if (best === undefined) console.log('every round had a GC: run with --max-semi-space-size=256 --min-semi-space-size=256 or a smaller N');
  else console.log(`establishment allocation (${N} per round, ${results.length} rounds without GC): ${best.heap.toFixed(0)} B of JS heap + ${best.external.toFixed(0)} B of ArrayBuffer per establishment`);
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return;
  // What a held subscription keeps at rest: a block of HELD more, then Timer J (32 s) and Timer K (5 s) let the transactions go.
  const HELD = 20_000;
  const settle = async () => {
    rig.clock.advance(40_000);
    await new Promise((r) => setImmediate(r));
    for (let k = 0; k < 3; k++) gc();
    await new Promise((r) => setImmediate(r));
    return process.memoryUsage();
  };
  const before = await settle();
  for (let from = next; from < next + HELD; from += 1000) await rig.establish(from, from + 1000);
  next += HELD;
  // Just after, with every transaction still waiting out its timer (the burst's survivors).
  for (let k = 0; k < 3; k++) gc();
  const just = process.memoryUsage();
  console.log(
    `kept per establishment just after (transactions in Timer J/K, after full GCs): ${((just.heapUsed - before.heapUsed) / HELD).toFixed(0)} B of JS heap, ` +
      `${((just.arrayBuffers - before.arrayBuffers) / HELD).toFixed(0)} B of ArrayBuffer`,
  );
  if (process.env.ESTABLISH_SNAPSHOT_JUST) writeHeapSnapshot(process.env.ESTABLISH_SNAPSHOT_JUST);
  const after = await settle();
  if (process.env.ESTABLISH_SNAPSHOT_REST) writeHeapSnapshot(process.env.ESTABLISH_SNAPSHOT_REST);
  const per = (k: 'heapUsed' | 'arrayBuffers' | 'rss' | 'heapTotal') => ((after[k] - before[k]) / HELD).toFixed(0);
  console.log(
    `kept per held subscription at rest (${HELD} more, after Timer J/K and full GCs): ${per('heapUsed')} B of JS heap ` +
      `(${per('heapTotal')} B committed), ${per('arrayBuffers')} B of ArrayBuffer, ${per('rss')} B of RSS`,
  );
}

await main();
