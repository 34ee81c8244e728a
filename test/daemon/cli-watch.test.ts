import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, test } from 'node:test';
import { kamailioAddress } from '../support/peers.js';
import { ScriptedSipPeer } from '../support/scripted-peer.js';
import { CLI_PATH, cleanEnv, DaemonProcess, runCli, testConfig } from './support/daemon-process.js';

interface WatchLine {
  state: string;
  record: string;
  presence?: { tuples: Array<{ basic?: string; notes: Array<{ text: string }> }> };
}

const cleanups: Array<() => void | Promise<void>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/**
 * Runs `watch --json` and calls `step(lines)` after every status line, so
 * that the test can publish the next state once the previous one arrived.
 */
function watch(args: string[], step: (lines: WatchLine[], stop: () => void) => void, timeoutMs: number): Promise<{ code: number | null; lines: WatchLine[]; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_PATH, 'watch', ...args], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    cleanups.push(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    const lines: WatchLine[] = [];
    let buffer = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const text = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        lines.push(JSON.parse(text) as WatchLine);
        step(lines, () => child.kill('SIGINT'));
      }
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });
    const deadline = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`watch did not exit within ${timeoutMs} ms; lines: ${JSON.stringify(lines)}; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(deadline);
      resolve({ code, lines, stderr });
    });
  });
}

const basics = (lines: WatchLine[]) => lines.map((l) => l.presence?.tuples[0]?.basic ?? '-');

/** Publishes and returns the SIP-ETag printed by the CLI. */
async function publish(record: string, basic: 'open' | 'closed', proxy: string, extra: string[] = []): Promise<string> {
  const result = await runCli(['publish', record, basic, '--proxy', proxy, ...extra], { timeoutMs: 10_000 });
  assert.equal(result.code, 0, `publish ${basic}: ${result.stderr}`);
  const etag = /etag=(\S+)/.exec(result.stdout)?.[1];
  assert.ok(etag !== undefined, result.stdout);
  return etag;
}

test("watch --json against the daemon's local agent sees open then closed published with the CLI", async () => {
  const daemon = await DaemonProcess.start(testConfig({ local_agent: { enabled: true, domains: ['localhost'] } }));
  cleanups.push(() => daemon.kill());
  const sip = daemon.sipAddress('udp');
  const proxy = `sip:${sip.host}:${sip.port}`;
  const record = 'sip:alice@localhost';
  let published = 0;
  let etag: Promise<string> | undefined;
  const result = await watch(
    [record, '--as', 'sip:bob@localhost', '--proxy', proxy, '--json', '--count', '3', '--timeout', '10'],
    (lines) => {
      // 1st line: the subscription is active (no publication yet); then open; then closed.
      if (lines.length === 1 && published === 0) {
        published++;
        etag = publish(record, 'open', proxy, ['--note', 'in a meeting']);
      } else if (lines.length === 2 && published === 1) {
        published++;
        void etag?.then((e) => publish(record, 'closed', proxy, ['--etag', e]));
      }
    },
    15_000,
  );
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.lines.length, 3);
  assert.deepEqual(basics(result.lines), ['-', 'open', 'closed']);
  assert.ok(result.lines.every((l) => l.state === 'active' && l.record === record));
  assert.equal(result.lines[1]?.presence?.tuples[0]?.notes[0]?.text, 'in a meeting');
  const stopped = await daemon.stop();
  assert.equal(stopped.code, 0);
});

test('watch with nobody answering: what it tries, "no answer yet", then exit 1 with a hint naming the target', async () => {
  // Nobody answers on this port: no status before the timeout.
  const result = await runCli(['watch', 'sip:alice@127.0.0.1:9', '--as', 'sip:bob@127.0.0.1', '--proxy', '127.0.0.1:9', '--timeout', '3'], { timeoutMs: 10_000 });
  assert.equal(result.code, 1);
  assert.deepEqual(result.stderr.trim().split('\n'), [
    'watch: trying sip:127.0.0.1:9 (udp) for sip:alice@127.0.0.1:9 as sip:bob@127.0.0.1',
    'watch: no answer yet from sip:127.0.0.1:9 (udp) after 2 s',
    'watch: timed out after 3 s with 0 message(s)',
    "watch: no answer from sip:127.0.0.1:9 (udp): is a presence server listening there? The daemon answers on sip:127.0.0.1:5060 once started (presence-b2b start); --proxy names another server, --no-proxy resolves the record's domain",
  ]);
  assert.equal(result.stdout, '');
});

test('a record or --as that is not a SIP URI: exit 2 at once with the HTTP API message; user@host is sip:user@host', async () => {
  const bad = await runCli(['watch', 'alice', '--as', 'sip:bob@localhost', '--timeout', '5'], { timeoutMs: 10_000 });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /expected a SIP URI such as sip:alice@example\.com, got "alice"/);
  const badPublish = await runCli(['publish', 'sip:alice@localhost', 'open', '--as', 'bob'], { timeoutMs: 10_000 });
  assert.equal(badPublish.code, 2);
  assert.match(badPublish.stderr, /got "bob"/);
  const short = await runCli(['watch', 'alice@127.0.0.1', '--as', 'bob@127.0.0.1', '--proxy', '127.0.0.1:9', '--timeout', '1'], { timeoutMs: 10_000 });
  assert.match(short.stderr, /^watch: trying sip:127\.0\.0\.1:9 \(udp\) for sip:alice@127\.0\.0\.1 as sip:bob@127\.0\.0\.1$/m);
});

test('--proxy ;transport=tcp while --listen is UDP: the TCP socket is opened, the SUBSCRIBE goes over TCP', async () => {
  const peer = await ScriptedSipPeer.start({ transport: 'tcp' });
  cleanups.push(() => peer.close());
  const proxy = `sip:127.0.0.1:${peer.address.port};transport=tcp`;
  const run = runCli(['watch', 'sip:alice@example.com', '--as', 'sip:bob@example.com', '--proxy', proxy, '--count', '1', '--timeout', '5'], { timeoutMs: 10_000 });
  const subscribe = await peer.expectRequest({ method: 'SUBSCRIBE', timeoutMs: 10_000 });
  assert.match(subscribe.message.headers.get('Via') ?? '', /^SIP\/2\.0\/TCP /);
  await peer.reply(subscribe, 200, { toTag: 't1', headers: [['Expires', '600']] });
  await peer.sendNotify(subscribe.from, { ...peer.notifyOptionsFor(subscribe, 't1'), cseq: 1 });
  const result = await run;
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, / sip:alice@example\.com active/);
});

test('watch exits 1 when the subscription is rejected (403)', async () => {
  const peer = await ScriptedSipPeer.start({ transport: 'udp' });
  cleanups.push(() => peer.close());
  const target = `sip:alice@127.0.0.1:${peer.address.port}`;
  const run = runCli(['watch', target, '--as', 'sip:bob@127.0.0.1', '--proxy', target, '--timeout', '5'], { timeoutMs: 10_000 });
  const subscribe = await peer.expectRequest({ method: 'SUBSCRIBE', timeoutMs: 10_000 });
  await peer.reply(subscribe, 403, { toTag: 'x' });
  const result = await run;
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stdout, /^\S+Z sip:alice@127\.0\.0\.1:\d+ rejected reason=rejected error=B2B_ERR_SUBSCRIBE_REJECTED/m);
  assert.match(result.stderr, /subscription rejected/);
});

test('watch and publish against Kamailio (PB2B_KAMAILIO): open then closed', async () => {
  const kamailio = kamailioAddress(); // throws a clear "peers are not running" error without scripts/with-peers.sh
  const proxy = `sip:${kamailio.host}:${kamailio.port}`;
  // A fresh user per run: Kamailio keeps publications for their lifetime.
  const record = `sip:user${Math.floor(Math.random() * 90000) + 10000}@example.com`;
  let stage = 0;
  let etag: Promise<string> | undefined;
  const result = await watch(
    [record, '--as', 'sip:bob@example.com', '--proxy', proxy, '--json', '--timeout', '15'],
    (lines, stop) => {
      const last = lines.at(-1)?.presence?.tuples[0]?.basic;
      if (stage === 0) {
        stage = 1;
        etag = publish(record, 'open', proxy);
      } else if (stage === 1 && last === 'open') {
        stage = 2;
        void etag?.then((e) => publish(record, 'closed', proxy, ['--etag', e]));
      } else if (stage === 2 && last === 'closed') {
        stage = 3;
        stop(); // SIGINT: the watch unsubscribes and exits 0
      }
    },
    20_000,
  );
  assert.equal(result.code, 0, result.stderr);
  const seen = basics(result.lines).filter((b) => b !== '-');
  assert.deepEqual(seen.slice(0, 2), ['open', 'closed'], JSON.stringify(result.lines));
  assert.equal(stage, 3);
});
