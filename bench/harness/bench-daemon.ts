/**
 * A presence-b2b daemon (the real CLI, `presence-b2b start -c file`) as a
 * benchmark process: its SIP and HTTP ports chosen here (free a moment
 * before), log level `warn` so that the daemon spends nothing on a log line
 * per subscription or status (the test launcher needs `info` to read its
 * ports back), ready when GET /healthz answers. Its CPU and RSS are read from
 * /proc by pid. Stopped with SIGTERM, SIGKILL after a bound.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { freeUdpTcpPort } from '../../test/support/port-check.js';

/** The compiled CLI (dist/bench/harness → dist/src/cli). */
const CLI_PATH = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface BenchDaemonSpec {
  /** Name in error messages. */
  name: string;
  /** Configuration keys besides sip.listen, http.host/port and log_level (merged on top of the bench defaults). */
  config: Record<string, unknown>;
  /** Bound on the start (ms). */
  timeoutMs?: number;
  /** Options for the daemon's node (e.g. `--cpu-prof --cpu-prof-dir=…`), before the CLI's path. */
  nodeArgs?: readonly string[];
}

export class BenchDaemon {
  private output = '';
  private exitedAlready = false;
  readonly exited: Promise<void>;

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly dir: string,
    readonly sipPort: number,
    readonly httpBase: string,
  ) {
    const keep = (chunk: string) => {
      this.output = (this.output + chunk).slice(-8000);
    };
    child.stdout?.setEncoding('utf8').on('data', keep);
    child.stderr?.setEncoding('utf8').on('data', keep);
    this.exited = new Promise((resolve) => {
      child.on('close', () => {
        this.exitedAlready = true;
        resolve();
      });
    });
  }

  static async start(spec: BenchDaemonSpec): Promise<BenchDaemon> {
    const sipPort = await freeUdpTcpPort();
    const httpPort = await freeUdpTcpPort();
    const dir = mkdtempSync(join(tmpdir(), 'pb2b-bench-daemon-'));
    const file = join(dir, 'config.yaml');
    const extraHttp = (spec.config.http ?? {}) as Record<string, unknown>;
    const config = {
      log_level: 'warn',
      ...spec.config,
      sip: { listen: [{ transport: 'udp', host: '127.0.0.1', port: sipPort }] },
      http: { ...extraHttp, host: '127.0.0.1', port: httpPort },
    };
    writeFileSync(file, stringify(config));
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PRESENCE_B2B_')) env[k] = v;
    const child = spawn(process.execPath, [...(spec.nodeArgs ?? []), CLI_PATH, 'start', '-c', file], { env, stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
    const daemon = new BenchDaemon(spec.name, child, dir, sipPort, `http://127.0.0.1:${httpPort}`);
    const deadline = performance.now() + (spec.timeoutMs ?? 30_000);
    for (;;) {
      if (daemon.exitedAlready) throw new Error(`${spec.name} exited at start: ${daemon.output}`);
      try {
        const r = await fetch(`${daemon.httpBase}/healthz`);
        if (r.ok) break;
      } catch {
        // Not listening yet.
      }
      if (performance.now() > deadline) {
        await daemon.stop();
        throw new Error(`${spec.name}: no /healthz within ${spec.timeoutMs ?? 30_000} ms: ${daemon.output}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return daemon;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** The last lines the daemon wrote (warnings, errors). */
  get recentOutput(): string {
    return this.output;
  }

  async health(): Promise<Record<string, unknown>> {
    const r = await fetch(`${this.httpBase}/healthz`);
    return (await r.json()) as Record<string, unknown>;
  }

  /** Resident set size in bytes (VmRSS of /proc/<pid>/status), 0 when gone. */
  rssBytes(): number {
    try {
      const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'));
      return m === null ? 0 : Number(m[1]) * 1024;
    } catch {
      return 0;
    }
  }

  /** SIGTERM, then SIGKILL if still running after `boundMs`; removes its directory. */
  async stop(boundMs = 10_000): Promise<void> {
    if (!this.exitedAlready) {
      this.child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.exited, new Promise<void>((r) => (timer = setTimeout(r, boundMs)))]);
      clearTimeout(timer);
      if (!this.exitedAlready) {
        this.child.kill('SIGKILL');
        await this.exited;
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
