import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseSipMessage, parseTopVia, parseVia, topVia } from '../../../src/sip/codec/index.js';
import { ownedServerTransactionKey, serverTransactionKey } from '../../../src/sip/transaction/transaction-keys.js';
import type { SipRequest } from '../../../src/sip/codec/message.js';
import { ConnectionPool, connectionKey } from '../../../src/sip/transport/connection-pool.js';
import type { SipConnection } from '../../../src/sip/transport/connection.js';
import { defaultPort } from '../../../src/sip/transport/default-port.js';
import { responseDestination, responseDestinationUnlessSource } from '../../../src/sip/transport/response-routing.js';
import type { ReceivedFrom } from '../../../src/sip/transport/types.js';
import { stampTopVia, stampViaText } from '../../../src/sip/transport/via-stamping.js';

function request(via: string, extraVia?: string): SipRequest {
  const lines = ['OPTIONS sip:b@example.com SIP/2.0', `Via: ${via}`];
  if (extraVia !== undefined) lines.push(`Via: ${extraVia}`);
  lines.push('From: <sip:a@example.com>;tag=1', 'To: <sip:b@example.com>', 'Call-ID: c', 'CSeq: 1 OPTIONS', 'Content-Length: 0', '', '');
  return parseSipMessage(lines.join('\r\n')) as SipRequest;
}

describe('received / rport stamping (RFC 3261 §18.2.1, RFC 3581 §4)', () => {
  test('nothing to do when sent-by is the source address and there is no rport', () => {
    const r = request('SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1');
    assert.equal(stampTopVia(r, '192.0.2.1', 40000), 'unchanged');
    assert.equal(r.headers.get('via'), 'SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1');
  });

  test('received when the host differs; rport filled (with received) when asked', () => {
    const r1 = request('SIP/2.0/UDP host.example.com;branch=z9hG4bK1');
    assert.equal(stampTopVia(r1, '192.0.2.1', 40000), 'stamped');
    assert.equal(r1.headers.get('via'), 'SIP/2.0/UDP host.example.com;branch=z9hG4bK1;received=192.0.2.1');
    const r2 = request('SIP/2.0/UDP 192.0.2.1:5060;rport;branch=z9hG4bK1');
    stampTopVia(r2, '192.0.2.1', 40000);
    assert.equal(r2.headers.get('via'), 'SIP/2.0/UDP 192.0.2.1:5060;rport=40000;branch=z9hG4bK1;received=192.0.2.1');
    assert.equal(topVia(r2).rport, 40000);
    assert.equal(topVia(r2).received, '192.0.2.1');
  });

  test('only the top element changes; further Vias on its line and other lines are kept', () => {
    const r = request('SIP/2.0/TCP h1;rport;branch=z9hG4bK1 , SIP/2.0/UDP h2;branch=z9hG4bK2', 'SIP/2.0/UDP h3;branch=z9hG4bK3');
    stampTopVia(r, '10.0.0.9', 5070);
    assert.deepEqual(r.headers.getAll('via'), ['SIP/2.0/TCP h1;rport=5070;branch=z9hG4bK1;received=10.0.0.9, SIP/2.0/UDP h2;branch=z9hG4bK2', 'SIP/2.0/UDP h3;branch=z9hG4bK3']);
  });

  test('IPv6: brackets in sent-by, none in received', () => {
    const same = request('SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK1');
    assert.equal(stampTopVia(same, '2001:db8::1', 5060), 'unchanged');
    const other = request('SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK1');
    stampTopVia(other, '2001:db8::2', 5060);
    assert.equal(other.headers.get('via'), 'SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK1;received=2001:db8::2');
  });
});

describe('stampTopVia memoises the stamped Via (no second parse in the transaction layer)', () => {
  const cases: Array<[string, string, number]> = [
    ['SIP/2.0/UDP 192.0.2.1:5060;rport;branch=z9hG4bK1', '192.0.2.1', 40000],
    ['SIP/2.0/UDP host.example.com;branch=z9hG4bK1', '192.0.2.1', 40000],
    ['SIP/2.0/UDP h ; RPORT ;branch=z9hG4bK1 ', '10.0.0.1', 7000],
    ['SIP/2.0/TCP h1;rport;branch=z9hG4bK1 , SIP/2.0/UDP h2;branch=z9hG4bK2', '10.0.0.9', 5070],
    ['SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK1', '2001:db8::2', 5060],
    ['SIP/2.0/UDP h;rport=5;branch=z9hG4bK1', '10.0.0.1', 7000],
    ['SIP/2.0/UDP h;rport=x;rport;branch=z9hG4bK1', '10.0.0.1', 7000],
    ['SIP/2.0/UDP h;x=1;rport;y;branch=z9hG4bK1;RECEIVED=10.0.0.2', '10.0.0.1', 7000],
    ['SIP/2.0/UDP h', '10.0.0.1', 7000],
  ];
  for (const [via, address, port] of cases) {
    test(`${via} from ${address}:${port}`, () => {
      const r = request(via);
      stampTopVia(r, address, port);
      const line = r.headers.get('via')!;
      // topVia(r) is what the transaction layer reads: the memo when there is one, else a parse.
      assert.deepEqual(topVia(r), parseTopVia(line));
      // …with the parameters in the order of the text (deepEqual does not compare a Map's order).
      assert.deepEqual([...topVia(r).params], [...parseTopVia(line).params]);
    });
  }
});

