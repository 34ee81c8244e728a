/**
 * A socket of the configuration that cannot be bound is a DaemonListenError
 * naming the configuration key and the address, and the failed start leaves
 * nothing bound behind it. In-process daemon on 127.0.0.1; the ports are held
 * by the test's own sockets.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { after, test } from 'node:test';
import { parseConfig } from '../../../src/config/index.js';
import { startDaemon } from '../../../src/daemon/daemon.js';
import { DaemonListenError } from '../../../src/daemon/listen-error.js';
import { createLogger } from '../../../src/log/logger.js';

const held: Array<Socket | Server> = [];
after(() => {
  for (const s of held) s.close();
});

function holdUdp(): Promise<number> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    held.push(socket);
    socket.bind(0, '127.0.0.1', () => resolve(socket.address().port));
  });
}

function holdTcp(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    held.push(server);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });
}

function config(sip: Array<Record<string, unknown>>, httpPort = 0) {
  return parseConfig({
    sip: { listen: sip },
    http: { host: '127.0.0.1', port: httpPort },
    local_agent: { enabled: false },
    shutdown: { mode: 'leave', timeout_ms: 200 },
    store: { type: 'memory' },
  });
}

const logger = createLogger({ level: 'silent' });

async function refused(promise: Promise<unknown>): Promise<DaemonListenError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof DaemonListenError, String(error));
    return error;
  }
  assert.fail('the daemon started');
}

test('a SIP port in use: the listen entry and the address are named', async () => {
  const port = await holdUdp();
  const error = await refused(
    startDaemon(
      config([
        { transport: 'tcp', host: '127.0.0.1', port: 0 },
        { transport: 'udp', host: '127.0.0.1', port },
      ]),
      { logger },
    ),
  );
  assert.equal(error.code, 'DAEMON_ERR_LISTEN');
  assert.equal(error.key, 'sip.listen.1.port');
  assert.equal(error.address, `udp 127.0.0.1:${port}`);
  assert.equal(error.failure, 'in-use');
  assert.equal(error.message, `udp 127.0.0.1:${port} (sip.listen.1.port) is in use by another process: stop it, or choose another port`);
});

test('the HTTP port in use: http.port is named, and the SIP sockets bound before are released', async () => {
  const port = await holdTcp();
  const sipPort = await holdUdp();
  held.pop()?.close(); // free again: the daemon binds it, then must let it go
  await new Promise((resolve) => setTimeout(resolve, 10));
  const error = await refused(startDaemon(config([{ transport: 'udp', host: '127.0.0.1', port: sipPort }], port), { logger }));
  assert.equal(error.key, 'http.port');
  assert.equal(error.address, `http 127.0.0.1:${port}`);
  assert.match(error.message, /^http 127\.0\.0\.1:\d+ \(http\.port\) is in use by another process/);
  // Nothing of the failed start holds the SIP port.
  const daemon = await startDaemon(config([{ transport: 'udp', host: '127.0.0.1', port: sipPort }]), { logger });
  await daemon.close();
});

test('an address that is not this machine’s: the host key is named', async () => {
  const error = await refused(startDaemon(config([{ transport: 'udp', host: '192.0.2.1', port: 0 }]), { logger }));
  assert.equal(error.key, 'sip.listen.0.host');
  assert.equal(error.failure, 'not-local');
  assert.equal(error.message, 'udp 192.0.2.1:0 (sip.listen.0.host) is not an address of this machine');
});
