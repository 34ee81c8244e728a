import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { cleanEnv, DaemonProcess, runCli, testConfig } from './support/daemon-process.js';

const dir = mkdtempSync(join(tmpdir(), 'pb2b-config-errors-'));
const running: DaemonProcess[] = [];
after(() => {
  for (const d of running) d.kill();
  rmSync(dir, { recursive: true, force: true });
});

/** A file that exists but holds no key nor certificate. */
const NOT_PEM = join(dir, 'not-pem.txt');
writeFileSync(NOT_PEM, 'not a PEM file\n');

let n = 0;
function configFile(config: Record<string, unknown>): string {
  const file = join(dir, `c${++n}.yaml`);
  writeFileSync(file, stringify(config));
  return file;
}

/** A port that was free a moment ago. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

describe('start: configuration errors exit 2 naming the key, before anything binds', () => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['unknown key', { ...testConfig(), default_expiraton: 60 }, /^config error: default_expiraton: unknown key \(did you mean default_expiration\?\)$/m],
    ['wrong type', { ...testConfig(), default_expiration: 'abc' }, /^config error: default_expiration: expected a number ≥ 1, got "abc"$/m],
    ['out of range', testConfig({ http: { host: '127.0.0.1', port: 70000 } }), /^config error: http\.port: expected a number from 0 to 65535, got 70000$/m],
    ['helper_threads_nice_after_s not a whole number', { ...testConfig(), helper_threads_nice_after_s: 'soon' }, /^config error: helper_threads_nice_after_s: expected a number from 0 to 86400, got "soon"$/m],
    ['min_resubscribe_time 0 (a refresh loop)', { ...testConfig(), min_resubscribe_time: 0 }, /^config error: min_resubscribe_time: expected a number ≥ 1, got 0$/m],
    ['token missing beyond loopback', testConfig({ http: { host: '0.0.0.0', port: 0 } }), /^config error: http\.token: required when the HTTP API listens beyond loopback/m],
    [
      'nested resource lists that contain each other',
      testConfig({ resource_lists: { 'sip:a@example.com': { members: ['sip:b@example.com'] }, 'sip:b@example.com': { members: ['sip:a@example.com'] } } }),
      /^config error: resource_lists\.sip:a@example\.com: nested lists form a cycle: sip:a@example\.com → sip:b@example\.com → sip:a@example\.com$/m,
    ],
    [
      'a user agent source outside the local domains',
      testConfig({ local_agent: { domains: ['localhost'], user_agents: { 'sip:alice@example.com': 'sip:alice@127.0.0.1:5080' } } }),
      /^config error: local_agent\.user_agents\.sip:alice@example\.com: not in a domain of local_agent\.domains \(localhost\)$/m,
    ],
    // These were found only after the SIP sockets were bound (exit 1) before they were checked here.
    ['a bad additional_presence_headers line', { ...testConfig(), additional_presence_headers: 'X-Foo bar' }, /^config error: additional_presence_headers: expected "Name: value" header lines, got "X-Foo bar"$/m],
    ['a presence_route that is not a Route value', { ...testConfig(), presence_route: 'proxy.example.com;lr' }, /^config error: presence_route: expected Route values such as "<sip:proxy\.example\.com;lr>"/m],
    ['a presence_outbound_proxy that does not parse', { ...testConfig(), presence_outbound_proxy: 'sip:proxy example.com' }, /^config error: presence_outbound_proxy: expected a SIP URI/m],
    ['a user_agent that would inject a header', { ...testConfig(), user_agent: 'x\r\nX-Injected: 1' }, /^config error: user_agent: expected text without line breaks/m],
    ['the same SIP socket twice', testConfig({ sip: { listen: [{ transport: 'udp', host: '127.0.0.1', port: 5099 }, { transport: 'udp', host: '127.0.0.1', port: 5099 }] } }), /^config error: sip\.listen\.1\.port: expected each socket once/m],
    ['a TLS key file that cannot be read', testConfig({ sip: { listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }, { transport: 'tls', host: '127.0.0.1', port: 0, tls: { key_file: join(dir, 'no-key.pem'), cert_file: join(dir, 'no-cert.pem') } }] } }), /^config error: sip\.listen\.1\.tls\.key_file: cannot read .*no-key\.pem: ENOENT$/m],
    ['a TLS key file that is not PEM', testConfig({ sip: { listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }, { transport: 'tls', host: '127.0.0.1', port: 0, tls: { key_file: NOT_PEM, cert_file: NOT_PEM } }] } }), /^config error: sip\.listen\.1\.tls\.key_file: .*not-pem\.txt: not a PEM private key \(.+\)\nconfig error: sip\.listen\.1\.tls\.cert_file: .*not-pem\.txt: not a PEM certificate/m],
  ];
  for (const [name, config, pattern] of cases) {
    test(name, async () => {
      const result = await runCli(['start', '-c', configFile(config)], { timeoutMs: 10_000 });
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, pattern);
      assert.doesNotMatch(result.stdout, /listening|cannot start/, 'nothing may bind');
    });
  }

  test('a bad environment override names the key and the variable', async () => {
    const result = await runCli(['start', '-c', configFile(testConfig())], { env: cleanEnv({ PRESENCE_B2B_DEFAULT_EXPIRATION: 'abc' }), timeoutMs: 10_000 });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /^config error: default_expiration \(from PRESENCE_B2B_DEFAULT_EXPIRATION\): expected a number ≥ 1, got "abc"$/m);
  });

  test('a missing config file', async () => {
    const result = await runCli(['start', '-c', join(dir, 'nope.yaml')], { timeoutMs: 10_000 });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^config error: \(top level\): cannot read .*nope\.yaml: ENOENT$/m);
  });
});

test('a port in use: one line on stderr naming the address and the key, exit 1, no stack anywhere', async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  try {
    const result = await runCli(['start', '-c', configFile(testConfig({ http: { host: '127.0.0.1', port } }))], { timeoutMs: 10_000 });
    assert.equal(result.code, 1, result.stderr);
    assert.equal(result.stderr, `cannot start: http 127.0.0.1:${port} (http.port) is in use by another process: stop it, or choose another port\n`);
    const fatal = result.stdout.split('\n').filter((l) => l.includes('"level":"fatal"'));
    assert.equal(fatal.length, 1, result.stdout);
    assert.doesNotMatch(result.stdout, /"stack"| {4}at /, 'no stack trace');
    assert.match(fatal[0] ?? '', /"key":"http\.port"/);
  } finally {
    server.close();
  }
});

test('an environment variable overrides one nested key (PRESENCE_B2B_HTTP__PORT)', async () => {
  const port = await freePort();
  const daemon = await DaemonProcess.start(testConfig(), { env: cleanEnv({ PRESENCE_B2B_HTTP__PORT: String(port) }) });
  running.push(daemon);
  assert.equal(daemon.httpBase, `http://127.0.0.1:${port}`);
  const health = await fetch(`${daemon.httpBase}/healthz`);
  assert.equal(health.status, 200);
  const stopped = await daemon.stop('SIGINT');
  assert.equal(stopped.code, 0);
});
