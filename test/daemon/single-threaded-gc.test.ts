/**
 * single_threaded_gc (docs/latency-tail.md, "Single-threaded GC by default on one core"):
 * `presence-b2b start` runs itself again with node --single-threaded-gc when the setting asks for
 * it. On node 20 the daemon is a child of the started process: signals are passed on and counted
 * once, the exit status is the daemon's, and a SIGKILL of the started pid leaves nothing running.
 * Where node has process.execve the process replaces itself (same pid).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, test } from 'node:test';
import { RUNTIME_FLAG_TAKES_EFFECT } from '../../src/util/marking-at-the-limit.js';
import { DaemonProcess, testConfig } from './support/daemon-process.js';

const daemons: DaemonProcess[] = [];
after(() => {
  for (const d of daemons) d.kill();
});

interface GcLine {
  gc: string;
  relaunched: boolean;
  pid: number;
  single_threaded_gc: unknown;
  marking_at_the_limit: boolean;
  heap_growing_percent: number;
}

function gcLine(daemon: DaemonProcess): GcLine {
  const line = daemon.lines.find((l) => l.msg === 'V8 garbage collection');
  assert.ok(line !== undefined, 'the daemon logs how V8 collects garbage');
  return line as unknown as GcLine;
}

/** The node options of a running process, from /proc (Linux). */
function commandLine(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
}

async function gone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (!existsSync(`/proc/${pid}`)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

const linux = { skip: process.platform !== 'linux' };

test('single_threaded_gc: true: the daemon runs under --single-threaded-gc, SIGTERM stops it once with status 0', linux, async () => {
  const daemon = await DaemonProcess.start(testConfig({ single_threaded_gc: true }));
  daemons.push(daemon);
  const line = gcLine(daemon);
  assert.equal(line.gc, 'single-threaded');
  assert.equal(line.single_threaded_gc, true);
  assert.equal(line.marking_at_the_limit, true, 'single-threaded, marking starts at the limit (src/util/marking-at-the-limit.ts)');
  assert.ok(commandLine(line.pid).includes('--single-threaded-gc'), commandLine(line.pid).join(' '));
  assert.equal(line.heap_growing_percent, 300, 'single-threaded, the old generation gets room above its live heap (src/util/heap-growing.ts)');
  assert.ok(commandLine(line.pid).includes('--heap-growing-percent=300') || line.pid === daemon.child.pid, commandLine(line.pid).join(' '));
  assert.equal(line.relaunched, line.pid !== daemon.child.pid, 'a child only where the process could not replace itself');
  const result = await daemon.stop('SIGTERM');
  assert.equal(result.code, 0, daemon.stderr);
  assert.equal(daemon.lines.filter((l) => l.msg === 'stopped').length, 1);
  assert.ok(await gone(line.pid, 5000), 'the daemon process ended');
});

/** A daemon with single_threaded_gc: true, if it runs as a child of the started process (node without process.execve). */
async function startRelaunched(t: { skip(message: string): void }): Promise<{ daemon: DaemonProcess; pid: number } | undefined> {
  const daemon = await DaemonProcess.start(testConfig({ single_threaded_gc: true }));
  daemons.push(daemon);
  const line = gcLine(daemon);
  if (line.relaunched) return { daemon, pid: line.pid };
  t.skip('this node replaced the process (process.execve): there is no second process');
  await daemon.stop('SIGTERM');
  return undefined;
}

test('relaunched as a child: a SIGINT to both processes (a terminal Ctrl-C) is one request, status 0', linux, async (t) => {
  const started = await startRelaunched(t);
  if (started === undefined) return;
  const { daemon, pid } = started;
  process.kill(pid, 'SIGINT');
  const result = await daemon.stop('SIGINT');
  assert.equal(result.code, 0, daemon.stderr);
  assert.ok(!daemon.lines.some((l) => l.msg === 'second signal: exiting now'), 'not taken as an impatient second signal');
});

test('relaunched as a child: SIGKILL of the started pid ends the daemon too', linux, async (t) => {
  const started = await startRelaunched(t);
  if (started === undefined) return;
  await started.daemon.stop('SIGKILL');
  assert.ok(await gone(started.pid, 5000), 'the daemon died with its parent');
});

test('single_threaded_gc: false: no relaunch, V8 collects concurrently', linux, async () => {
  const daemon = await DaemonProcess.start(testConfig({ single_threaded_gc: false }));
  daemons.push(daemon);
  const line = gcLine(daemon);
  assert.equal(line.gc, 'concurrent');
  assert.equal(line.marking_at_the_limit, false, "V8's own marking schedule with concurrent GC");
  assert.equal(line.heap_growing_percent, 0, "V8's own heap growing factor with concurrent GC");
  assert.equal(line.relaunched, false);
  assert.equal(line.pid, daemon.child.pid);
  assert.ok(!commandLine(line.pid).includes('--single-threaded-gc'));
  assert.equal((await daemon.stop('SIGTERM')).code, 0, daemon.stderr);
});

test('heap_growing_percent given with concurrent GC: in effect on every node (set at run time on node 20, else on a relaunched command line)', linux, async () => {
  const daemon = await DaemonProcess.start(testConfig({ single_threaded_gc: false, heap_growing_percent: 200 }));
  daemons.push(daemon);
  const line = gcLine(daemon);
  assert.equal(line.gc, 'concurrent');
  assert.equal(line.heap_growing_percent, 200, 'the percent given is in effect');
  if (RUNTIME_FLAG_TAKES_EFFECT) {
    assert.equal(line.relaunched, false, 'node 20 honours the flag set in the running process: no relaunch');
    assert.ok(!commandLine(line.pid).includes('--heap-growing-percent=200'));
  } else {
    assert.ok(commandLine(line.pid).includes('--heap-growing-percent=200'), commandLine(line.pid).join(' '));
  }
  assert.equal((await daemon.stop('SIGTERM')).code, 0, daemon.stderr);
});

test('node started with --single-threaded-gc: marking at the limit and room above the old generation on every node', linux, async () => {
  const daemon = await DaemonProcess.start(testConfig({ single_threaded_gc: true }), { nodeArgs: ['--single-threaded-gc'] });
  daemons.push(daemon);
  const line = gcLine(daemon);
  assert.equal(line.gc, 'single-threaded');
  assert.equal(line.marking_at_the_limit, true);
  assert.equal(line.heap_growing_percent, 300);
  if (RUNTIME_FLAG_TAKES_EFFECT) {
    assert.equal(line.relaunched, false, 'node 20 honours both flags set in the running process: no relaunch');
  } else {
    const options = commandLine(line.pid);
    assert.ok(options.includes('--no-incremental-marking-task') && options.includes('--heap-growing-percent=300'), options.join(' '));
  }
  assert.equal((await daemon.stop('SIGTERM')).code, 0, daemon.stderr);
});
