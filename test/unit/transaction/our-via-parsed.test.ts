import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseTopVia } from '../../../src/sip/codec/index.js';
import type { SipTransportName } from '../../../src/sip/codec/message.js';
import { ourVia, ourViaParsed } from '../../../src/sip/ua/outgoing-request.js';

describe('ourViaParsed: our top Via as the parser would read it (issue 11: no parse of our own Via)', () => {
  const cases: Array<[SipTransportName, string, number, string]> = [
    ['udp', '127.0.0.1', 5060, 'z9hG4bKabc123'],
    ['tcp', 'B2B.Example.com', 5070, 'z9hG4bK-x.y_z'],
    ['tls', '::1', 5061, 'z9hG4bKq'],
    ['udp', '[2001:DB8::1]', 0, 'z9hG4bK7'],
    ['udp', 'host_1-a.example', 65535, "z9hG4bK!%*+`'~"],
  ];
  for (const [transport, host, port, branch] of cases) {
    test(`${transport} ${host}:${port} ${branch}`, () => {
      const text = ourVia(transport, { host, port }, branch);
      const built = ourViaParsed(transport, { host, port }, branch);
      const parsed = parseTopVia(text);
      assert.deepEqual(built, parsed);
      assert.deepEqual([...built!.params], [...parsed.params]);
    });
  }

  test('a host or branch outside the plain forms is left to the parser', () => {
    assert.equal(ourViaParsed('udp', { host: 'a b', port: 5060 }, 'z9hG4bK1'), undefined);
    assert.equal(ourViaParsed('udp', { host: 'h', port: 5060 }, 'z9hG4bK"1"'), undefined);
  });
});
