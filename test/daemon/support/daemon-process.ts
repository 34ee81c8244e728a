/**
 * Runs the real CLI (`node <build>/src/cli/main.js …`) as a child process for
 * the daemon tests: the config is written as YAML to a temporary file, ports
 * are ephemeral (0) and read back from the daemon's JSON log lines, and
 * every wait is bounded. Tests call `stop()` / `kill()` in `after`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

/** The compiled CLI next to this compiled test (dist/test/daemon/support → dist/src/cli). */
export const CLI_PATH = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));

export interface LogLine {
  level: string;
  msg: string;
  [key: string]: unknown;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * One XDG state directory per test process: `presence-b2b publish` keeps its
 * entity-tags there instead of in the user's home, and no run sees another's.
 */
let stateHome: string | undefined;
function testStateHome(): string {
  stateHome ??= mkdtempSync(join(tmpdir(), 'pb2b-state-'));
  return stateHome;
}
process.on('exit', () => {
  if (stateHome !== undefined) rmSync(stateHome, { recursive: true, force: true });
});

/** Environment without PRESENCE_B2B_* variables of the caller, with a private XDG_STATE_HOME, plus `extra`. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PRESENCE_B2B_')) env[k] = v;
  return { ...env, XDG_STATE_HOME: testStateHome(), ...extra };
}

/** Runs one CLI command to completion (killed after `timeoutMs`). */
export function runCli(args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {}): Promise<CliResult> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_PATH, ...args], {
      env: options.env ?? cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });
    // A real deadline on a real process.
    const deadline = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`presence-b2b ${args.join(' ')}: no exit within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(deadline);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(deadline);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A test configuration: loopback, ephemeral ports, quick shutdown; `overrides` merged on top. */
export function testConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    sip: { listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }] },
    http: { host: '127.0.0.1', port: 0 },
    log_level: 'debug',
    shutdown: { mode: 'unsubscribe', timeout_ms: 3000 },
    ...overrides,
  };
}

export class DaemonProcess {
  readonly lines: LogLine[] = [];
  stderr = '';
  private buffer = '';
  private waiters: Array<{ match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }> = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private exitedAlready = false;

  private constructor(
    readonly child: ChildProcess,
    /** The temporary directory holding the config file; the daemon's working directory. */
    readonly dir: string,
  ) {
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => this.onStdout(chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    this.exited = new Promise((resolve) => {
      child.on('close', (code, signal) => {
        this.exitedAlready = true;
        resolve({ code, signal });
      });
    });
  }

  /**
   * Writes `config` to a temporary YAML file and starts `presence-b2b start -c file`; resolves when HTTP listens
   * (or at the first log line `readyWhen` matches).
   * The daemon runs in that temporary directory, so that the default store (presence-b2b.db in the
   * working directory) is its own and goes away with it.
   */
  static async start(
    config: Record<string, unknown>,
    options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; args?: string[]; nodeArgs?: string[]; readyWhen?: (l: LogLine) => boolean } = {},
  ): Promise<DaemonProcess> {
    const dir = mkdtempSync(join(tmpdir(), 'pb2b-daemon-'));
    const file = join(dir, 'config.yaml');
    writeFileSync(file, stringify(config));
    // nodeArgs: options for node itself, before the CLI's path (as an operator running `node --flag cli.js start` would give them).
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), CLI_PATH, 'start', '-c', file, ...(options.args ?? [])], {
      env: options.env ?? cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: dir,
    });
    const daemon = new DaemonProcess(child, dir);
    try {
      await daemon.waitForLog(options.readyWhen ?? ((l) => l.msg === 'HTTP API listening'), options.timeoutMs ?? 10_000);
    } catch (error) {
      daemon.kill();
      throw error;
    }
    return daemon;
  }

  get httpBase(): string {
    const line = this.lines.find((l) => l.msg === 'HTTP API listening');
    const http = line?.http as { host: string; port: number } | undefined;
    if (http === undefined) throw new Error('the daemon has not logged its HTTP address');
    return `http://${http.host}:${http.port}`;
  }

  /** The SIP socket of `transport` as bound. */
  sipAddress(transport = 'udp'): { host: string; port: number } {
    const line = this.lines.find((l) => l.msg === 'SIP listening');
    const sip = (line?.sip as Array<{ transport: string; host: string; port: number }> | undefined)?.find((s) => s.transport === transport);
    if (sip === undefined) throw new Error(`the daemon has not logged a ${transport} SIP address`);
    return { host: sip.host, port: sip.port };
  }

  /** Resolves with the first log line (already seen or to come) that matches. */
  waitForLog(match: (l: LogLine) => boolean, timeoutMs = 5000): Promise<LogLine> {
    const seen = this.lines.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (l: LogLine) => {
          clearTimeout(deadline);
          resolve(l);
        },
      };
      const deadline = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no matching log line within ${timeoutMs} ms; stderr: ${this.stderr}\nlog:\n${this.lines.map((l) => JSON.stringify(l)).join('\n')}`));
      }, timeoutMs);
      this.waiters.push(waiter);
      void this.exited.then(() => {
        if (this.waiters.includes(waiter)) {
          clearTimeout(deadline);
          this.waiters = this.waiters.filter((w) => w !== waiter);
          reject(new Error(`the daemon exited; stderr: ${this.stderr}`));
        }
      });
    });
  }

  /** Sends `signal` and waits (bounded) for the exit; measures how long it took. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
    const started = performance.now();
    if (!this.exitedAlready) this.child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const result = await Promise.race([
      this.exited,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the daemon did not exit within ${timeoutMs} ms after ${signal}`)), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
    return { ...result, ms: performance.now() - started };
  }

  /** Last resort for `after`: SIGKILL if still running, remove the temporary directory. */
  kill(): void {
    if (!this.exitedAlready && this.child.exitCode === null) this.child.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }

  private onStdout(chunk: string): void {
    this.buffer += chunk;
    for (;;) {
      const nl = this.buffer.indexOf('\n');
      if (nl < 0) break;
      const text = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        continue;
      }
      this.lines.push(line);
      for (const w of [...this.waiters]) {
        if (w.match(line)) {
          this.waiters = this.waiters.filter((x) => x !== w);
          w.resolve(line);
        }
      }
    }
  }
}

/** JSON over HTTP with an optional bearer token. */
export async function api(base: string, method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; json: unknown }> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${base}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await response.text();
  return { status: response.status, json: text === '' ? undefined : (JSON.parse(text) as unknown) };
}

export { parsePrometheusText } from '../../support/prometheus-text.js';
