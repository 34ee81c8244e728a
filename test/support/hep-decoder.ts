/**
 * A HEPv3 decoder for the tests, written from the format itself and
 * independent of src/hep (which only encodes): the "HEP3" id and a 16-bit
 * total length, then chunks of vendor id (16 bits), type id (16 bits), length
 * (16 bits, its 6 header octets included) and value, every integer in network
 * byte order. Generic chunks (vendor 0): 1 IP family (2 = IPv4, 10 = IPv6),
 * 2 IP protocol, 3/4 IPv4 source/destination, 5/6 IPv6 source/destination,
 * 7/8 source/destination port, 9 timestamp seconds, 10 timestamp microseconds,
 * 11 protocol type (1 = SIP), 12 capture agent id, 14 auth key, 15 payload,
 * 17 correlation id. Throws on anything malformed, so that a test fails on a
 * bad packet instead of reading garbage.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';

export interface DecodedHepChunk {
  vendor: number;
  type: number;
  value: Buffer;
}

export interface DecodedHep {
  chunks: DecodedHepChunk[];
  family: 'IPv4' | 'IPv6';
  ipProtocol: number;
  sourceAddress: string;
  destinationAddress: string;
  sourcePort: number;
  destinationPort: number;
  seconds: number;
  microseconds: number;
  protocolType: number;
  captureId: number;
  authKey: string | undefined;
  correlationId: string | undefined;
  payload: string;
}

export function decodeHep(packet: Buffer): DecodedHep {
  assert.ok(packet.length >= 6, 'a HEP packet has a 6-octet header');
  assert.equal(packet.toString('latin1', 0, 4), 'HEP3', 'HEPv3 id');
  assert.equal(packet.readUInt16BE(4), packet.length, 'the total length is the datagram length');
  const chunks: DecodedHepChunk[] = [];
  let at = 6;
  while (at < packet.length) {
    assert.ok(at + 6 <= packet.length, `chunk header at ${at} cut short`);
    const vendor = packet.readUInt16BE(at);
    const type = packet.readUInt16BE(at + 2);
    const length = packet.readUInt16BE(at + 4);
    assert.ok(length >= 6 && at + length <= packet.length, `chunk ${type} at ${at}: length ${length} does not fit`);
    chunks.push({ vendor, type, value: packet.subarray(at + 6, at + length) });
    at += length;
  }
  const one = (type: number): Buffer | undefined => {
    const found = chunks.filter((c) => c.vendor === 0 && c.type === type);
    assert.ok(found.length <= 1, `chunk ${type} at most once`);
    return found[0]?.value;
  };
  const need = (type: number, size?: number): Buffer => {
    const value = one(type);
    assert.ok(value !== undefined, `chunk ${type} present`);
    if (size !== undefined) assert.equal(value.length, size, `chunk ${type} is ${size} octets`);
    return value;
  };
  const familyCode = need(1, 1).readUInt8(0);
  assert.ok(familyCode === 2 || familyCode === 10, `IP family ${familyCode}`);
  const v6 = familyCode === 10;
  const address = (value: Buffer): string =>
    v6 ? Array.from({ length: 8 }, (_, i) => value.readUInt16BE(2 * i).toString(16)).join(':') : Array.from(value).join('.');
  const text = (value: Buffer | undefined): string | undefined => value?.toString('utf8');
  return {
    chunks,
    family: v6 ? 'IPv6' : 'IPv4',
    ipProtocol: need(2, 1).readUInt8(0),
    sourceAddress: address(need(v6 ? 5 : 3, v6 ? 16 : 4)),
    destinationAddress: address(need(v6 ? 6 : 4, v6 ? 16 : 4)),
    sourcePort: need(7, 2).readUInt16BE(0),
    destinationPort: need(8, 2).readUInt16BE(0),
    seconds: need(9, 4).readUInt32BE(0),
    microseconds: need(10, 4).readUInt32BE(0),
    protocolType: need(11, 1).readUInt8(0),
    captureId: need(12, 4).readUInt32BE(0),
    authKey: text(one(14)),
    correlationId: text(one(17)),
    payload: need(15).toString('utf8'),
  };
}

/** A loopback UDP socket standing in for a Homer collector: keeps every datagram, decoded. */
export class HepCollector {
  readonly packets: DecodedHep[] = [];

  private constructor(
    private readonly socket: Socket,
    readonly port: number,
  ) {}

  static async start(): Promise<HepCollector> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => {
        socket.off('error', reject);
        resolve();
      });
    });
    const collector = new HepCollector(socket, socket.address().port);
    socket.on('message', (data) => collector.packets.push(decodeHep(data)));
    return collector;
  }

  /** SIP start lines of the payloads, in arrival order, for failure messages. */
  summary(): string[] {
    return this.packets.map((p) => `${p.sourcePort}→${p.destinationPort} ${p.payload.split('\r\n')[0]}`);
  }

  /** Waits (bounded, on real I/O) until `done()` holds for the packets received. */
  async waitFor(what: string, done: (packets: readonly DecodedHep[]) => boolean, timeoutMs = 3000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done(this.packets)) {
      if (Date.now() > deadline) assert.fail(`HEP collector: no ${what} within ${timeoutMs} ms; got ${JSON.stringify(this.summary())}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
