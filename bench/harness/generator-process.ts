/**
 * Starts the presence-server simulator (bench/load/presence-server-sim.ts), the bench's load
 * generator, as a child process on the load core.
 *
 * Pinned to one core, the simulator runs with GC settings that keep its pauses short, because a
 * paused generator is a late one, and late it sends what is due in one burst, which the SUT sees as
 * a burst (docs/latency-tail.md, "The generator on its one core"):
 * - `--single-threaded-gc`, like the SUT: V8's parallel scavenging and concurrent marking otherwise
 *   put their helper threads on that same core, and a scavenge held the pacing loop for 10–30 ms
 *   while the helpers waited for the core with it;
 * - `--max-semi-space-size=1` (MB): more scavenges, each of 1–2 ms instead of 7–13 ms, for the same
 *   CPU per NOTIFY.
 * Unpinned, V8's defaults stay.
 */
import type { SimPacing } from '../load/presence-server-sim.js';
import { ChildRpc, canPin } from './child-rpc.js';

export interface GeneratorProcessOptions {
  /** The core to pin it to (undefined: not pinned). */
  core: number | undefined;
  /** Its UDP (and TCP) port. */
  port: number;
  /** `udp`, `tcp` or `udp,tcp`. */
  transports: string;
  /** The longest Expires it grants. */
  maxExpires?: number;
  /** Run it with `STEADY_GC_FLAGS` when pinned (default true). */
  steadyGc?: boolean;
  /** More node flags (e.g. `--trace-gc-nvp`). */
  nodeArgs?: string[];
  /** How its rate runs pace their sends (default `ticks`). */
  pacing?: SimPacing;
}

/** The generator's GC flags on one core (see above). */
export const STEADY_GC_FLAGS: readonly string[] = ['--single-threaded-gc', '--max-semi-space-size=1'];

/** The node flags the simulator runs with under `opts` (`nodeArgs` last: they win over these). */
function generatorNodeArgs(opts: Pick<GeneratorProcessOptions, 'core' | 'steadyGc' | 'nodeArgs'>): string[] {
  const oneCore = opts.core !== undefined && canPin();
  const gc = oneCore && opts.steadyGc !== false ? STEADY_GC_FLAGS : [];
  return [...gc, ...(opts.nodeArgs ?? [])];
}

export function startGenerator(opts: GeneratorProcessOptions): ChildRpc {
  const script = new URL('../load/presence-server-sim.js', import.meta.url).pathname;
  const scriptArgs = ['--port', String(opts.port), '--transport', opts.transports, '--max-expires', String(opts.maxExpires ?? 3600), '--pacing', opts.pacing ?? 'ticks'];
  return new ChildRpc('presence-server-sim', script, {
    ...(opts.core !== undefined ? { core: opts.core } : {}),
    nodeArgs: generatorNodeArgs(opts),
    scriptArgs,
  });
}
