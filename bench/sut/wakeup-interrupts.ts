/**
 * Cross-CPU wake-up interrupts on the machine so far, from /proc/interrupts
 * (Linux): the rescheduling (RES) and function-call (CAL) IPIs, summed over
 * every CPU. A process that wakes a sleeping process on another core sends
 * one: on loopback that is the SUT answering a NOTIFY while the load
 * generator sleeps between its sends. Under a hypervisor each such IPI to an
 * idle virtual CPU costs the sender an exit to the host; the count per 10 ms
 * bucket (FineTimeline) shows when the SUT sends many of them
 * (docs/latency-tail.md, "Episodes of half speed, and the generator's pacing").
 */
import { readFileSync } from 'node:fs';

const WAKEUP_LINE = /^\s*(RES|CAL):((?:\s+\d+)+)/gm;

/** RES + CAL interrupts over all CPUs since boot, or undefined where /proc/interrupts is not there. */
export function wakeupInterrupts(): number | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/interrupts', 'latin1');
  } catch {
    return undefined;
  }
  return wakeupInterruptsIn(text);
}

/** RES + CAL interrupts over all CPUs in the text of /proc/interrupts. */
export function wakeupInterruptsIn(procInterrupts: string): number {
  let total = 0;
  for (const m of procInterrupts.matchAll(WAKEUP_LINE)) {
    for (const count of m[2]!.trim().split(/\s+/)) total += Number(count);
  }
  return total;
}
