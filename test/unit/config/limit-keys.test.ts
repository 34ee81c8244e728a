/**
 * The keys of docs/hostile-input.md: SIP limits, load shedding, outgoing TLS,
 * notify_source_check. Their defaults, what they become as createPresenceB2B
 * options, and one line per bad value naming the key.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { b2bOptionsFromConfig, ConfigError, parseConfig } from '../../../src/config/index.js';

function problems(document: Record<string, unknown>): string[] {
  try {
    b2bOptionsFromConfig(parseConfig(document, {}));
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.message.split('\n');
  }
  assert.fail('expected a ConfigError');
}

const dir = mkdtempSync(join(tmpdir(), 'pb2b-limits-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('defaults: the documented values, and the options they make', () => {
  const c = parseConfig({}, {});
  assert.equal(c.sip.max_connections, 1024);
  assert.equal(c.sip.idle_timeout, 300);
  assert.equal(c.sip.message_timeout, 10);
  assert.deepEqual(c.sip.max_message_size, { udp: 65535, tcp: 65535, tls: 65535 });
  assert.equal(c.sip.udp_receive_buffer, 4 * 1024 * 1024);
  assert.deepEqual(c.sip.overload, { backlog_limit: 'auto', retry_after: 5 });
  assert.deepEqual(c.sip.tls_client, { verify: true });
  assert.equal(c.notify_source_check, 'log');
  const o = b2bOptionsFromConfig(c);
  assert.deepEqual(o.sipLimits, {
    maxConnections: 1024,
    idleTimeoutMs: 300_000,
    messageTimeoutMs: 10_000,
    maxMessageBytes: { udp: 65535, tcp: 65535, tls: 65535 },
    udpReceiveBufferBytes: 4 * 1024 * 1024,
  });
  assert.deepEqual(o.overload, { backlogLimitBytes: 'auto', retryAfterSeconds: 5 });
  assert.deepEqual(o.tlsClient, { verify: true });
  assert.equal(o.notifySourceCheck, 'log');
});

test('a sip section with only limits keeps the default listeners', () => {
  const c = parseConfig({ sip: { max_connections: 10 } }, {});
  assert.equal(c.sip.listen.length, 2);
  assert.equal(c.sip.max_connections, 10);
  assert.equal(c.sip.idle_timeout, 300);
});

test('values given are carried through; the CA file is read', () => {
  const ca = join(dir, 'ca.pem');
  writeFileSync(ca, 'PEM');
  const o = b2bOptionsFromConfig(
    parseConfig(
      {
        notify_source_check: 'reject',
        sip: {
          max_connections: 5,
          idle_timeout: 60,
          message_timeout: 0,
          max_message_size: { tcp: 200000 },
          udp_receive_buffer: 0,
          overload: { backlog_limit: 0, retry_after: 30 },
          tls_client: { ca_file: ca, verify: false },
        },
      },
      {},
    ),
  );
  assert.deepEqual(o.sipLimits, { maxConnections: 5, idleTimeoutMs: 60_000, messageTimeoutMs: 0, maxMessageBytes: { udp: 65535, tcp: 200000, tls: 65535 }, udpReceiveBufferBytes: 0 });
  assert.deepEqual(o.overload, { backlogLimitBytes: 0, retryAfterSeconds: 30 });
  assert.equal(o.tlsClient?.verify, false);
  assert.equal(String(o.tlsClient?.ca), 'PEM');
  assert.equal(o.notifySourceCheck, 'reject');
});

test('bad values: one line each, naming the key', () => {
  assert.deepEqual(problems({ notify_source_check: 'drop' }), ['config error: notify_source_check: expected one of "off", "log", "reject", got "drop"']);
  assert.deepEqual(problems({ sip: { max_connections: 0 } }), ['config error: sip.max_connections: expected a number from 1 to 1000000, got 0']);
  assert.deepEqual(problems({ sip: { max_message_size: { udp: 70000 } } }), ['config error: sip.max_message_size.udp: expected a number from 1024 to 65535, got 70000']);
  assert.deepEqual(problems({ sip: { max_message_size: { sctp: 1 } } }), ['config error: sip.max_message_size.sctp: unknown key']);
  assert.deepEqual(problems({ sip: { udp_receive_buffer: -1 } }), ['config error: sip.udp_receive_buffer: expected a number from 0 to 1073741824, got -1']);
  assert.deepEqual(problems({ sip: { overload: { retry_after: 0 } } }), ['config error: sip.overload.retry_after: expected a number from 1 to 3600, got 0']);
  assert.deepEqual(problems({ sip: { overload: { backlog_limit: 'half' } } }), [
    'config error: sip.overload.backlog_limit: expected auto, or a whole number of octets from 0 (off) to 1073741824, got "half"',
  ]);
  assert.deepEqual(problems({ sip: { overload: { backlog_limit: -1 } } }), [
    'config error: sip.overload.backlog_limit: expected auto, or a whole number of octets from 0 (off) to 1073741824, got -1',
  ]);
  assert.deepEqual(problems({ sip: { tls_client: { verify: 'no' } } }), ['config error: sip.tls_client.verify: expected a boolean, got "no"']);
  assert.deepEqual(problems({ sip: { tls_client: { ca_file: join(dir, 'missing.pem') } } }), [`config error: sip.tls_client.ca_file: cannot read ${join(dir, 'missing.pem')}: ENOENT`]);
});
