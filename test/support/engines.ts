/**
 * The engines of the cluster mode (issue 16), started by tests and benchmarks
 * themselves: a throw-away PostgreSQL 15 server (peers/start-postgres.sh:
 * initdb in a temporary directory under /tmp, 127.0.0.1 on a free port, run
 * by a non-root user) and a NATS server with JetStream (peers/start-nats.sh).
 * Both scripts install the Debian package when it is missing; a server that
 * cannot start is an error, never a skip. Each is stopped by its pid
 * (peers/stop-*.sh) and its directory removed.
 */
import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { occupyTcpPort } from './port-check.js';
import { repoRoot } from './repo-root.js';

export interface RunningEngine {
  /** Connection URL: postgres://… or nats://… */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  readonly runDir: string;
  /** Stops the server by its pid and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

function run(script: string, env: Record<string, string>, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('bash', [join(repoRoot(), 'peers', script)], { env: { ...process.env, ...env }, timeout: timeoutMs }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`${script} failed: ${error.message}\n${stderr}`));
      else resolve(stdout.trim());
    });
  });
}

async function freeTcpPort(): Promise<number> {
  const held = await occupyTcpPort(0);
  await held.release();
  return held.port;
}

export interface PostgresOptions {
  /** fsync and synchronous_commit on (benchmarks); off by default (tests). */
  durable?: boolean;
}

/** Starts a fresh PostgreSQL server (superuser `pb2b`, database `pb2b`, trust on loopback). */
export async function startPostgres(options: PostgresOptions = {}): Promise<RunningEngine> {
  const runDir = await mkdtemp('/tmp/pb2b-pg-');
  const port = await freeTcpPort();
  const env = { PG_PORT: String(port), PG_RUN_DIR: runDir, PG_DURABLE: options.durable === true ? '1' : '0' };
  const pid = Number(await run('start-postgres.sh', env, 120_000));
  let stopped: Promise<void> | undefined;
  return {
    url: `postgres://pb2b@127.0.0.1:${port}/pb2b`,
    port,
    pid,
    runDir,
    stop() {
      stopped ??= run('stop-postgres.sh', { ...env, PG_REMOVE: '1' }, 30_000).then(() => undefined);
      return stopped;
    },
  };
}

/** Starts a fresh NATS server with JetStream (file store under its directory). */
export async function startNats(): Promise<RunningEngine> {
  const runDir = await mkdtemp('/tmp/pb2b-nats-');
  const port = await freeTcpPort();
  const env = { NATS_PORT: String(port), NATS_RUN_DIR: runDir };
  const pid = Number(await run('start-nats.sh', env, 120_000));
  let stopped: Promise<void> | undefined;
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    pid,
    runDir,
    stop() {
      stopped ??= run('stop-nats.sh', { ...env, NATS_REMOVE: '1' }, 30_000).then(() => undefined);
      return stopped;
    },
  };
}

/** A new empty database on a running server (one per test), its URL. */
export async function createDatabase(server: RunningEngine, name: string): Promise<string> {
  const { default: postgres } = await import('postgres');
  const admin = postgres(server.url, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`CREATE DATABASE "${name.replace(/"/g, '')}"`);
  } finally {
    await admin.end({ timeout: 5 });
  }
  return server.url.replace(/\/pb2b$/, `/${name}`);
}
