import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';
import { PerformanceObserver } from 'node:perf_hooks';
import { HeapSnapshotLayout, readHeapSnapshot } from './heap-snapshot-layout.js';

/**
 * What a NOTIFY leaves alive for the young-generation GC (the scavenger) to
 * copy, measured without the kernel and without the machine's load: the
 * in-process NOTIFY path runs at a simulated rate over many dialogs (a
 * ManualClock, so that Timer J and every other timer behave as at that rate),
 * and after a round of NOTIFYs a forced minor GC shows what of their
 * allocation is still alive. docs/latency-tail.md, "What survives a scavenge".
 */

type GcFunction = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async' }) => void;

export interface SurvivorRound {
  /** Bytes in the young generation after the minor GC: what the scavenger copied (per NOTIFY). */
  young: number;
  /** Old-generation growth over the round (pretenured or large allocations; per NOTIFY). */
  old: number;
  /** Everything the round left alive, by a full GC afterwards (per NOTIFY). */
  live: number;
  /** ArrayBuffer bytes left alive (outside the JS heap: never copied by a GC; per NOTIFY). */
  external: number;
}

export interface SurvivorHooks {
  /** One NOTIFY, taken out of its queue by the consumer. `i` counts NOTIFYs from the start. */
  notify(i: number): void;
  /** Makes NOTIFY `i` ahead of time (before the baseline GC), so that its bytes are not counted. */
  prepare(i: number): unknown;
  /** Drops what `prepare` made. */
  discard(): void;
}

function gcFunction(): GcFunction {
  const gc = (globalThis as { gc?: GcFunction }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  return gc;
}

function youngBytes(): number {
  let sum = 0;
  for (const space of getHeapSpaceStatistics()) if (space.space_name === 'new_space' || space.space_name === 'new_large_object_space') sum += space.space_used_size;
  return sum;
}

function oldBytes(): number {
  let sum = 0;
  for (const space of getHeapSpaceStatistics()) if (space.space_name !== 'new_space' && space.space_name !== 'new_large_object_space') sum += space.space_used_size;
  return sum;
}

/** The end of a task, as after each batch of datagrams the event loop reads (the status messages let their documents go then). */
export const endOfTask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Datagrams one pass of libuv's poll phase reads at most from a UDP socket: the NOTIFYs of one task. */
const PER_TASK = 32;

/**
 * `rounds` rounds of `perRound` NOTIFYs (from NOTIFY `start` on). Before each
 * round, full GCs (the young generation is then empty); after it, the end of
 * the task, then one minor GC. A round during which another GC ran is left out
 * (the young generation must be large enough: --max-semi-space-size).
 */
export async function measureSurvivors(
  hooks: SurvivorHooks,
  start: number,
  perRound: number,
  rounds: number,
  /**
   * `full`: full GCs before each round (the young generation empty, nothing dead in the old one).
   * `minor`: two minor GCs instead (what was young is promoted; the old generation keeps its dead
   * objects, as between two scavenges of a running process, and their pointers into the young
   * generation keep young objects alive too).
   */
  baseline: 'full' | 'minor' = 'full',
): Promise<SurvivorRound[]> {
  const gc = gcFunction();
  let gcs = 0;
  const observer = new PerformanceObserver((list) => {
    gcs += list.getEntries().length;
  });
  observer.observe({ entryTypes: ['gc'] });
  const results: SurvivorRound[] = [];
  let next = start;
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < perRound; k++) hooks.prepare(next + k);
    await endOfTask();
    const kind = baseline === 'full' ? 'major' : 'minor';
    gc({ type: kind, execution: 'sync' });
    gc({ type: kind, execution: 'sync' });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const gcsBefore = gcs;
    const young0 = youngBytes();
    const old0 = oldBytes();
    const external0 = process.memoryUsage().arrayBuffers;
    for (let k = 0; k < perRound; k++) {
      hooks.notify(next++);
      if (k % PER_TASK === PER_TASK - 1) await endOfTask();
    }
    await endOfTask();
    hooks.discard();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const clean = gcs === gcsBefore;
    gc({ type: 'minor', execution: 'sync' });
    const young = youngBytes() - young0;
    const old = oldBytes() - old0;
    let live = Number.NaN;
    if (baseline === 'full') {
      gc({ type: 'major', execution: 'sync' });
      gc({ type: 'major', execution: 'sync' });
      live = youngBytes() + oldBytes() - young0 - old0;
    }
    const external = process.memoryUsage().arrayBuffers - external0;
    if (clean) results.push({ young: young / perRound, old: old / perRound, live: live / perRound, external: external / perRound });
  }
  observer.disconnect();
  return results;
}

