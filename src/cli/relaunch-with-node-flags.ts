import { spawn } from 'node:child_process';
import { constants } from 'node:os';

/**
 * Set by relaunchWithNodeFlags on its child, to its own pid: how the child knows it is one (another
 * parent with an IPC channel, a process manager's fork, is not). Not `PRESENCE_B2B_*`: those are
 * configuration overrides.
 */
const RELAUNCHED_BY = 'PB2B_RELAUNCHED_BY';

/**
 * Runs this same command again in a node started with `flags` (V8 options that cannot be set once
 * the process runs: src/util/single-threaded-gc.ts), and resolves with its exit status.
 *
 * Where node has `process.execve` (22.15 and later) the process replaces itself: same pid, nothing
 * in between. Node 20 has no exec, so the command runs as a child: stdio shared, SIGTERM, SIGINT and
 * SIGHUP passed on, the child's status (128 + signal number if killed) returned. The child has an
 * IPC channel to this process and dies with it (`exitWithParent`), so that a SIGKILL of the pid a
 * supervisor knows leaves nothing running.
 */
export function relaunchWithNodeFlags(flags: readonly string[]): Promise<number> {
  const args = [...flags, ...process.execArgv, ...process.argv.slice(1)];
  const execve = (process as { execve?: (file: string, args: readonly string[], env: NodeJS.ProcessEnv) => never }).execve;
  if (typeof execve === 'function') {
    try {
      execve.call(process, process.execPath, [process.execPath, ...args], process.env);
    } catch {
      // execve(2) refused (the process is unchanged): fall back to a child.
    }
  }
  return new Promise<number>((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, [RELAUNCHED_BY]: String(process.pid) },
    });
    // The handlers stay until this process exits: a signal that arrives after the child ended
    // (a Ctrl-C reaches both; the child may finish first) must not kill this one with another status.
    const forward = (signal: NodeJS.Signals): void => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    };
    for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, forward);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      resolve(code ?? 128 + (signal === null ? 0 : constants.signals[signal]));
    });
  });
}

/**
 * In a child run by relaunchWithNodeFlags: whether this process is one (it has the IPC channel),
 * and if so, ends it at once when its parent goes (the channel closes), as the parent went: a
 * parent killed with SIGKILL means a supervisor wanted the daemon gone without ceremony.
 */
export function exitWithParent(): boolean {
  const relaunchedBy = process.env[RELAUNCHED_BY];
  delete process.env[RELAUNCHED_BY];
  const channel = (process as { channel?: { unref(): void } }).channel;
  if (relaunchedBy !== String(process.ppid) || channel === undefined || process.send === undefined) return false;
  // The channel must not keep the process alive on its own.
  channel.unref();
  process.once('disconnect', () => process.kill(process.pid, 'SIGKILL'));
  return true;
}
