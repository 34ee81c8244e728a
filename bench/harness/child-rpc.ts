/**
 * Request/response over the Node IPC channel between the bench runner and its
 * child processes (the SUT and the presence-server simulator). Children are
 * started under `taskset -c <core>` so that the SUT has core 1 to itself and
 * the load stays on core 0 (docs/benchmark-method.md §2); `taskset` execs node, so the
 * IPC channel (NODE_CHANNEL_FD) survives. 'advanced' serialization carries
 * typed arrays (the seen/expected bitmaps) without JSON.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { existsSync } from 'node:fs';

export interface RpcRequest {
  id: number;
  op: string;
  args: unknown;
}

export interface RpcReply {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

/** Whether we can pin processes: `taskset` exists and there are at least two CPUs. */
export function canPin(): boolean {
  return availableParallelism() >= 2 && ['/usr/bin/taskset', '/bin/taskset'].some((p) => existsSync(p));
}

/** The command line for `argv`, prefixed with `taskset -c core` when pinning is possible. */
export function pinned(core: number | undefined, argv: string[]): { cmd: string; args: string[] } {
  if (core === undefined || !canPin()) return { cmd: argv[0] ?? '', args: argv.slice(1) };
  return { cmd: 'taskset', args: ['-c', String(core), ...argv] };
}

export class ChildRpc {
  readonly child: ChildProcess;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private exited = false;
  private exitInfo = '';
  readonly name: string;

  constructor(name: string, script: string, opts: { core?: number; nodeArgs?: string[]; scriptArgs?: string[] } = {}) {
    this.name = name;
    const { cmd, args } = pinned(opts.core, [process.execPath, ...(opts.nodeArgs ?? []), script, ...(opts.scriptArgs ?? [])]);
    this.child = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
    this.child.on('message', (m: unknown) => this.onReply(m));
    this.child.on('exit', (code, signal) => {
      this.exited = true;
      this.exitInfo = `${name} exited (code ${code}, signal ${signal})`;
      for (const w of this.waiting.values()) w.reject(new Error(this.exitInfo));
      this.waiting.clear();
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get alive(): boolean {
    return !this.exited;
  }

  private onReply(m: unknown): void {
    if (typeof m !== 'object' || m === null) return;
    const reply = m as RpcReply;
    const w = this.waiting.get(reply.id);
    if (w === undefined) return;
    this.waiting.delete(reply.id);
    if (reply.ok) w.resolve(reply.result);
    else w.reject(new Error(`${this.name}: ${reply.error ?? 'failed'}`));
  }

  /** Calls `op` in the child; rejects after `timeoutMs` or if the child dies. */
  call<T>(op: string, args: unknown = {}, timeoutMs = 120_000): Promise<T> {
    if (this.exited) return Promise.reject(new Error(this.exitInfo));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`${this.name}: ${op} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.child.send({ id, op, args } satisfies RpcRequest);
    });
  }

  /** Asks the child to exit, then kills it (by its own pid) if it has not within `boundMs`. */
  async stop(boundMs = 10_000): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    try {
      await this.call('exit', {}, boundMs);
    } catch {
      // the child may exit before it replies
    }
    const timer = setTimeout(() => {
      if (!this.exited) this.child.kill('SIGKILL');
    }, boundMs);
    await gone;
    clearTimeout(timer);
  }

  /** Kills the child at once (W4: the SUT crashes). */
  async kill(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGKILL');
    await gone;
  }
}

export type RpcHandler = (args: never) => unknown;

/**
 * The child side: answers requests from the parent. The `exit` op is built in.
 * A handler may return a promise; errors become `{ ok: false }` replies.
 */
export function serveRpc(handlers: Record<string, (args: never) => unknown>, onExit: () => Promise<void> | void): void {
  if (process.send === undefined) throw new Error('not started with an IPC channel');
  const reply = (r: RpcReply) => process.send?.(r);
  process.on('message', (m: unknown) => {
    if (typeof m !== 'object' || m === null) return;
    const req = m as RpcRequest;
    if (req.op === 'exit') {
      Promise.resolve()
        .then(onExit)
        .catch(() => undefined)
        .finally(() => {
          reply({ id: req.id, ok: true });
          setTimeout(() => process.exit(0), 20);
        });
      return;
    }
    const handler = handlers[req.op];
    if (handler === undefined) {
      reply({ id: req.id, ok: false, error: `unknown op ${req.op}` });
      return;
    }
    Promise.resolve()
      .then(() => handler(req.args as never))
      .then(
        (result) => reply({ id: req.id, ok: true, result }),
        (e: unknown) => reply({ id: req.id, ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) }),
      );
  });
  // If the runner dies, do not linger.
  process.on('disconnect', () => process.exit(0));
}
