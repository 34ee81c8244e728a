/**
 * Where a bench's bytes are allocated: V8's sampling heap profiler with the objects
 * the GC collected kept in (what --heap-prof leaves out), by function, self and inclusive.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

/** Runs `work` under the sampling heap profiler (collected objects included) and prints bytes per unit of work by function. */
export async function allocationProfile(work: () => Promise<void>, n: number, unit: string, outFile?: string): Promise<void> {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) => session.post(method, params ?? {}, (error, result) => (error ? reject(error) : resolve(result))));
  await post('HeapProfiler.enable');
  await post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  await work();
  const { profile } = (await post('HeapProfiler.stopSampling')) as { profile: { head: SamplingNode } };
  session.disconnect();
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

interface SamplingNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: SamplingNode[];
}
