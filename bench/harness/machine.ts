/** What the results were measured on: machine, kernel, Node/V8, commit (docs/benchmark-method.md §2). */
import { execFileSync } from 'node:child_process';
import { cpus, release, totalmem } from 'node:os';
import { canPin } from './child-rpc.js';
import { repoRoot } from './kamailio.js';

export interface MachineInfo {
  cpuModel: string;
  cpus: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  v8: string;
  pinned: boolean;
  loadAverage: string;
  kamailio: string;
}

export interface CommitInfo {
  commit: string;
  dirty: boolean;
}

function run(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { cwd: repoRoot(), stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }).toString().trim();
  } catch {
    return '';
  }
}

export function machineInfo(): MachineInfo {
  const c = cpus();
  let load = '';
  try {
    load = run('cat', ['/proc/loadavg']).split(' ').slice(0, 3).join(' ');
  } catch {
    load = '';
  }
  const kam = run('kamailio', ['-v']).split('\n')[0] ?? '';
  return {
    cpuModel: c[0]?.model ?? 'unknown',
    cpus: c.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    node: process.version,
    v8: process.versions.v8,
    pinned: canPin(),
    loadAverage: load,
    kamailio: kam,
  };
}

export function commitInfo(): CommitInfo {
  const commit = run('git', ['rev-parse', 'HEAD']) || 'unknown';
  const dirty = run('git', ['--no-optional-locks', 'status', '--porcelain', '--untracked-files=no']) !== '';
  return { commit, dirty };
}
