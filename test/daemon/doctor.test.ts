/**
 * `presence-b2b doctor`: one line per check, exit 0 when everything start
 * needs is there (free ports, an outbound proxy that resolves and answers
 * OPTIONS, a store that can be created, a HEP collector that resolves), exit
 * 1 with a FAIL line for each thing that is not.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { SqliteSubscriptionStore } from '../../src/store/sqlite-store.js';
import { ScriptedSipPeer } from '../support/scripted-peer.js';
import { runCli } from './support/daemon-process.js';

let dir: string;
const cleanups: Array<() => unknown> = [];

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'pb2b-doctor-'));
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
  rmSync(dir, { recursive: true, force: true });
});

function writeConfig(name: string, config: Record<string, unknown>): string {
  const file = join(dir, name);
  writeFileSync(file, stringify(config));
  return file;
}

/** A port that was free a moment ago (bound to 0, read, released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function lines(stdout: string): string[] {
  return stdout.trimEnd().split('\n');
}

test('a good configuration: every check ok (the proxy answers OPTIONS), exit 0', async () => {
  const proxy = await ScriptedSipPeer.start({ transport: 'udp' });
  cleanups.push(() => proxy.close());
  const [sipPort, httpPort] = [await freePort(), await freePort()];
  const file = writeConfig('good.yaml', {
    presence_outbound_proxy: `sip:127.0.0.1:${proxy.address.port}`,
    sip: { listen: [{ transport: 'udp', host: '127.0.0.1', port: sipPort }, { transport: 'tcp', host: '127.0.0.1', port: sipPort }] },
    http: { host: '127.0.0.1', port: httpPort },
    store: { type: 'sqlite', path: join(dir, 'good.db') },
    hep: { address: '127.0.0.1', port: 9060, capture_id: 1 },
  });
  const run = runCli(['doctor', '-c', file, '--timeout', '5']);
  const options = await proxy.expectRequest({ method: 'OPTIONS', timeoutMs: 5000 });
  assert.equal(options.message.uri, `sip:127.0.0.1:${proxy.address.port}`);
  await proxy.reply(options, 200, { toTag: 'px' });
  const result = await run;
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.deepEqual(lines(result.stdout).map((l) => l.replace(/ in \d+ ms$/, ' in N ms')), [
    `ok    config: ${file} is valid`,
    `ok    sip udp 127.0.0.1:${sipPort}: free`,
    `ok    sip tcp 127.0.0.1:${sipPort}: free`,
    `ok    http 127.0.0.1:${httpPort}: free`,
    `ok    outbound proxy: sip:127.0.0.1:${proxy.address.port} resolves to udp 127.0.0.1:${proxy.address.port}`,
    'ok    outbound proxy: answers OPTIONS: 200 OK in N ms',
    `ok    store: ${join(dir, 'good.db')} will be created (${dir} is writable)`,
    'ok    hep: collector 127.0.0.1 resolves to 127.0.0.1 (port 9060, capture id 1)',
  ]);
});

test('a bad configuration: one FAIL line per problem, exit 1', async () => {
  const file = writeConfig('invalid.yaml', { default_expiration: 'soon', http: { prot: 1 } });
  const result = await runCli(['doctor', '-c', file]);
  assert.equal(result.code, 1);
  assert.deepEqual(lines(result.stdout).sort(), ['FAIL  config: default_expiration: expected a number ≥ 1, got "soon"', 'FAIL  config: http.prot: unknown key (did you mean http.port?)']);
});

test('a valid configuration whose ports are taken, proxy is silent, store directory is missing and collector does not resolve: each FAILs, exit 1', async () => {
  const udp: Socket = createSocket('udp4');
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
  const tcp: Server = createServer();
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => udp.close(), () => tcp.close());
  const takenUdp = udp.address().port;
  const takenTcp = (tcp.address() as { port: number }).port;
  // Nobody answers there: a bound UDP socket that reads nothing.
  const silent: Socket = createSocket('udp4');
  await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
  cleanups.push(() => silent.close());
  const file = writeConfig('broken.yaml', {
    presence_outbound_proxy: `sip:127.0.0.1:${silent.address().port}`,
    sip: { listen: [{ transport: 'udp', host: '127.0.0.1', port: takenUdp }] },
    http: { host: '127.0.0.1', port: takenTcp },
    store: { type: 'sqlite', path: join(dir, 'no-such-dir', 'x.db') },
    hep: { address: 'collector.invalid', port: 9060, capture_id: 1 },
  });
  const result = await runCli(['doctor', '-c', file, '--timeout', '1']);
  assert.equal(result.code, 1, result.stdout + result.stderr);
  const out = lines(result.stdout);
  assert.equal(out.length, 7, result.stdout);
  assert.equal(out[0], `ok    config: ${file} is valid`);
  assert.match(out[1]!, new RegExp(`^FAIL  sip udp 127\\.0\\.0\\.1:${takenUdp}: in use \\(EADDRINUSE\\)`));
  assert.match(out[2]!, new RegExp(`^FAIL  http 127\\.0\\.0\\.1:${takenTcp}: in use \\(EADDRINUSE\\)`));
  assert.match(out[3]!, /^ok {4}outbound proxy: .* resolves to udp 127\.0\.0\.1:\d+$/);
  assert.equal(out[4], 'FAIL  outbound proxy: no answer to OPTIONS within 1 s');
  assert.match(out[5]!, /^FAIL {2}store: store .*x\.db: cannot be created \(directory .*no-such-dir does not exist\)$/);
  assert.match(out[6]!, /^FAIL {2}hep: collector collector\.invalid does not resolve/);
});

test('a store held by another process (a running daemon) FAILs', async () => {
  const path = join(dir, 'held.db');
  const held = SqliteSubscriptionStore.open(path);
  cleanups.push(() => held.close());
  const file = writeConfig('held.yaml', {
    sip: { listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }] },
    http: { enabled: false },
    store: { type: 'sqlite', path },
  });
  const result = await runCli(['doctor', '-c', file]);
  assert.equal(result.code, 1, result.stdout + result.stderr);
  assert.deepEqual(lines(result.stdout).slice(0, 3), [`ok    config: ${file} is valid`, 'ok    sip udp 127.0.0.1:0: any free port', 'skip  http: http.enabled is false']);
  assert.match(lines(result.stdout)[4] ?? '', /^FAIL {2}store: store .*held\.db: .*\(a running daemon\?\)$/);
});
