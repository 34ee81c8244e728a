/**
 * The newcomer's path: from a clean clone of the committed tree, the README's
 * install-and-run command works exactly as written (the daemon comes up on its
 * embedded defaults), the quick start's watch/publish lines work against it, and
 * CI runs the README's test command.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';

const run = promisify(execFile);

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'README.md'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('repository root not found');
    dir = up;
  }
  return dir;
}

/** The shell blocks of the README's "Quick start" section, in order. */
function quickStartBlocks(readme: string): string[] {
  const start = readme.indexOf('## Quick start');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!.trim());
}

describe('README quick start', { timeout: 240_000 }, () => {
  const root = repoRoot();
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const [installAndRun, watchPublish, testCommand] = quickStartBlocks(readme);
  let clone: string | undefined;
  let daemon: ChildProcess | undefined;

  /**
   * The command runs detached (a process group of its own, so that the graceful stop below
   * reaches bash and the daemon): stopping it means stopping that group. Killing only bash
   * left the daemon holding 127.0.0.1:5060, and the next run's quick start failed with
   * "udp 127.0.0.1:5060 … is in use"; so did a run stopped by a signal, which runs no hook.
   */
  const killDaemonGroup = () => {
    if (daemon?.pid === undefined) return;
    try {
      process.kill(-daemon.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  const onSignal = (signal: NodeJS.Signals) => {
    killDaemonGroup();
    process.kill(process.pid, signal);
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  after(() => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    killDaemonGroup();
    if (clone) rmSync(clone, { recursive: true, force: true });
  });

  it('names one install-and-run command and one test command, and CI runs that test command', () => {
    assert.match(installAndRun ?? '', /^npm ci && npm run build && node dist\/src\/cli\/main\.js start$/);
    assert.equal(testCommand, 'npm ci && npm test');
    const ci = readFileSync(join(root, '.ci/run'), 'utf8');
    assert.match(ci, /npm ci\b/);
    assert.match(ci, /\bnpm test\b/);
  });

  it('the install-and-run command starts the daemon from a clean clone, and watch/publish work against it', async () => {
    clone = mkdtempSync(join(tmpdir(), 'pb2b-newcomer-'));
    await run('git', ['clone', '-q', root, clone]);
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PRESENCE_B2B_') && !k.startsWith('npm_')) env[k] = v;
    // `publish` keeps its entity-tags under XDG_STATE_HOME: the clone's, not the user's.
    env.XDG_STATE_HOME = join(clone, '.state');
    daemon = spawn('bash', ['-c', installAndRun!], { cwd: clone, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`daemon not ready within 180 s:\n${output.slice(-3000)}`)), 180_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('HTTP API listening')) {
          clearTimeout(timer);
          resolve();
        }
      };
      daemon!.stdout!.on('data', onData);
      daemon!.stderr!.on('data', onData);
      daemon!.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the command exited with ${code}:\n${output.slice(-3000)}`));
      });
    });
    await ready;

    // The quick start's second block: watch in the background, two publications.
    const lines = watchPublish!.split('\n');
    const watchLine = lines[0]!.replace(/ &$/, '');
    assert.match(watchLine, /watch sip:alice@localhost --as sip:bob@localhost$/);
    // The publications start once watch has printed its first line (the agent's NOTIFY for the new
    // subscription): from then on watch is subscribed and sees both of them.
    const watch = spawn('bash', ['-c', `${watchLine} --json --count 3 --timeout 20`], { cwd: clone, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    watch.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const watchExit = new Promise<number | null>((resolve) => watch.on('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`watch printed nothing within 20 s: ${stderr}`)), 20_000);
      watch.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('\n')) {
          clearTimeout(timer);
          resolve();
        }
      });
      void watchExit.then((code) => {
        clearTimeout(timer);
        reject(new Error(`watch exited with ${code} before printing: ${stderr}`));
      });
    });
    for (const line of lines.slice(1)) await run('bash', ['-c', line], { cwd: clone, env, timeout: 20_000 });
    assert.equal(await watchExit, 0, `watch failed: ${stderr}`);
    const messages = stdout.trim().split('\n').map((l) => JSON.parse(l) as { state: string; presence?: { tuples: Array<{ basic?: string }> } });
    const basics = messages.map((m) => m.presence?.tuples[0]?.basic ?? '-');
    assert.deepEqual(basics.slice(-2), ['open', 'closed'], `watch printed ${stdout}`);

    // SIGTERM to the whole command (bash and the daemon): a graceful stop with status 0.
    const exited = new Promise<number | null>((resolve) => daemon!.on('exit', (code) => resolve(code)));
    process.kill(-daemon.pid!, 'SIGTERM');
    assert.equal(await exited, 0);
    daemon = undefined;
  });
});
