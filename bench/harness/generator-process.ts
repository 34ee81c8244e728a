/**
 * Starts the presence-server simulator (bench/load/presence-server-sim.ts), the bench's load
 * generator, as a child process on the load core.
 *
 * Pinned to one core, the simulator runs like the SUT with `--single-threaded-gc`: V8's parallel
 * scavenging and concurrent marking otherwise put their helper threads on that same core, and a
 * scavenge that should take 2–3 ms held the pacing loop for 10–30 ms while the helpers waited for the
 * core with it. Late, the generator then sends what is due in one burst, which the SUT sees as a
 * burst (docs/latency-tail.md, "The generator's GC on its one core"). Unpinned, V8's defaults stay.
 */
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
  /** Run it with `--single-threaded-gc` when pinned (default true). */
  singleThreadedGc?: boolean;
  /** More node flags (e.g. `--trace-gc-nvp`). */
  nodeArgs?: string[];
}

/** The node flags the simulator runs with under `opts`. */
export function generatorNodeArgs(opts: Pick<GeneratorProcessOptions, 'core' | 'singleThreadedGc' | 'nodeArgs'>): string[] {
  const oneCore = opts.core !== undefined && canPin();
  const gc = oneCore && opts.singleThreadedGc !== false ? ['--single-threaded-gc'] : [];
  return [...gc, ...(opts.nodeArgs ?? [])];
}

export function startGenerator(opts: GeneratorProcessOptions): ChildRpc {
  const script = new URL('../load/presence-server-sim.js', import.meta.url).pathname;
  const scriptArgs = ['--port', String(opts.port), '--transport', opts.transports, '--max-expires', String(opts.maxExpires ?? 3600)];
  return new ChildRpc('presence-server-sim', script, {
    ...(opts.core !== undefined ? { core: opts.core } : {}),
    nodeArgs: generatorNodeArgs(opts),
    scriptArgs,
  });
}
