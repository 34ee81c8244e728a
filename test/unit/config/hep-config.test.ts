import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, parseConfig } from '../../../src/config/index.js';

function problems(document: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfig(document, env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.message.split('\n');
  }
  assert.fail('expected a ConfigError');
}

describe('hep (HEPv3 capture export)', () => {
  test('off by default', () => {
    assert.equal(parseConfig({}).hep, undefined);
  });

  test('address, port and capture_id, password optional; from the environment too', () => {
    assert.deepEqual(parseConfig({ hep: { address: 'homer.example.net', port: 9060, capture_id: 2001 } }).hep, {
      address: 'homer.example.net',
      port: 9060,
      capture_id: 2001,
    });
    assert.deepEqual(parseConfig({}, { PRESENCE_B2B_HEP: '{address: 127.0.0.1, port: 9060, capture_id: 7, password: myHep}' }).hep, {
      address: '127.0.0.1',
      port: 9060,
      capture_id: 7,
      password: 'myHep',
    });
  });

  test('each missing or wrong value is named', () => {
    assert.deepEqual(problems({ hep: { address: '127.0.0.1' } }), [
      'config error: hep.port: expected a number from 1 to 65535, got nothing',
      'config error: hep.capture_id: expected a number from 0 to 4294967295, got nothing',
    ]);
    assert.deepEqual(problems({ hep: { address: '', port: 0, capture_id: -1, secret: 'x' } }).sort(), [
      'config error: hep.address: expected a host name or IP address, got ""',
      'config error: hep.capture_id: expected a number from 0 to 4294967295, got -1',
      'config error: hep.port: expected a number from 1 to 65535, got 0',
      'config error: hep.secret: unknown key',
    ]);
  });
});
