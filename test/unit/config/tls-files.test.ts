/**
 * A TLS listen entry whose files cannot be used is a configuration error
 * naming the key and the file, found before anything binds (the daemon then
 * exits 2: test/daemon/config-errors.test.ts).
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { b2bOptionsFromConfig } from '../../../src/config/b2b-options.js';
import { ConfigError, parseConfig } from '../../../src/config/index.js';
import { TEST_TLS_CERT, TEST_TLS_KEY } from '../../fixtures/tls/test-certificate.js';

const dir = mkdtempSync(join(tmpdir(), 'pb2b-tls-files-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function problemsOf(tls: Record<string, string>): string[] {
  const config = parseConfig({ sip: { listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }, { transport: 'tls', host: '127.0.0.1', port: 0, tls }] } });
  try {
    b2bOptionsFromConfig(config);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.problems.map((p) => `${p.path}: ${p.message}`);
  }
  return [];
}

test('a usable key and certificate: no problem', () => {
  assert.deepEqual(problemsOf({ key_file: file('key.pem', TEST_TLS_KEY), cert_file: file('cert.pem', TEST_TLS_CERT) }), []);
});

test('an unreadable file, a file that is not PEM: the key and the file are named', () => {
  const garbage = file('garbage.pem', 'hello\n');
  const problems = problemsOf({ key_file: garbage, cert_file: join(dir, 'missing.pem') });
  assert.equal(problems.length, 2, problems.join('\n'));
  assert.match(problems[0]!, new RegExp(`^sip\\.listen\\.1\\.tls\\.key_file: ${garbage.replace(/[.\\/]/g, '\\$&')}: not a PEM private key \\(.+\\)$`));
  assert.match(problems[1]!, /^sip\.listen\.1\.tls\.cert_file: cannot read .*missing\.pem: ENOENT$/);
  const swapped = problemsOf({ key_file: file('cert-as-key.pem', TEST_TLS_CERT), cert_file: file('key-as-cert.pem', TEST_TLS_KEY) });
  assert.match(swapped[0]!, /^sip\.listen\.1\.tls\.key_file: .*cert-as-key\.pem: not a PEM private key/);
  assert.match(swapped[1]!, /^sip\.listen\.1\.tls\.cert_file: .*key-as-cert\.pem: not a PEM certificate/);
});

test('a key that does not belong to the certificate: both files are named', () => {
  const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const key = file('other-key.pem', other);
  const cert = file('cert2.pem', TEST_TLS_CERT);
  const problems = problemsOf({ key_file: key, cert_file: cert });
  assert.equal(problems.length, 1, problems.join('\n'));
  assert.ok(problems[0]!.startsWith('sip.listen.1.tls: expected a PEM key and certificate that belong together'), problems[0]);
  assert.ok(problems[0]!.endsWith(`(key_file ${key}, cert_file ${cert})`), problems[0]);
});
