/**
 * The cost of sending one datagram through our UDP transport (UdpTransport.send,
 * the way every response and every request leaves over UDP), to a socket of a
 * child process that discards it.
 *
 *   npm run build && node dist/bench/udp-send.js              CPU µs per send (best and median of 8 rounds)
 *   valgrind --tool=callgrind --dump-before=uv_os_getpriority node --single-threaded dist/bench/udp-send.js --once 1000
 *       instructions per send in user space (the second dump), whatever the load
 *
 * CPU time includes the kernel's loopback delivery and is inflated on a busy
 * machine; the instruction count is not, but leaves the kernel out.
 *
 *   node dist/bench/udp-send.js --spinning-sink
 *       the same with a sink that never sleeps in epoll_wait (a setImmediate loop): whether
 *       waking the receiver is part of what a send costs (docs/latency-tail.md, "The 20,000/s
 *       line across the standard runs")
 */
import { fork } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { getPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { UdpTransport } from '../src/sip/transport/udp-transport.js';

const args = process.argv.slice(2);

async function sink(): Promise<void> {
  let spinning = args.includes('--spinning');
  if (spinning) {
    const spin = (): void => {
      if (spinning) setImmediate(spin);
    };
    spin();
  }
  const socket = createSocket('udp4');
  socket.on('message', () => {});
  socket.bind(0, '127.0.0.1', () => process.send?.(socket.address().port));
  process.on('message', () => {
    spinning = false;
    socket.close();
    process.exit(0);
  });
}

async function main(): Promise<void> {
  const once = args.includes('--once');
  const positional = args.filter((a) => !a.startsWith('--'));
  const n = Number(positional[0] ?? (once ? 1000 : 20_000));
  const child = fork(fileURLToPath(import.meta.url), ['--sink', ...(args.includes('--spinning-sink') ? ['--spinning'] : [])]);
  const port = await new Promise<number>((resolve) => child.once('message', (m) => resolve(m as number)));
  let errors = 0;
  const transport = new UdpTransport('127.0.0.1', 0, {
    onDatagram() {},
    onSendError() {
      errors++;
    },
    onSocketError() {
      errors++;
    },
  });
  await transport.start();
  const data = Buffer.alloc(420, 0x41); // about a 200 OK to a NOTIFY
  const tick = () => new Promise((resolve) => setImmediate(resolve));
  const burst = async (count: number): Promise<void> => {
    for (let i = 0; i < count; i++) {
      transport.send(data, '127.0.0.1', port, undefined);
      // Let the send callbacks run, as the event loop would between received datagrams.
      if ((i & 63) === 63) await tick();
    }
    await tick();
  };
  await burst(3000);
  if (once) {
    getPriority(); // callgrind dump marker
    await burst(n);
    getPriority();
    console.log(`UdpTransport.send: ${n} datagrams sent between the markers`);
  } else {
    const rounds: Array<{ cpu: number; system: number }> = [];
    for (let r = 0; r < 8; r++) {
      const before = process.cpuUsage();
      await burst(n);
      const used = process.cpuUsage(before);
      rounds.push({ cpu: (used.user + used.system) / n, system: used.system / n });
    }
    rounds.sort((a, b) => a.cpu - b.cpu);
    const sinkKind = args.includes('--spinning-sink') ? 'a spinning sink' : 'a sink asleep between datagrams';
    console.log(
      `UdpTransport.send to ${sinkKind}: best ${rounds[0]!.cpu.toFixed(2)} µs, median ${rounds[4]!.cpu.toFixed(2)} µs CPU per datagram ` +
        `(of which system ${rounds[4]!.system.toFixed(2)} µs; ${errors} errors)`,
    );
  }
  child.send('stop');
  await transport.close();
}

if (args.includes('--sink')) await sink();
else await main();
