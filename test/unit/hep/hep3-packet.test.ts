import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { describe, test } from 'node:test';
import { encodeHep3, HepError, ipOctets, scanCallId } from '../../../src/hep/index.js';
import { decodeHep } from '../../support/hep-decoder.js';

const SIP = Buffer.from('SUBSCRIBE sip:alice@example.com SIP/2.0\r\nCall-ID: abc@h\r\nContent-Length: 0\r\n\r\n');

describe('encodeHep3', () => {
  test('IPv4: every generic chunk a SIP capture needs, read back by an independent decoder', () => {
    const packet = encodeHep3({
      sourceIp: ipOctets('127.0.0.1')!,
      destinationIp: ipOctets('192.0.2.7')!,
      sourcePort: 5060,
      destinationPort: 5070,
      ipProtocol: 17,
      timestampSeconds: 1_767_225_600,
      timestampMicroseconds: 250_000,
      protocolType: 1,
      captureAgentId: 2001,
      authKey: 'myHep',
      payload: SIP,
      correlationId: 'abc@h',
    });
    const hep = decodeHep(packet);
    assert.deepEqual(
      { ...hep, chunks: hep.chunks.map((c) => [c.vendor, c.type]) },
      {
        chunks: [[0, 1], [0, 2], [0, 3], [0, 4], [0, 7], [0, 8], [0, 9], [0, 10], [0, 11], [0, 12], [0, 14], [0, 17], [0, 15]],
        family: 'IPv4',
        ipProtocol: 17,
        sourceAddress: '127.0.0.1',
        destinationAddress: '192.0.2.7',
        sourcePort: 5060,
        destinationPort: 5070,
        seconds: 1_767_225_600,
        microseconds: 250_000,
        protocolType: 1,
        captureId: 2001,
        authKey: 'myHep',
        correlationId: 'abc@h',
        payload: SIP.toString(),
      },
    );
  });

  test('IPv6 addresses go into the IPv6 chunks; no auth key and no correlation id when not given', () => {
    const hep = decodeHep(
      encodeHep3({
        sourceIp: ipOctets('2001:db8::1')!,
        destinationIp: ipOctets('[::1]')!,
        sourcePort: 1,
        destinationPort: 2,
        ipProtocol: 6,
        timestampSeconds: 0,
        timestampMicroseconds: 0,
        protocolType: 1,
        captureAgentId: 0xffffffff,
        payload: SIP,
      }),
    );
    assert.equal(hep.family, 'IPv6');
    assert.equal(hep.sourceAddress, '2001:db8:0:0:0:0:0:1');
    assert.equal(hep.destinationAddress, '0:0:0:0:0:0:0:1');
    assert.equal(hep.ipProtocol, 6);
    assert.equal(hep.captureId, 0xffffffff);
    assert.equal(hep.authKey, undefined);
    assert.equal(hep.correlationId, undefined);
  });

  test('a packet over 65535 octets is a HepError (HEP_ERR_ARGUMENT)', () => {
    const fields = {
      sourceIp: ipOctets('127.0.0.1')!,
      destinationIp: ipOctets('127.0.0.1')!,
      sourcePort: 1,
      destinationPort: 2,
      ipProtocol: 17,
      timestampSeconds: 0,
      timestampMicroseconds: 0,
      protocolType: 1,
      captureAgentId: 1,
    };
    assert.throws(() => encodeHep3({ ...fields, payload: new Uint8Array(65_500) }), (e: unknown) => e instanceof HepError && e.code === 'HEP_ERR_ARGUMENT');
    const fits = encodeHep3({ ...fields, payload: new Uint8Array(65_535 - 99) });
    assert.equal(fits.length, 65_535);
  });
});

describe('ipOctets', () => {
  test('IPv4, IPv6 forms, IPv4-mapped as IPv4, names refused', () => {
    assert.deepEqual([...ipOctets('10.1.2.3')!], [10, 1, 2, 3]);
    assert.deepEqual([...ipOctets('::ffff:192.0.2.9')!], [192, 0, 2, 9]);
    assert.deepEqual([...ipOctets('::')!], new Array(16).fill(0));
    assert.deepEqual([...ipOctets('fe80::1%eth0')!], [0xfe, 0x80, ...new Array(13).fill(0), 1]);
    assert.deepEqual([...ipOctets('1:2:3:4:5:6:7:8')!], [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]);
    assert.deepEqual([...ipOctets('64:ff9b::192.0.2.33')!], [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, 192, 0, 2, 33]);
    assert.equal(ipOctets('pres.example.com'), undefined);
    assert.equal(ipOctets(''), undefined);
  });
});

describe('scanCallId', () => {
  test('the Call-ID or compact i header of the header block, trimmed, any case', () => {
    assert.equal(scanCallId(SIP), 'abc@h');
    assert.equal(scanCallId(Buffer.from('SIP/2.0 200 OK\r\nVia: x\r\ni:   c2 \r\n\r\n')), 'c2');
    assert.equal(scanCallId(Buffer.from('NOTIFY sip:a SIP/2.0\nCALL-ID:c3\n\n')), 'c3');
  });

  test('none in the headers (one in the body does not count), or no headers at all', () => {
    assert.equal(scanCallId(Buffer.from('NOTIFY sip:a SIP/2.0\r\nVia: x\r\n\r\nCall-ID: body\r\n')), undefined);
    assert.equal(scanCallId(Buffer.from('garbage')), undefined);
    assert.equal(scanCallId(new Uint8Array(0)), undefined);
  });
});
