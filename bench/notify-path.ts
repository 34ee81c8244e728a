/**
 * CPU per NOTIFY through presence-b2b's own code, without the kernel: the
 * real codec, transaction layer, UA core, engine, PIDF reader and QSA queue,
 * over an in-memory transport that parses what it is given and drops what it
 * sends (the transactions serialize it, as for the UDP transport). One dialog, N
 * NOTIFYs of the 1.3 KB kind (docs/benchmark-method.md §6.2), each a new transaction.
 *
 *   npm run build && node dist/bench/notify-path.js [N]
 */
import { createPresenceB2BOnTransport } from './support/in-memory-b2b.js';

const N = Number(process.argv[2] ?? 20_000);

async function main(): Promise<void> {
  const harness = await createPresenceB2BOnTransport();
  const { queue, nextNotify, deliver } = await harness.establish();
  // Warm-up, then the measured rounds; the NOTIFY bytes are made before each round.
  for (let i = 0; i < 5000; i++) {
    deliver(nextNotify());
    queue.poll();
  }
  const rounds: number[] = [];
  for (let r = 0; r < 5; r++) {
    const batch = Array.from({ length: N }, nextNotify);
    const before = process.cpuUsage();
    for (let i = 0; i < N; i++) {
      deliver(batch[i]!);
      if (queue.poll() === undefined) throw new Error('a NOTIFY produced no status message');
    }
    const used = process.cpuUsage(before);
    rounds.push((used.user + used.system) / N);
  }
  rounds.sort((a, b) => a - b);
  console.log(`NOTIFY path (in memory, ${N} per round): best ${rounds[0]!.toFixed(1)} µs, median ${rounds[2]!.toFixed(1)} µs CPU per NOTIFY`);
  await harness.close();
}

await main();
