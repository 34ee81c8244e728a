/**
 * Kamailio as the C comparison peer, started from OUR configs in
 * peers/bench/ (notify-sink.cfg: the stateless NOTIFY sink; pua.cfg: the
 * stateful subscriber), rewritten at run time onto bench ports (5090+, away
 * from the test peers' 5070-5081) and a run directory of our own under /tmp.
 * Pinned to core 1 like the SUT, one worker (`children=1` in the configs).
 * It is stopped by its pid (pidfile in the run dir), never by name.
 *
 * CPU is summed over the main process and all its children from
 * /proc/<pid>/stat (utime + stime, clock ticks), as docs/benchmark-method.md §4 says.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { copyFileSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pinned } from './child-rpc.js';

export type KamailioKind = 'notify-sink' | 'pua';

const MODULE_DIRS = ['/usr/lib/x86_64-linux-gnu/kamailio/modules', '/usr/lib/aarch64-linux-gnu/kamailio/modules', '/usr/lib/kamailio/modules', '/usr/local/lib64/kamailio/modules'];
const DBTEXT_TEMPLATES = '/usr/share/kamailio/dbtext/kamailio';

/** The repository root: the first ancestor of this file holding peers/bench/. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'peers', 'bench', 'notify-sink.cfg'))) return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}

export function kamailioAvailable(): boolean {
  return ['/usr/sbin/kamailio', '/usr/local/sbin/kamailio'].some((p) => existsSync(p)) && MODULE_DIRS.some((d) => existsSync(join(d, 'sl.so')));
}

function kamailioBin(): string {
  return ['/usr/sbin/kamailio', '/usr/local/sbin/kamailio'].find((p) => existsSync(p)) ?? 'kamailio';
}

function kamcmdBin(): string {
  return ['/usr/sbin/kamcmd', '/usr/local/sbin/kamcmd'].find((p) => existsSync(p)) ?? 'kamcmd';
}

let clockTicks = 0;
function ticksPerSecond(): number {
  if (clockTicks === 0) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** utime + stime of one process, in µs (0 if it is gone). */
export function processCpuUs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // The command name may hold spaces: fields are counted after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    return ((utime + stime) * 1e6) / ticksPerSecond();
  } catch {
    return 0;
  }
}

/** `pid` and every descendant of it. */
export function processTree(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    const p = Number(name);
    if (!Number.isInteger(p)) continue;
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'latin1');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parentOf.set(p, Number(rest[1]));
    } catch {
      // gone meanwhile
    }
  }
  const out = [pid];
  for (let k = 0; k < out.length; k++) {
    const parent = out[k];
    for (const [child, pp] of parentOf) if (pp === parent && !out.includes(child)) out.push(child);
  }
  return out;
}

/** Resident set size of one process in bytes (VmRSS). */
export function processRss(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'latin1');
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return m === null ? 0 : Number(m[1]) * 1024;
  } catch {
    return 0;
  }
}

export interface ShmStats {
  total: number;
  free: number;
  used: number;
  realUsed: number;
  maxUsed: number;
  fragments: number;
}

export class KamailioPeer {
  readonly kind: KamailioKind;
  readonly port: number;
  readonly runDir: string;
  private proc: ChildProcess | undefined;
  private mainPid = 0;
  private pids: number[] = [];

  constructor(kind: KamailioKind, port: number, runRoot = '/tmp/presence-b2b-bench') {
    this.kind = kind;
    this.port = port;
    this.runDir = join(runRoot, `kamailio-${kind}-${port}`);
  }

  get ctlSocket(): string {
    return join(this.runDir, 'kamailio_ctl');
  }

  /** Writes the run dir: our peers/bench config with port, paths and module dir rewritten. */
  private prepare(): string {
    const source = join(repoRoot(), 'peers', 'bench', `${this.kind}.cfg`);
    let cfg = readFileSync(source, 'utf8');
    const modDir = MODULE_DIRS.find((d) => existsSync(join(d, 'sl.so'))) ?? MODULE_DIRS[0];
    cfg = cfg.replace(/listen=udp:127\.0\.0\.1:\d+/, `listen=udp:127.0.0.1:${this.port}`);
    cfg = cfg.replace(/mpath="[^"]*"/, `mpath="${modDir}/"`);
    cfg = cfg.split('/tmp/kam').join(this.runDir);
    rmSync(this.runDir, { recursive: true, force: true });
    mkdirSync(join(this.runDir, 'db'), { recursive: true });
    if (this.kind === 'pua') {
      for (const t of ['version', 'pua']) copyFileSync(join(DBTEXT_TEMPLATES, t), join(this.runDir, 'db', t));
    }
    const path = join(this.runDir, 'kamailio.cfg');
    writeFileSync(path, cfg);
    return path;
  }

