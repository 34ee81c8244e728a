/**
 * Read- and write-type system calls this process has made (`syscr`, `syscw`
 * of /proc/self/io, Linux): socket reads and writes among them, so over a W2
 * window their difference divided by the NOTIFYs is the system calls per
 * NOTIFY, a count the load of the machine does not change (one write per 200
 * unless the answers of a read are gathered; fewer reads when one read
 * carries several messages). The /proc reads of the bench itself are in it:
 * a few per second.
 */
import { readFileSync } from 'node:fs';

export interface IoSyscalls {
  reads: number;
  writes: number;
}

/** Cumulative counts now, or undefined where /proc/self/io is not readable. */
export function ioSyscalls(): IoSyscalls | undefined {
  try {
    const text = readFileSync('/proc/self/io', 'latin1');
    const r = /syscr: (\d+)/.exec(text);
    const w = /syscw: (\d+)/.exec(text);
    if (r === null || w === null) return undefined;
    return { reads: Number(r[1]), writes: Number(w[1]) };
  } catch {
    return undefined;
  }
}

export function ioSyscallsBetween(a: IoSyscalls | undefined, b: IoSyscalls | undefined): IoSyscalls | undefined {
  if (a === undefined || b === undefined) return undefined;
  return { reads: b.reads - a.reads, writes: b.writes - a.writes };
}
