/**
 * Summarises a sampling heap profile (`node dist/bench/run.js w4 --survivor-profile`):
 * bytes sampled per allocation site, largest first, each with the innermost
 * frames of its stack, so that what outlived a scavenge can be named by the
 * code that allocated it. Bytes are V8's estimate (samples × interval).
 *
 *   node dist/bench/survivor-summary.js FILE.heapprofile [--top 25] [--frames 4]
 */
import { readFileSync } from 'node:fs';
import type { SamplingNode } from './support/allocation-profile.js';
import { summaryArgs } from './support/summary-args.js';


export interface SurvivorSite {
  /** Innermost frame first: "function file:line". */
  stack: string;
  bytes: number;
}

function frameName(f: SamplingNode['callFrame']): string {
  const file = f.url.replace(/^.*\/(dist|node_modules)\//, '$1/');
  return `${f.functionName || '(anonymous)'} ${file}:${f.lineNumber + 1}`;
}

/** Sites (the innermost `frames` frames of each stack) and their sampled bytes, largest first. */
export function survivorSites(head: SamplingNode, frames: number): { total: number; sites: SurvivorSite[] } {
  const bySite = new Map<string, number>();
  let total = 0;
  const walk = (node: SamplingNode, stack: readonly string[]) => {
    const here = node.callFrame.functionName === '(root)' ? stack : [frameName(node.callFrame), ...stack];
    if (node.selfSize > 0) {
      const key = here.slice(0, frames).join(' < ');
      bySite.set(key, (bySite.get(key) ?? 0) + node.selfSize);
      total += node.selfSize;
    }
    for (const c of node.children) walk(c, here);
  };
  walk(head, []);
  return { total, sites: [...bySite].map(([stack, bytes]) => ({ stack, bytes })).sort((a, b) => b.bytes - a.bytes) };
}

function main(): void {
  const args = summaryArgs(process.argv.slice(2), ['--top', '--frames'], 'node dist/bench/survivor-summary.js FILE.heapprofile [--top 25] [--frames 4]');
  const profile = JSON.parse(readFileSync(args.file, 'utf8')) as { head: SamplingNode };
  const { total, sites } = survivorSites(profile.head, args.number('--frames', 4));
  console.log(`sampled: ${(total / 1e6).toFixed(1)} MB`);
  for (const s of sites.slice(0, args.number('--top', 25))) console.log(`${(s.bytes / 1e6).toFixed(2).padStart(8)} MB ${((100 * s.bytes) / total).toFixed(1).padStart(5)} %  ${s.stack}`);
}

if (process.argv[1]?.endsWith('survivor-summary.js')) main();
