/**
 * CPU time of another process (a database server the benchmark started), from
 * /proc: user + system milliseconds of `rootPid` and, with `withChildren`, of
 * its direct children (PostgreSQL's backends are children of the postmaster).
 * Linux only; USER_HZ is 100 there.
 */
import { readdirSync, readFileSync } from 'node:fs';

function ticksOf(pid: number): { ticks: number; parent: number } | undefined {
  try {
    const rest = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return { ticks: Number(rest[11]) + Number(rest[12]), parent: Number(rest[1]) };
  } catch {
    return undefined; // gone meanwhile
  }
}

export function procCpuMs(rootPid: number, withChildren: boolean): number {
  let total = ticksOf(rootPid)?.ticks ?? 0;
  if (withChildren) {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const child = ticksOf(Number(entry));
      if (child !== undefined && child.parent === rootPid) total += child.ticks;
    }
  }
  return (total * 1000) / 100;
}
