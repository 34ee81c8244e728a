import { Buffer } from 'node:buffer';
import { HepError } from './hep-error.js';

/**
 * HEPv3 (Homer Encapsulation Protocol, version 3), the encapsulation Homer
 * collectors (heplify-server, Kamailio's sipcapture) read: a 6-octet header
 * ("HEP3", then the total length as a 16-bit unsigned integer), followed by
 * chunks. Each chunk is a vendor id (16 bits), a type id (16 bits), a length
 * (16 bits, the chunk's own 6 header octets included) and its value. All
 * integers are in network byte order. The chunks below are the generic ones
 * (vendor 0x0000) that a SIP capture carries.
 */
export const HEP3_MAGIC = 'HEP3';
export const HEP_VENDOR_GENERIC = 0x0000;

export const HepChunk = {
  /** uint8: the address family, 2 (AF_INET) or 10 (AF_INET6). */
  ipFamily: 0x0001,
  /** uint8: the IP protocol number, 17 (UDP) or 6 (TCP). */
  ipProtocol: 0x0002,
  ipv4Source: 0x0003,
  ipv4Destination: 0x0004,
  ipv6Source: 0x0005,
  ipv6Destination: 0x0006,
  /** uint16 each. */
  sourcePort: 0x0007,
  destinationPort: 0x0008,
  /** uint32: seconds since the epoch. */
  timestampSeconds: 0x0009,
  /** uint32: microseconds within that second. */
  timestampMicroseconds: 0x000a,
  /** uint8: what the payload is; 1 = SIP. */
  protocolType: 0x000b,
  /** uint32: which capture agent sent it. */
  captureAgentId: 0x000c,
  /** octets: the collector's password, when it asks for one. */
  authKey: 0x000e,
  /** octets: the captured message. */
  payload: 0x000f,
  /** octets: what ties packets together (the Call-ID for SIP). */
  correlationId: 0x0011,
} as const;

export const HEP_FAMILY_IPV4 = 2;
export const HEP_FAMILY_IPV6 = 10;
export const HEP_IP_PROTOCOL_UDP = 17;
export const HEP_IP_PROTOCOL_TCP = 6;
export const HEP_PROTOCOL_TYPE_SIP = 1;

/** The whole packet's length is 16 bits: what is left for the payload after the other chunks. */
const MAX_PACKET = 0xffff;
const CHUNK_HEADER = 6;

export interface Hep3Packet {
  /** 4 or 16 octets each (ipOctets()); both of the same length. */
  sourceIp: Uint8Array;
  destinationIp: Uint8Array;
  sourcePort: number;
  destinationPort: number;
  /** HEP_IP_PROTOCOL_UDP or HEP_IP_PROTOCOL_TCP. */
  ipProtocol: number;
  timestampSeconds: number;
  timestampMicroseconds: number;
  protocolType: number;
  captureAgentId: number;
  authKey?: string;
  payload: Uint8Array;
  correlationId?: string;
}

/** Encodes one HEPv3 packet. Throws HepError (HEP_ERR_ARGUMENT) when it would not fit in 65535 octets. */
export function encodeHep3(packet: Hep3Packet): Buffer {
  const v6 = packet.sourceIp.length === 16;
  const ipLength = v6 ? 16 : 4;
  const auth = packet.authKey === undefined ? undefined : Buffer.from(packet.authKey, 'utf8');
  const correlation = packet.correlationId === undefined ? undefined : Buffer.from(packet.correlationId, 'utf8');
  const size =
    6 + // header
    (CHUNK_HEADER + 1) * 3 + // family, IP protocol, protocol type
    (CHUNK_HEADER + ipLength) * 2 +
    (CHUNK_HEADER + 2) * 2 + // ports
    (CHUNK_HEADER + 4) * 3 + // seconds, microseconds, capture agent id
    (auth === undefined ? 0 : CHUNK_HEADER + auth.length) +
    (correlation === undefined ? 0 : CHUNK_HEADER + correlation.length) +
    CHUNK_HEADER +
    packet.payload.length;
  if (size > MAX_PACKET) throw new HepError('HEP_ERR_ARGUMENT', `a HEPv3 packet of ${size} octets is over 65535`);
  const out = Buffer.allocUnsafe(size);
  out.write(HEP3_MAGIC, 0, 'latin1');
  out.writeUInt16BE(size, 4);
  let at = 6;
  const chunk = (type: number, length: number): number => {
    out.writeUInt16BE(HEP_VENDOR_GENERIC, at);
    out.writeUInt16BE(type, at + 2);
    out.writeUInt16BE(CHUNK_HEADER + length, at + 4);
    const value = at + CHUNK_HEADER;
    at = value + length;
    return value;
  };
  out.writeUInt8(v6 ? HEP_FAMILY_IPV6 : HEP_FAMILY_IPV4, chunk(HepChunk.ipFamily, 1));
  out.writeUInt8(packet.ipProtocol, chunk(HepChunk.ipProtocol, 1));
  out.set(packet.sourceIp, chunk(v6 ? HepChunk.ipv6Source : HepChunk.ipv4Source, ipLength));
  out.set(sameLength(packet.destinationIp, ipLength), chunk(v6 ? HepChunk.ipv6Destination : HepChunk.ipv4Destination, ipLength));
  out.writeUInt16BE(packet.sourcePort, chunk(HepChunk.sourcePort, 2));
  out.writeUInt16BE(packet.destinationPort, chunk(HepChunk.destinationPort, 2));
  out.writeUInt32BE(packet.timestampSeconds >>> 0, chunk(HepChunk.timestampSeconds, 4));
  out.writeUInt32BE(packet.timestampMicroseconds >>> 0, chunk(HepChunk.timestampMicroseconds, 4));
  out.writeUInt8(packet.protocolType, chunk(HepChunk.protocolType, 1));
  out.writeUInt32BE(packet.captureAgentId >>> 0, chunk(HepChunk.captureAgentId, 4));
  if (auth !== undefined) auth.copy(out, chunk(HepChunk.authKey, auth.length));
  if (correlation !== undefined) correlation.copy(out, chunk(HepChunk.correlationId, correlation.length));
  out.set(packet.payload, chunk(HepChunk.payload, packet.payload.length));
  return out;
}

/** An address of the other family (or none) is written as all zeros: one packet has one family. */
function sameLength(ip: Uint8Array, length: number): Uint8Array {
  return ip.length === length ? ip : new Uint8Array(length);
}