  /** Starts Kamailio on `core` with `shmMb` of shared memory and waits until it answers on its port. */
  async start(core: number | undefined, shmMb: number): Promise<void> {
    const cfg = this.prepare();
    const log = openSync(join(this.runDir, 'kamailio.log'), 'w');
    const { cmd, args } = pinned(core, [kamailioBin(), '-DD', '-E', '-f', cfg, '-P', join(this.runDir, 'kamailio.pid'), '-w', this.runDir, '-m', String(shmMb), '-M', '8']);
    // -DD: the main process stays in the foreground, so the pid we spawn is Kamailio's own.
    this.proc = spawn(cmd, args, { stdio: ['ignore', log, log] });
    this.mainPid = this.proc.pid ?? 0;
    registerCleanup(this);
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (this.proc.exitCode !== null) throw new Error(`kamailio (${this.kind}) exited: see ${join(this.runDir, 'kamailio.log')}`);
      if (await probeUdp(this.port)) {
        this.pids = processTree(this.mainPid);
        return;
      }
      await sleep(100);
    }
    throw new Error(`kamailio (${this.kind}) did not answer on udp 127.0.0.1:${this.port}`);
  }

  get pid(): number {
    return this.mainPid;
  }

  /** CPU µs of all Kamailio processes so far. */
  cpuUs(): number {
    let t = 0;
    for (const p of this.pids) t += processCpuUs(p);
    return t;
  }

  rss(): number {
    let t = 0;
    for (const p of this.pids) t += processRss(p);
    return t;
  }

  processCount(): number {
    return this.pids.length;
  }

  /** `kamcmd core.shmmem` (bytes). */
  shmmem(): ShmStats {
    const out = execFileSync(kamcmdBin(), ['-s', `unix:${this.ctlSocket}`, 'core.shmmem'], { timeout: 10_000 }).toString();
    const num = (k: string) => {
      const m = new RegExp(`\\b${k}:\\s*(\\d+)`).exec(out);
      return m === null ? 0 : Number(m[1]);
    };
    return { total: num('total'), free: num('free'), used: num('used'), realUsed: num('real_used'), maxUsed: num('max_used'), fragments: num('fragments') };
  }

  /**
   * Creates subscriptions through the pua_rpc interface, one
   * `pua.subscribe <presentity> <watcher> presence <expires>` line per
   * subscription fed to one kamcmd on its stdin (docs/benchmark-method.md §6.5).
   */
  async rpcSubscribe(lines: Iterable<string>): Promise<number> {
    const child = spawn(kamcmdBin(), ['-s', `unix:${this.ctlSocket}`], { stdio: ['pipe', 'ignore', 'ignore'] });
    let n = 0;
    const stdin = child.stdin;
    for (const line of lines) {
      n++;
      if (!stdin.write(`${line}\n`)) await new Promise((r) => stdin.once('drain', r));
    }
    stdin.end();
    await new Promise<void>((resolve) => child.once('exit', () => resolve()));
    return n;
  }

  /** SIGTERM to the main pid (it stops its children), SIGKILL to each remaining pid after `boundMs`. */
  async stop(boundMs = 5000): Promise<void> {
    const proc = this.proc;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) {
      unregisterCleanup(this);
      return;
    }
    const gone = new Promise<void>((r) => proc.once('exit', () => r()));
    try {
      process.kill(this.mainPid, 'SIGTERM');
    } catch {
      // already gone
    }
    const timer = setTimeout(() => {
      for (const p of this.pids) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }, boundMs);
    await gone;
    clearTimeout(timer);
    // Workers exit with the main process; make sure none is left behind.
    for (const p of this.pids) {
      if (p !== this.mainPid && existsSync(`/proc/${p}`)) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    unregisterCleanup(this);
  }

  /** Synchronous best effort for process exit handlers. */
  killNow(): void {
    for (const p of this.pids.length > 0 ? this.pids : [this.mainPid]) {
      try {
        if (p > 0) process.kill(p, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
}

const running = new Set<KamailioPeer>();
let hooked = false;
function registerCleanup(k: KamailioPeer): void {
  running.add(k);
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const r of running) r.killNow();
  });
}
function unregisterCleanup(k: KamailioPeer): void {
  running.delete(k);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Sends an OPTIONS and says whether anything answered within 300 ms. */
export function probeUdp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const done = (ok: boolean) => {
      clearTimeout(timer);
      s.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 300);
    s.on('message', () => done(true));
    s.on('error', () => done(false));
    s.bind(0, '127.0.0.1', () => {
      const p = s.address().port;
      const msg =
        `OPTIONS sip:probe@127.0.0.1:${port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${p};branch=z9hG4bKprobe${Date.now()}\r\n` +
        `Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=p1\r\nTo: <sip:probe@127.0.0.1>\r\nCall-ID: probe${Date.now()}@bench\r\n` +
        'CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n';
      s.send(msg, port, '127.0.0.1');
    });
  });
}
