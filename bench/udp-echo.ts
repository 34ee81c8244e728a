/**
 * The floor under the UDP NOTIFY path: CPU per datagram of a process that only
 * receives a 1.3 KB datagram and answers it with 400 octets (the size of a 200
 * to a NOTIFY), at a fixed rate, pinned to one core as the bench's SUT is
 * (`taskset -c 1`). Layer by layer, so that the CPU per NOTIFY of W2 can be
 * split into what Node itself costs and what our code adds
 * (docs/latency-tail.md, "Between the socket and the NOTIFY path"):
 *
 *   bare       socket.on('message', (m, r) => socket.send(reply, r.port, r.address))
 *   callback   the same with one shared send callback (Node then completes every send with a process.nextTick)
 *   transport  our UdpTransport: receive, and send through UdpTransport.send (a shared callback, as for any send without a handler)
 *   layer      our SipTransportLayer: keep-alive check, source object, parse of the NOTIFY, Via stamping, send
 *   ticks      bare, plus one process.nextTick per datagram (what the callback mode adds, measured alone)
 *
 *   npm run build && node dist/bench/udp-echo.js [--modes bare,callback,transport,layer] [--rate 10000]
 *        [--seconds 10] [--rounds 3] [--port-base 6390] [--server-node-args "..."]
 *   node dist/bench/udp-echo.js --seconds 5 --rounds 1 --server-node-args "--max-semi-space-size=256 --min-semi-space-size=256"
 *        JS heap bytes allocated per datagram by each mode (a young generation large enough that
 *        no GC runs in the window; "-" when one did): a figure the load of the machine does not move
 *
 * The runner (this process, unpinned, or on core 0) sends the datagrams (the
 * 1,288-octet NOTIFY of bench/fixtures, `rate / 1000` every millisecond, as the
 * presence-server simulator does) and counts the answers; the echo server is
 * a child on core 1. Per mode and round: the server's user and system CPU per
 * datagram answered (process.cpuUsage() around the window, V8's helper threads
 * included, as W2 counts the SUT), its other threads' share, and how many
 * answers came back. Modes alternate within each round, so that a change in
 * the machine's load hits every mode alike; give `uptime` with the figures.
 */
import { spawn } from 'node:child_process';
import { createSocket, type RemoteInfo } from 'node:dgram';
import { PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { SipTransportLayer } from '../src/sip/transport/transport-layer.js';
import { UdpTransport } from '../src/sip/transport/udp-transport.js';
import { NOTIFY_1288 } from './fixtures/notify-1288.js';
import { canPin } from './harness/child-rpc.js';
import { type ThreadTimes, threadTimes, threadTimesBetween } from './sut/thread-times.js';
import { nodeFlagsOf } from './support/node-flags.js';

const MODES = ['bare', 'callback', 'ticks', 'transport', 'layer'] as const;
type Mode = (typeof MODES)[number];

const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};

const REPLY = Buffer.alloc(400, 0x41);

interface ServerWindow {
  userUs: number;
  systemUs: number;
  received: number;
  threads: ThreadTimes | undefined;
  /** JS heap growth over the window (meaningful when no GC ran in it: `gcs` 0). */
  heapBytes: number;
  /** ArrayBuffer growth over the window (the received datagrams' memory, outside the JS heap). */
  arrayBufferBytes: number;
  gcs: number;
}

/** The echo server (child process): answers every datagram, reports its CPU between 'begin' and 'end'. */
async function serve(mode: Mode, port: number): Promise<void> {
  let received = 0;
  let close: () => Promise<void>;
  if (mode === 'bare' || mode === 'callback' || mode === 'ticks') {
    const socket = createSocket('udp4');
    const afterSend = (error: Error | null): void => {
      if (error) process.stderr.write(`send: ${error.message}\n`);
    };
    const noop = (): void => {};
    const onMessage =
      mode === 'bare'
        ? (_m: Buffer, r: RemoteInfo) => {
            received++;
            socket.send(REPLY, r.port, r.address);
          }
        : mode === 'callback'
          ? (_m: Buffer, r: RemoteInfo) => {
              received++;
              socket.send(REPLY, r.port, r.address, afterSend);
            }
          : (_m: Buffer, r: RemoteInfo) => {
              received++;
              socket.send(REPLY, r.port, r.address);
              process.nextTick(noop);
            };
    socket.on('message', onMessage);
    await new Promise<void>((resolve) => socket.bind(port, '127.0.0.1', resolve));
    close = () => new Promise((resolve) => socket.close(() => resolve()));
  } else if (mode === 'transport') {
    const transport: UdpTransport = new UdpTransport('127.0.0.1', port, {
      onDatagram(_data, address, remotePort) {
        received++;
        transport.send(REPLY, address, remotePort, undefined);
      },
      onSendError(error) {
        process.stderr.write(`send: ${error.message}\n`);
      },
      onSocketError() {},
    });
    await transport.start();
    close = () => transport.close();
  } else {
    const layer = new SipTransportLayer({ listen: [{ transport: 'udp', host: '127.0.0.1', port }] });
    layer.onMessage((_message, source) => {
      received++;
      layer.send(REPLY, { transport: 'udp', host: source.remoteAddress, port: source.remotePort }, undefined, source);
    });
    await layer.start();
    close = () => layer.close();
  }
  let cpu0 = process.cpuUsage();
  let threads0 = threadTimes();
  let received0 = 0;
  let memory0 = process.memoryUsage();
  let gcs = 0;
  new PerformanceObserver((list) => {
    gcs += list.getEntries().length;
  }).observe({ entryTypes: ['gc'] });
  process.on('message', (m: { op: string }) => {
    if (m.op === 'begin') {
      gcs = 0;
      memory0 = process.memoryUsage();
      cpu0 = process.cpuUsage();
      threads0 = threadTimes();
      received0 = received;
      process.send?.({ op: 'begun' });
    } else if (m.op === 'end') {
      const cpu = process.cpuUsage(cpu0);
      const threads = threadTimesBetween(threads0, threadTimes());
      const memory = process.memoryUsage();
      const w: ServerWindow = {
        userUs: cpu.user,
        systemUs: cpu.system,
        received: received - received0,
        threads,
        heapBytes: memory.heapUsed - memory0.heapUsed,
        arrayBufferBytes: memory.arrayBuffers - memory0.arrayBuffers,
        gcs,
      };
      process.send?.({ op: 'ended', window: w });
    } else if (m.op === 'stop') {
      void close().then(() => process.exit(0));
    }
  });
  process.send?.({ op: 'ready' });
}

