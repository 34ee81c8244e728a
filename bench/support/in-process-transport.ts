import type { MessageHandler, SipEndpoint, SipTransport, SipTransportName } from '../../src/sip/transport/types.js';

/**
 * The part of a benchmark's in-process SipTransport that never changes: one
 * UDP listener on 127.0.0.1:5060 and no I/O. Subclasses say what a send keeps
 * (bytes counted, kept for the peer played in the same process) and how
 * received bytes reach `handler`.
 */
export abstract class InProcessTransport implements SipTransport {
  protected handler: MessageHandler | undefined;
  onMessage(handler: MessageHandler): void {
    this.handler = handler;
  }
  abstract send(data: Buffer, destination: SipEndpoint): void;
  chooseTransport(destination: SipEndpoint): SipTransportName {
    return destination.transport;
  }
  sentBy(): { host: string; port: number } {
    return { host: '127.0.0.1', port: 5060 };
  }
  listening() {
    return [{ transport: 'udp' as const, host: '127.0.0.1', port: 5060 }];
  }
  async close(): Promise<void> {}
}
