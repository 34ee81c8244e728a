/**
 * The HTTP API over HTTPS (http.tls), its files checked before anything
 * binds, and the start-up warning for an API beyond loopback in clear.
 * In-process daemon on 127.0.0.1 (the warning's rule is tested on the
 * configuration: a test never listens beyond loopback).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '../../../src/config/config-error.js';
import { parseConfig } from '../../../src/config/index.js';
import { startDaemon } from '../../../src/daemon/daemon.js';
import { plainHttpWarning } from '../../../src/daemon/http-exposure.js';
import { createLogger } from '../../../src/log/logger.js';
import { repoRoot } from '../../support/repo-root.js';

const tlsDir = join(repoRoot(), 'test', 'fixtures', 'tls');
const logger = createLogger({ level: 'silent' });

function config(http: Record<string, unknown>) {
  return parseConfig({
    sip: { listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }] },
    http: { host: '127.0.0.1', port: 0, ...http },
    local_agent: { enabled: false },
    shutdown: { mode: 'leave', timeout_ms: 200 },
    store: { type: 'memory' },
  });
}

function get(module: typeof httpRequest | typeof httpsRequest, url: string, ca?: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = module(url, { ...(ca !== undefined ? { ca } : {}) }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    req.end();
  });
}

test('http.tls: the API answers over HTTPS (the certificate verified against its CA), not over plain HTTP', async () => {
  const daemon = await startDaemon(config({ tls: { cert_file: join(tlsDir, 'cert.pem'), key_file: join(tlsDir, 'key.pem') } }), { logger });
  try {
    const port = daemon.http?.port;
    assert.ok(port !== undefined);
    assert.equal(await get(httpsRequest, `https://127.0.0.1:${port}/healthz`, readFileSync(join(tlsDir, 'cert.pem'))), 200);
    // Without trusting it: refused by the client, as it should be.
    await assert.rejects(get(httpsRequest, `https://127.0.0.1:${port}/healthz`));
    // Plain HTTP to a TLS port gets no HTTP answer.
    await assert.rejects(get(httpRequest, `http://127.0.0.1:${port}/healthz`));
  } finally {
    await daemon.close();
  }
});

test('http.tls with a file that is not there: a config error naming the key, before anything binds', async () => {
  await assert.rejects(startDaemon(config({ tls: { cert_file: join(tlsDir, 'missing.pem'), key_file: join(tlsDir, 'key.pem') } }), { logger }), (error: unknown) => {
    assert.ok(error instanceof ConfigError, String(error));
    assert.match(String(error.message), /http\.tls\.cert_file: cannot read .*missing\.pem: ENOENT/);
    return true;
  });
  // The same with the roles swapped: the certificate is not a key.
  await assert.rejects(startDaemon(config({ tls: { cert_file: join(tlsDir, 'cert.pem'), key_file: join(tlsDir, 'cert.pem') } }), { logger }), /http\.tls\.key_file: .*not a PEM private key/);
});

test('a warning at start for an API beyond loopback without TLS, and only then', () => {
  const token = 'a-long-enough-token';
  assert.match(plainHttpWarning(config({ host: '0.0.0.0', token })) ?? '', /listens on 0\.0\.0\.0 beyond loopback without TLS/);
  assert.match(plainHttpWarning(config({ host: '192.0.2.10', token })) ?? '', /bearer token and the presence data travel in clear/);
  assert.equal(plainHttpWarning(config({ host: '127.0.0.1' })), undefined);
  assert.equal(plainHttpWarning(config({ host: 'localhost' })), undefined);
  assert.equal(plainHttpWarning(config({ host: '0.0.0.0', token, tls: { cert_file: 'c.pem', key_file: 'k.pem' } })), undefined);
  assert.equal(plainHttpWarning(config({ host: '0.0.0.0', token, enabled: false })), undefined);
});
