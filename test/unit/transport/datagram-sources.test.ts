import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DatagramSources } from '../../../src/sip/transport/datagram-sources.js';

test('DatagramSources: one source object per remote address and port, bounded', () => {
  const sources = new DatagramSources('127.0.0.1', 5060);
  const first = sources.sourceOf(['192.0.2', '.1'].join(''), 5070);
  assert.deepEqual(first, { transport: 'udp', remoteAddress: '192.0.2.1', remotePort: 5070, localAddress: '127.0.0.1', localPort: 5060 });
  assert.equal(sources.sourceOf(['192.0.', '2.1'].join(''), 5070), first, 'the same object for the same address and port');
  assert.notEqual(sources.sourceOf('192.0.2.1', 5071), first);
  assert.notEqual(sources.sourceOf('192.0.2.2', 5070), first);
  for (let port = 1; port <= 2000; port++) sources.sourceOf('198.51.100.1', port);
  const again = sources.sourceOf('192.0.2.1', 5070);
  assert.deepEqual(again, first, 'forgotten past the bound, then made again equal');
});
