/**
 * What the W2 generator itself costs and how steadily it paces (docs/latency-tail.md, "Round 7"): the
 * presence-server simulator on core 0 sends in-dialog NOTIFYs at each rate to Kamailio's stateless sink
 * (notify-sink.cfg, core 1), which answers every one 200 at a few µs, so nothing the SUT does is in it:
 *
 *   node dist/bench/generator-cost.js [--rates 5000,10000,15000] [--step 10] [--dialogs 10000] [--port-base 6190]
 *                                     [--sim-node-args "--trace-gc --max-semi-space-size=32"] [--sim-default-gc]
 *
 * Per rate: the generator's CPU per NOTIFY (its whole process, answers read included), how many of its
 * 10 ms buckets sent late against the schedule (the k-th NOTIFY is due at k / rate) by more than 1, 2 and
 * 5 ms, the worst lateness and the largest burst, its own GC pauses (count, ms, largest), and whether
 * every NOTIFY was answered 200 without retransmission.
 */
import { startGenerator } from './harness/generator-process.js';
import { KamailioPeer, kamailioAvailable } from './harness/kamailio.js';
import { LOAD_CORE, SUT_CORE } from './harness/rig.js';
import type { RateResult, SimStats } from './load/presence-server-sim.js';
import { cpuUsBetween } from './support/cpu-usage.js';
import { nodeFlagsOf } from './support/node-flags.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i > 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

async function main(): Promise<void> {
  if (!kamailioAvailable()) throw new Error('kamailio is not installed: this bench answers with its stateless sink');
  const rates = arg('--rates', '5000,10000,15000').split(',').map(Number);
  const stepS = Number(arg('--step', '10'));
  const dialogs = Number(arg('--dialogs', '10000'));
  const base = Number(arg('--port-base', '5090'));
  const nodeArgs = nodeFlagsOf(arg('--sim-node-args', ''));
  const steadyGc = !process.argv.includes('--sim-default-gc');
  const sim = startGenerator({ core: LOAD_CORE, port: base, transports: 'udp', steadyGc, nodeArgs });
  const sink = new KamailioPeer('notify-sink', base + 4);
  try {
    await sim.call('info', {}, 20_000);
    await sink.start(SUT_CORE, 64);
    await sim.call('addFakeDialogs', { count: dialogs, host: '127.0.0.1', port: base + 4, transport: 'udp' });
    // Unmeasured: JIT and the templates' first build.
    await sim.call('rate', { rate: rates[0], durationMs: 2000, set: 'fake', state: 'active;expires=3600' }, 60_000);
    await sim.call('drain', { boundMs: 40_000 }, 50_000);
    console.log('rate/s | sent/s | µs CPU per NOTIFY | buckets late > 1 / 2 / 5 ms | worst ms | largest burst | buckets with GC, its ms, the largest | answered 200 | retransmissions');
    for (const rate of rates) {
      const s0 = await sim.call<SimStats>('stats');
      const c0 = await sim.call<NodeJS.CpuUsage>('cpu');
      const r = await sim.call<RateResult>('rate', { rate, durationMs: stepS * 1000, set: 'fake', state: 'active;expires=3600', timeline: true }, stepS * 1000 + 60_000);
      await sim.call('drain', { boundMs: 40_000 }, 50_000);
      const c1 = await sim.call<NodeJS.CpuUsage>('cpu');
      const s1 = await sim.call<SimStats>('stats');
      const g = r.timeline;
      const late = (ms: number): number => g?.lateMaxMs.filter((x) => x > ms).length ?? -1;
      const gc = (g?.gcMs ?? []).filter((x) => x > 0);
      const cpuUs = cpuUsBetween(c0, c1);
      console.log(
        [
          rate,
          Math.round(r.achievedRate),
          (cpuUs / Math.max(1, r.sent)).toFixed(1),
          `${late(1)} / ${late(2)} / ${late(5)} of ${g?.lateMaxMs.length ?? 0}`,
          Math.max(0, ...(g?.lateMaxMs ?? [])).toFixed(1),
          Math.max(0, ...(g?.burstMax ?? [])),
          `${gc.length}, ${gc.reduce((a, x) => a + x, 0).toFixed(1)}, ${Math.max(0, ...gc).toFixed(1)}`,
          `${(s1.notifyResponses['200'] ?? 0) - (s0.notifyResponses['200'] ?? 0)}/${r.sent}`,
          s1.notifyRetransmissions - s0.notifyRetransmissions,
        ].join(' | '),
      );
    }
  } finally {
    await sink.stop();
    await sim.stop(5000);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
