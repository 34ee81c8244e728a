/**
 * Bench only: V8's sampling heap profiler over a window, keeping the samples
 * of objects that a mark-compact freed (`includeObjectsCollectedByMajorGC`)
 * and leaving out those a scavenge freed. What is left is what outlived the
 * young generation: still live at the end, or promoted and then dead, the
 * garbage a mark-compact pays for (its sweep of array buffers, its evacuation).
 * Summarised by bench/survivor-summary.ts.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

/** Bytes between two samples (V8's default is 32 KB; smaller sees the small, frequent objects). */
const SAMPLING_INTERVAL = 4096;

export class SurvivorSampling {
  private session: Session | undefined;

  async start(): Promise<void> {
    if (this.session !== undefined) return;
    const session = new Session();
    session.connect();
    await session.post('HeapProfiler.enable');
    // The two include… fields are V8's (Node 20 has them), not yet in @types/node: a variable, not a literal.
    const params = { samplingInterval: SAMPLING_INTERVAL, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: false };
    await session.post('HeapProfiler.startSampling', params);
    this.session = session;
  }

  /** Stops sampling and writes the profile (`.heapprofile` JSON) to `path`; returns the path. */
  async stop(path: string): Promise<string> {
    const session = this.session;
    if (session === undefined) throw new Error('survivor sampling was not started');
    this.session = undefined;
    const { profile } = await session.post('HeapProfiler.stopSampling');
    await session.post('HeapProfiler.disable');
    session.disconnect();
    writeFileSync(path, JSON.stringify(profile));
    return path;
  }
}
