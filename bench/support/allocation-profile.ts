/**
 * Where a bench's bytes are allocated: V8's sampling heap profiler with the objects
 * the GC collected kept in (what --heap-prof leaves out), by function, self and inclusive.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

export interface SamplingNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: SamplingNode[];
}

/**
 * V8's sampling heap profiler in this process, through the inspector. Unlike `--heap-prof`, it can
 * keep the samples of objects the GC collected: those freed by mark-compacts, and (optionally) those
 * freed by scavenges too. Without the latter, what is left is what outlived the young generation.
 */
export class SamplingHeapProfiler {
  private session: Session | undefined;

  /** `intervalBytes`: mean bytes between samples (V8's default 32 KB misses small, frequent objects). */
  async start(intervalBytes: number, keepCollectedByScavenges: boolean): Promise<void> {
    if (this.session !== undefined) return;
    const session = new Session();
    session.connect();
    await session.post('HeapProfiler.enable');
    // The two include… fields are V8's (Node 20 has them), not yet in @types/node: a variable, not a literal.
    const params = { samplingInterval: intervalBytes, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: keepCollectedByScavenges };
    await session.post('HeapProfiler.startSampling', params);
    this.session = session;
  }

  async stop(): Promise<{ head: SamplingNode }> {
    const session = this.session;
    if (session === undefined) throw new Error('the sampling heap profiler was not started');
    this.session = undefined;
    const { profile } = await session.post('HeapProfiler.stopSampling');
    await session.post('HeapProfiler.disable');
    session.disconnect();
    return profile as unknown as { head: SamplingNode };
  }
}

/** Runs `work` under the sampling heap profiler (collected objects included) and prints bytes per unit of work by function. */
export async function allocationProfile(work: () => Promise<void>, n: number, unit: string, outFile?: string): Promise<void> {
  const profiler = new SamplingHeapProfiler();
  await profiler.start(1024, true);
  await work();
  const profile = await profiler.stop();
  if (outFile !== undefined) writeFileSync(outFile, JSON.stringify(profile));
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let all = 0;
  const walk = (node: SamplingNode, stack: readonly string[]): number => {
    const f = node.callFrame;
    const name = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/dist\//, '')}:${f.lineNumber + 1}`;
    let sum = node.selfSize;
    all += node.selfSize;
    self.set(name, (self.get(name) ?? 0) + node.selfSize);
    const inner = [...stack, name];
    for (const child of node.children) sum += walk(child, inner);
    if (!stack.includes(name)) inclusive.set(name, (inclusive.get(name) ?? 0) + sum);
    return sum;
  };
  walk(profile.head, []);
  console.log(`sampled ${(all / n).toFixed(0)} B per ${unit} (${n} × ${unit})`);
  for (const [title, map] of [['self', self], ['inclusive', inclusive]] as const) {
    console.log(`\n${`B/${unit.slice(0, 5)}`.padStart(7)}  ${title}`);
    for (const [name, bytes] of [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, 40)) console.log(`${(bytes / n).toFixed(0).padStart(7)}  ${name}`);
  }
}