/** A heap snapshot written to a file (nothing of it in the JS heap until it is read). */
function snapshotFile(name: string): string {
  return writeHeapSnapshot(join(tmpdir(), `presence-b2b-survivors-${process.pid}-${name}.heapsnapshot`));
}

function readSnapshot(file: string): HeapSnapshotLayout {
  const snapshot = new HeapSnapshotLayout(readHeapSnapshot(file));
  rmSync(file, { force: true });
  return snapshot;
}

export interface SurvivorGroup {
  /** `type name` of the object (constructor for objects), then `← owner.edge` of one retainer. */
  name: string;
  count: number;
  bytes: number;
}

/**
 * The objects alive after `run` that were not alive before it, by kind and by
 * one retainer (an object made in the same run when there is one: the owner
 * that keeps it), largest first. Two heap snapshots (each a full GC); node ids
 * are stable between them.
 */
export async function survivorsByKind(run: () => Promise<void>): Promise<SurvivorGroup[]> {
  const beforeFile = snapshotFile('before');
  await run();
  const afterFile = snapshotFile('after');
  const known = new Set<number>();
  {
    const before = readSnapshot(beforeFile);
    for (let node = 0; node < before.nodeCount; node++) known.add(before.idOf(node));
  }
  const s = readSnapshot(afterFile);
  const label = (node: number): string => {
    const type = s.typeOf(node);
    return type === 'object' || type === 'closure' || type === 'hidden' || type === 'native' ? `${type} ${s.nameOf(node)}` : `(${type})`;
  };
  // One retainer per new node: a new one (its owner made in the same run) before an old one.
  const owner = new Map<number, string>();
  const ownerIsNew = new Set<number>();
  for (let node = 0; node < s.nodeCount; node++) {
    const fromNew = !known.has(s.idOf(node));
    for (let edge = s.firstEdge(node); edge < s.firstEdge(node + 1); edge++) {
      if (!s.isStrong(edge)) continue;
      const to = s.edgeTo(edge);
      if (known.has(s.idOf(to))) continue;
      if (owner.has(to) && (ownerIsNew.has(to) || !fromNew)) continue;
      const edgeType = s.edgeTypeOf(edge);
      const nameOrIndex = s.edgeNameOrIndex(edge);
      const edgeName = edgeType === 'element' || edgeType === 'hidden' ? `[${nameOrIndex}]` : s.strings[nameOrIndex];
      owner.set(to, `${label(node)}.${edgeName}`);
      if (fromNew) ownerIsNew.add(to);
    }
  }
  const groups = new Map<string, SurvivorGroup>();
  for (let node = 0; node < s.nodeCount; node++) {
    if (known.has(s.idOf(node))) continue;
    const name = `${label(node)} ← ${(owner.get(node) ?? '?').replace(/\[\d+\]$/, '[i]')}`;
    let g = groups.get(name);
    if (g === undefined) {
      g = { name, count: 0, bytes: 0 };
      groups.set(name, g);
    }
    g.count++;
    g.bytes += s.selfSizeOf(node);
  }
  return [...groups.values()].sort((a, b) => b.bytes - a.bytes);
}