describe('stampViaText: text edits agree with formatVia', () => {
  const stamp = (element: string) => stampViaText(element, parseVia(element), '10.0.0.1', 7000);

  test('a bare rport anywhere, with whitespace or odd case', () => {
    assert.equal(stamp('SIP/2.0/UDP h;branch=z9hG4bK1;rport'), 'SIP/2.0/UDP h;branch=z9hG4bK1;rport=7000;received=10.0.0.1');
    assert.equal(stamp('SIP/2.0/UDP h ; RPORT ;branch=z9hG4bK1 '), 'SIP/2.0/UDP h ; RPORT=7000 ;branch=z9hG4bK1;received=10.0.0.1');
    assert.equal(stamp('SIP/2.0/UDP h;rportx;branch=z9hG4bK1'), 'SIP/2.0/UDP h;rportx;branch=z9hG4bK1;received=10.0.0.1');
  });

  test('a quoted ";rport" is not the parameter; an existing received is replaced', () => {
    assert.equal(stamp('SIP/2.0/UDP h;x="a;rport";rport'), 'SIP/2.0/UDP h;x="a;rport";rport=7000;received=10.0.0.1');
    assert.equal(stamp('SIP/2.0/UDP h;received=1.2.3.4;branch=z9hG4bK1'), 'SIP/2.0/UDP h;received=10.0.0.1;branch=z9hG4bK1');
    assert.equal(stamp('SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1'), 'SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1');
  });

  test('the result always parses back with the source address and port', () => {
    for (const element of [
      'SIP/2.0/UDP h;branch=z9hG4bK1;rport',
      'SIP/2.0/TCP [2001:db8::1]:5060;rport;branch=z9hG4bK1',
      'SIP/2.0/UDP h;rport=abc;branch=z9hG4bK1',
      'SIP/2.0/UDP h;received=1.2.3.4;rport',
    ]) {
      const via = parseVia(stamp(element));
      assert.equal(via.received, '10.0.0.1', element);
      assert.equal(via.rport, 7000, element);
    }
  });
});