interface Result {
  mode: Mode;
  round: number;
  sent: number;
  answered: number;
  userUsPer: number;
  systemUsPer: number;
  cpuUsPer: number;
  otherThreadsUsPer: number | undefined;
  /** JS heap bytes allocated per datagram, when no GC ran in the window (else undefined). */
  heapBytesPer: number | undefined;
  gcs: number;
}

async function runOne(mode: Mode, round: number, rate: number, seconds: number, port: number): Promise<Result> {
  const nodeArgs = nodeFlagsOf(option('--server-node-args'));
  const argv = [process.execPath, ...nodeArgs, fileURLToPath(import.meta.url), '--serve', mode, '--port', String(port)];
  const [cmd, cmdArgs] = canPin() ? ['taskset', ['-c', '1', ...argv]] : [argv[0]!, argv.slice(1)];
  const child = spawn(cmd, cmdArgs as string[], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = (op: string) =>
    new Promise<{ op: string; window?: ServerWindow }>((resolve) => {
      const on = (m: { op: string; window?: ServerWindow }) => {
        if (m.op === op) {
          child.off('message', on);
          resolve(m);
        }
      };
      child.on('message', on);
    });
  await next('ready');
  const client = createSocket('udp4');
  let answered = 0;
  client.on('message', () => answered++);
  await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
  const send = (count: number) => {
    for (let i = 0; i < count; i++) client.send(NOTIFY_1288, port, '127.0.0.1');
  };
  // Like the simulator: rate/1000 datagrams every millisecond, catching up on late timers.
  const pace = async (ms: number): Promise<number> => {
    const t0 = performance.now();
    let sent = 0;
    while (performance.now() - t0 < ms) {
      const due = Math.floor(((performance.now() - t0) * rate) / 1000);
      if (due > sent) {
        send(due - sent);
        sent = due;
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    return sent;
  };
  await pace(2000); // warm-up: compile the server's path, unmeasured
  await new Promise((r) => setTimeout(r, 200));
  child.send({ op: 'begin' });
  await next('begun');
  const answered0 = answered;
  const sent = await pace(seconds * 1000);
  await new Promise((r) => setTimeout(r, 200));
  child.send({ op: 'end' });
  const w = (await next('ended')).window!;
  child.send({ op: 'stop' });
  await new Promise((r) => child.once('exit', r));
  client.close();
  const n = Math.max(1, w.received);
  return {
    mode,
    round,
    sent,
    answered: answered - answered0,
    userUsPer: w.userUs / n,
    systemUsPer: w.systemUs / n,
    cpuUsPer: (w.userUs + w.systemUs) / n,
    otherThreadsUsPer: w.threads === undefined ? undefined : (w.threads.otherRunMs * 1000) / n,
    heapBytesPer: w.gcs === 0 ? w.heapBytes / n : undefined,
    gcs: w.gcs,
  };
}

async function main(): Promise<void> {
  if (args.includes('--serve')) {
    await serve(option('--serve') as Mode, Number(option('--port')));
    return;
  }
  const modes = (option('--modes')?.split(',') ?? ['bare', 'callback', 'transport', 'layer']) as Mode[];
  for (const m of modes) if (!MODES.includes(m)) throw new Error(`unknown mode ${m} (${MODES.join(', ')})`);
  const rate = Number(option('--rate') ?? 10_000);
  const seconds = Number(option('--seconds') ?? 10);
  const rounds = Number(option('--rounds') ?? 3);
  const port = Number(option('--port-base') ?? 6390) + 7;
  const results: Result[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const mode of modes) {
      const r = await runOne(mode, round, rate, seconds, port);
      results.push(r);
      console.log(
        `${mode.padEnd(9)} round ${round}: ${r.cpuUsPer.toFixed(1)} µs CPU per datagram (user ${r.userUsPer.toFixed(1)}, system ${r.systemUsPer.toFixed(1)}, other threads ${r.otherThreadsUsPer?.toFixed(2) ?? '-'}); ${r.gcs} GC; heap ${r.heapBytesPer?.toFixed(0) ?? '-'} B per datagram; sent ${r.sent}, answered ${r.answered}`,
      );
    }
  }
  console.log(`\nmedian of ${rounds} rounds at ${rate}/s for ${seconds} s, server ${canPin() ? 'on core 1 (taskset)' : 'unpinned'}:`);
  for (const mode of modes) {
    const of = results.filter((r) => r.mode === mode);
    const med = (f: (r: Result) => number) => {
      const v = of.map(f).sort((a, b) => a - b);
      return v[Math.floor(v.length / 2)]!;
    };
    console.log(`  ${mode.padEnd(9)} ${med((r) => r.cpuUsPer).toFixed(1)} µs (user ${med((r) => r.userUsPer).toFixed(1)}, system ${med((r) => r.systemUsPer).toFixed(1)})`);
  }
}

await main();
