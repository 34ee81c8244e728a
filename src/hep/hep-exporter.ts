import { createSocket, type Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { ObservedSipMessage, SipMessageObserver } from '../sip/transport/message-observer.js';
import { type Clock, systemClock } from '../util/clock.js';
import { scanCallId } from './call-id-scan.js';
import { HepError } from './hep-error.js';
import { encodeHep3, HEP_IP_PROTOCOL_TCP, HEP_IP_PROTOCOL_UDP, HEP_PROTOCOL_TYPE_SIP } from './hep3-packet.js';
import { ipOctets } from './ip-octets.js';

export interface HepExporterOptions {
  /** The collector (Homer's heplify-server, a Kamailio sipcapture): an IP address or a host name, resolved once at start. */
  address: string;
  port: number;
  /** Capture agent id written in every packet (uint32), so that Homer can tell its agents apart. */
  captureId: number;
  /** The collector's password, sent in the auth key chunk when given. */
  password?: string;
  /** Where the timestamps come from (wall time); systemClock by default. */
  clock?: Clock;
}

/** Counters of the exporter; the object is updated in place. */
export interface HepExporterStats {
  /** Packets handed to the socket. */
  sent: number;
  /** Messages not exported: too large for one HEPv3 packet. */
  dropped: number;
  /** Packets the socket refused (the collector is down: ICMP errors surface here). */
  sendErrors: number;
}

/**
 * Exports every SIP message the transport layer sends or receives to a Homer
 * collector as HEPv3 over UDP (hep3-packet.ts): real addresses and ports,
 * IP protocol (TLS is carried over TCP, so it shows as TCP), the time it
 * crossed our socket, protocol type SIP, our capture id, the password, the
 * message and its Call-ID as correlation id. A `SipMessageObserver`: give it
 * to `SipTransportLayerOptions.observer` (`createPresenceB2B({ observer })`).
 * Fire and forget: a collector that is down costs a counter, never a SIP
 * message.
 */
export class HepExporter implements SipMessageObserver {
  readonly stats: HepExporterStats = { sent: 0, dropped: 0, sendErrors: 0 };
  private closed = false;

  private constructor(
    private readonly socket: Socket,
    private readonly collector: { address: string; port: number },
    private readonly captureId: number,
    private readonly password: string | undefined,
    private readonly clock: Clock,
  ) {}

  /** Resolves the collector's address and opens an unbound-port UDP socket towards it. */
  static async start(options: HepExporterOptions): Promise<HepExporter> {
    if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) {
      throw new HepError('HEP_ERR_ARGUMENT', `HEP collector port ${options.port} is not a port number`);
    }
    if (!Number.isInteger(options.captureId) || options.captureId < 0 || options.captureId > 0xffffffff) {
      throw new HepError('HEP_ERR_ARGUMENT', `HEP capture id ${options.captureId} is not a 32-bit unsigned integer`);
    }
    let address = options.address;
    if (isIP(address) === 0) {
      try {
        address = (await lookup(options.address)).address;
      } catch (error) {
        throw new HepError('HEP_ERR_ADDRESS', `HEP collector ${options.address} does not resolve`, { cause: error });
      }
    }
    const socket = createSocket({ type: isIP(address) === 6 ? 'udp6' : 'udp4' });
    const exporter = new HepExporter(socket, { address, port: options.port }, options.captureId, options.password, options.clock ?? systemClock);
    // An ICMP port unreachable from a stopped collector surfaces as an 'error' event: count it, never crash.
    socket.on('error', () => {
      exporter.stats.sendErrors++;
    });
    return exporter;
  }

  /** Where packets go (the resolved address). */
  get destination(): { address: string; port: number } {
    return { ...this.collector };
  }

  observe(message: ObservedSipMessage): void {
    if (this.closed) return;
    const sourceIp = ipOctets(message.sourceAddress);
    const destinationIp = ipOctets(message.destinationAddress);
    // One packet has one address family: the source's, else the destination's, else IPv4 (zeros).
    const family = sourceIp?.length ?? destinationIp?.length ?? 4;
    const wallMs = this.clock.wallTime();
    const seconds = Math.floor(wallMs / 1000);
    const callId = scanCallId(message.bytes);
    let packet: Buffer;
    try {
      packet = encodeHep3({
        sourceIp: sourceIp?.length === family ? sourceIp : new Uint8Array(family),
        destinationIp: destinationIp?.length === family ? destinationIp : new Uint8Array(family),
        sourcePort: message.sourcePort,
        destinationPort: message.destinationPort,
        ipProtocol: message.transport === 'udp' ? HEP_IP_PROTOCOL_UDP : HEP_IP_PROTOCOL_TCP,
        timestampSeconds: seconds,
        timestampMicroseconds: Math.floor((wallMs - seconds * 1000) * 1000),
        protocolType: HEP_PROTOCOL_TYPE_SIP,
        captureAgentId: this.captureId,
        ...(this.password !== undefined ? { authKey: this.password } : {}),
        payload: message.bytes,
        ...(callId !== undefined ? { correlationId: callId } : {}),
      });
    } catch {
      this.stats.dropped++;
      return;
    }
    this.stats.sent++;
    this.socket.send(packet, this.collector.port, this.collector.address, this.afterSend);
  }

  /** Stops exporting and closes the socket. Idempotent. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve(); // never sent anything: the socket was not bound
      }
    });
  }

  private readonly afterSend = (error: Error | null): void => {
    if (error) this.stats.sendErrors++;
  };
}