describe('response destination (RFC 3261 §18.2.2, RFC 3581 §4)', () => {
  const udp: ReceivedFrom = { transport: 'udp', remoteAddress: '192.0.2.1', remotePort: 40000, localAddress: '127.0.0.1', localPort: 5060 };
  const dest = (via: string, source: ReceivedFrom = udp) => responseDestination(parseVia(via), source);

  test('UDP: the source address at the sent-by port; rport: the source port; maddr wins', () => {
    assert.deepEqual(dest('SIP/2.0/UDP h.example.com'), { transport: 'udp', host: '192.0.2.1', port: 5060 });
    assert.deepEqual(dest('SIP/2.0/UDP h.example.com:5070;received=192.0.2.1'), { transport: 'udp', host: '192.0.2.1', port: 5070 });
    assert.deepEqual(dest('SIP/2.0/UDP h:5070;received=192.0.2.1;rport=40000'), { transport: 'udp', host: '192.0.2.1', port: 40000 });
    assert.deepEqual(dest('SIP/2.0/UDP h:5070;rport'), { transport: 'udp', host: '192.0.2.1', port: 40000 });
    assert.deepEqual(dest('SIP/2.0/UDP h:5070;maddr=239.1.1.1;received=192.0.2.1;rport=1'), { transport: 'udp', host: '239.1.1.1', port: 5070 });
    assert.deepEqual(dest('SIP/2.0/UDP h;maddr=[2001:db8::9]'), { transport: 'udp', host: '2001:db8::9', port: 5060 });
  });

  test('a received parameter the client wrote itself does not redirect the answer', () => {
    assert.deepEqual(dest('SIP/2.0/UDP 192.0.2.1:5070;received=198.51.100.66'), { transport: 'udp', host: '192.0.2.1', port: 5070 });
  });

  test('TCP and TLS: the transport the request came on, the source address, the sent-by port (default 5060/5061), never rport', () => {
    const tcp: ReceivedFrom = { ...udp, transport: 'tcp', connectionId: 3 };
    const tls: ReceivedFrom = { ...udp, transport: 'tls', connectionId: 4 };
    assert.deepEqual(dest('SIP/2.0/TCP h:5090;received=192.0.2.1;rport=40000', tcp), { transport: 'tcp', host: '192.0.2.1', port: 5090 });
    assert.deepEqual(dest('SIP/2.0/TLS h', tls), { transport: 'tls', host: '192.0.2.1', port: 5061 });
    assert.deepEqual(dest('SIP/2.0/TCP h;maddr=239.1.1.1', tcp), { transport: 'tcp', host: '192.0.2.1', port: 5060 }, 'maddr is for UDP only');
  });

  test('responseDestinationUnlessSource: undefined exactly when the destination is the source address and port, else the same endpoint', () => {
    const tcp: ReceivedFrom = { ...udp, transport: 'tcp', connectionId: 3 };
    const tls: ReceivedFrom = { ...udp, transport: 'tls', connectionId: 4 };
    const udp5060: ReceivedFrom = { ...udp, remotePort: 5060 };
    const vias = [
      'SIP/2.0/UDP h.example.com',
      'SIP/2.0/UDP h.example.com:40000',
      'SIP/2.0/UDP h.example.com:5070;received=192.0.2.1',
      'SIP/2.0/UDP h:5070;received=192.0.2.1;rport=40000',
      'SIP/2.0/UDP h:5070;rport',
      'SIP/2.0/UDP h:5070;maddr=239.1.1.1;received=192.0.2.1;rport=1',
      'SIP/2.0/UDP h:40000;maddr=192.0.2.1',
      'SIP/2.0/UDP h;maddr=[2001:db8::9]',
      'SIP/2.0/TCP h:5090;received=192.0.2.1;rport=40000',
      'SIP/2.0/TCP h:40000',
      'SIP/2.0/TLS h',
      'SIP/2.0/TCP h;maddr=239.1.1.1',
    ];
    let same = 0;
    for (const source of [udp, udp5060, tcp, tls]) {
      for (const text of vias) {
        const via = parseVia(text);
        const full = responseDestination(via, source);
        const unless = responseDestinationUnlessSource(via, source);
        const isSource = full.transport === source.transport && full.host === source.remoteAddress && full.port === source.remotePort;
        if (isSource) {
          assert.equal(unless, undefined, `${text} from ${source.transport}:${source.remotePort}`);
          same++;
        } else assert.deepEqual(unless, full, `${text} from ${source.transport}:${source.remotePort}`);
      }
    }
    assert.ok(same >= 6 && same < 48, `both cases are exercised (${same} of 48 at the source)`);
  });

  test('ownedServerTransactionKey: the same key as serverTransactionKey, with and without z9hG4bK, for ACK too', () => {
    const texts = [
      'SIP/2.0/UDP H.Example.COM:5070;branch=z9hG4bK-abc.123',
      'SIP/2.0/TLS h.example.com;branch=z9hG4bKx',
      'SIP/2.0/UDP 192.0.2.1;branch=1234',
      'SIP/2.0/UDP 192.0.2.1',
    ];
    for (const text of texts) {
      for (const method of ['OPTIONS', 'ACK', 'NOTIFY']) {
        const lines = [`${method} sip:b@example.com SIP/2.0`, `Via: ${text}`, 'From: <sip:a@example.com>;tag=1', 'To: <sip:b@example.com>;tag=2', 'Call-ID: c', `CSeq: 1 ${method}`, 'Content-Length: 0', '', ''];
        const r = parseSipMessage(lines.join('\r\n')) as SipRequest;
        assert.equal(ownedServerTransactionKey(r, topVia(r)), serverTransactionKey(r, topVia(r)), `${method} ${text}`);
      }
    }
  });

  test('defaultPort: 5061 for TLS and sips, 5060 otherwise, any case', () => {
    assert.deepEqual(['udp', 'TCP', 'tls', 'TLS', 'sip', 'sips', 'SIPS'].map(defaultPort), [5060, 5060, 5061, 5061, 5060, 5061, 5061]);
  });
});

describe('connection pool', () => {
  const fake = (id: number) => ({ id }) as unknown as SipConnection;

  test('finds by id and by every alias; removal clears only its own keys', () => {
    const pool = new ConnectionPool();
    const one = fake(1);
    const two = fake(2);
    pool.add(one);
    pool.alias(one, connectionKey('tcp', 'Proxy.Example.com', 5060));
    pool.alias(one, connectionKey('tcp', '[2001:db8::1]', 5060));
    assert.equal(pool.find('tcp:proxy.example.com:5060'), one);
    assert.equal(pool.find('tcp:2001:db8::1:5060'), one);
    pool.add(two);
    pool.alias(two, 'tcp:proxy.example.com:5060');
    assert.equal(pool.find('tcp:proxy.example.com:5060'), two);
    pool.remove(one);
    assert.equal(pool.get(1), undefined);
    assert.equal(pool.find('tcp:proxy.example.com:5060'), two);
    assert.equal(pool.find('tcp:2001:db8::1:5060'), undefined);
    assert.equal(pool.size, 1);
    pool.remove(two);
    assert.equal(pool.size, 0);
    assert.equal(pool.find('tcp:proxy.example.com:5060'), undefined);
  });
});
