/**
 * W5 NOTIFY storm (docs/benchmark-method.md §3): with N dialogs held, the simulator
 * sends one NOTIFY on every dialog within `spread` (1 s), as a presence server
 * does after its own restart. Measured: time until the last status message is
 * consumed (backlog drain), latency, loss, duplicates, retransmissions and
 * timeouts the SUT caused by being slow, worst event-loop delay and GC pause.
 */
import type { NotifyWindow } from '../harness/rig.js';
import type { EstablishResult } from '../sut/sut-process.js';
import { type BenchOptions, say, sleep, startRig } from './common.js';

export interface W5Result {
  n: number;
  transport: string;
  spreadMs: number;
  establish: EstablishResult;
  storm: NotifyWindow;
}

export async function runW5(o: BenchOptions): Promise<W5Result> {
  const n = o.n ?? (o.smoke ? 1000 : 100_000);
  const spreadMs = o.spreadMs ?? 1000;
  say(`W5 NOTIFY storm: N=${n}, ${o.transport}, one NOTIFY per dialog within ${spreadMs} ms`);
  const rig = await startRig(o, n);
  try {
    const establish = await rig.establish(0, n, o.window, Math.max(60_000, n * 2));
    say(`  established ${establish.established}/${n} in ${(establish.elapsedMs / 1000).toFixed(1)} s`);
    await sleep(1000);
    const storm = await rig.notifyWindow({ rate: n, durationMs: spreadMs, once: true, drainBoundMs: 60_000 });
    say(
      `  storm: ${storm.sent} NOTIFYs sent at ${Math.round(storm.achievedRate)}/s, drained in ${storm.drainMs.toFixed(0)} ms; ` +
        `p50/p99/max ${storm.sut.latency.p50Ms}/${storm.sut.latency.p99Ms}/${storm.sut.latency.maxMs} ms; lost ${storm.lost}, dup ${storm.duplicated}, ` +
        `retrans ${storm.retransmissions}, timeouts ${storm.timeouts}, non-200 ${storm.non2xx}; loop delay max ${storm.sut.loopDelayMaxMs.toFixed(1)} ms, GC max ${storm.sut.gcMaxPauseMs.toFixed(1)} ms`,
    );
    return { n, transport: o.transport, spreadMs, establish, storm };
  } finally {
    await rig.stop();
  }
}
