import type { ReceivedFrom } from './types.js';

/** Sources remembered per socket; past this many, the memory starts afresh (a peer spraying ports costs nothing lasting). */
const MOST_SOURCES = 1024;

/**
 * The `source` of datagrams received on one UDP socket, one object per remote
 * address and port, shared by every datagram from there. A server transaction
 * keeps its request's source until Timer J (RFC 3261 §17.2.2: 32 s over UDP),
 * so an object (and an address string) per datagram lived that long and every
 * scavenge copied it (issue 11); a presence server sends all its NOTIFYs from
 * one address and port. The objects are never changed by their users.
 */
export class DatagramSources {
  private readonly byPort = new Map<number, Map<string, ReceivedFrom>>();
  private count = 0;

  constructor(
    private readonly localAddress: string,
    private readonly localPort: number,
  ) {}

  sourceOf(remoteAddress: string, remotePort: number): ReceivedFrom {
    let byAddress = this.byPort.get(remotePort);
    const known = byAddress?.get(remoteAddress);
    if (known !== undefined) return known;
    if (this.count >= MOST_SOURCES) {
      this.byPort.clear();
      this.count = 0;
      byAddress = undefined;
    }
    if (byAddress === undefined) {
      byAddress = new Map();
      this.byPort.set(remotePort, byAddress);
    }
    const source: ReceivedFrom = { transport: 'udp', remoteAddress, remotePort, localAddress: this.localAddress, localPort: this.localPort };
    byAddress.set(remoteAddress, source);
    this.count++;
    return source;
  }
}
