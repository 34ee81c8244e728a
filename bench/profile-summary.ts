/**
 * Summarises a V8 CPU profile (`node --cpu-prof`, e.g. from
 * `npm run bench -- w2 --cpu-prof`): self time per function and per file,
 * with its share of the samples, so hot spots can be reported as
 * "file + function + share of time".
 *
 *   node dist/bench/profile-summary.js /tmp/presence-b2b-bench/profiles/CPU.….cpuprofile [--top 30] [--filter src/]
 */
import { readFileSync } from 'node:fs';
import { summaryArgs } from './support/summary-args.js';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface HotSpot {
  name: string;
  selfMs: number;
  share: number;
  /** Time in this function and everything it called (a function on the stack twice counts once). */
  totalMs: number;
  totalShare: number;
}

function shortUrl(url: string): string {
  const i = url.search(/\/(src|bench|node_modules)\//);
  if (i >= 0) return url.slice(i + 1);
  return url.replace(/^file:\/\//, '') || '(native)';
}

export function summarize(profile: CpuProfile): { totalMs: number; byFunction: HotSpot[]; byFile: HotSpot[] } {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const fileSelf = new Map<string, number>();
  const fileTotal = new Map<string, number>();
  let all = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    const id = profile.samples[i] ?? 0;
    const node = byId.get(id);
    if (node === undefined) continue;
    const cf = node.callFrame;
    // Shares are of the time the thread was busy: idle (waiting in epoll) is left out.
    if (cf.functionName === '(idle)') continue;
    all += dt;
    const key = `${cf.functionName || '(anonymous)'}  ${shortUrl(cf.url)}:${cf.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    const file = shortUrl(cf.url);
    fileSelf.set(file, (fileSelf.get(file) ?? 0) + dt);
    const seenFn = new Set<string>();
    const seenFile = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur);
      if (n === undefined) break;
      const c = n.callFrame;
      const k = `${c.functionName || '(anonymous)'}  ${shortUrl(c.url)}:${c.lineNumber + 1}`;
      if (!seenFn.has(k)) {
        seenFn.add(k);
        total.set(k, (total.get(k) ?? 0) + dt);
      }
      const fl = shortUrl(c.url);
      if (!seenFile.has(fl)) {
        seenFile.add(fl);
        fileTotal.set(fl, (fileTotal.get(fl) ?? 0) + dt);
      }
    }
  }
  const rank = (m: Map<string, number>, t: Map<string, number>): HotSpot[] =>
    [...m.entries()]
      .map(([name, ms]) => ({ name, selfMs: ms, share: ms / all, totalMs: t.get(name) ?? ms, totalShare: (t.get(name) ?? ms) / all }))
      .sort((a, b) => b.selfMs - a.selfMs);
  return { totalMs: all, byFunction: rank(self, total), byFile: rank(fileSelf, fileTotal) };
}

function main(): void {
  const args = summaryArgs(
    process.argv.slice(2),
    ['--top', '--filter'],
    'node dist/bench/profile-summary.js FILE.cpuprofile [--top N] [--filter TEXT] [--total]',
  );
  const file = args.file;
  const top = args.number('--top', 30);
  const filter = args.text('--filter') ?? '';
  const byTotal = args.has('--total');
  const s = summarize(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile);
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`.padStart(6);
  console.log(`profile ${file}: ${(s.totalMs / 1000).toFixed(2)} s busy (idle excluded; shares are of busy time)`);
  const fns = s.byFunction.filter((h) => h.name.includes(filter));
  if (byTotal) fns.sort((a, b) => b.totalMs - a.totalMs);
  console.log(`\n  self   total  function  file:line${byTotal ? '  (by total)' : ''}`);
  for (const h of fns.slice(0, top)) console.log(`${pct(h.share)} ${pct(h.totalShare)}  ${h.name}`);
  console.log('\n  self   total  file');
  for (const h of s.byFile.filter((x) => x.name.includes(filter)).slice(0, top)) console.log(`${pct(h.share)} ${pct(h.totalShare)}  ${h.name}`);
}

if (process.argv[1]?.endsWith('profile-summary.js')) main();
