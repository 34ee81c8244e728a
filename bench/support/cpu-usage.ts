/** CPU µs (user + system) between two `process.cpuUsage()` readings of the same process, `before` first. */
export function cpuUsBetween(before: NodeJS.CpuUsage, after: NodeJS.CpuUsage): number {
  return after.user + after.system - before.user - before.system;
}
