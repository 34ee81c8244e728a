import { firstListElement, formatVia, topVia, type Via } from '../codec/index.js';
import type { SipRequest } from '../codec/message.js';

export type ViaStampResult = 'unchanged' | 'stamped' | 'no-via' | 'bad-via';

/**
 * RFC 3261 §18.2.1: the server transport adds `received=<source address>` to
 * the top Via when its sent-by host differs from the packet's source; RFC 3581
 * §4: an `rport` without value is filled with the source port (and then
 * `received` is added even when the host matches). The top Via element is
 * rewritten in place with formatVia; further Via elements on its line are kept.
 */
export function stampTopVia(request: SipRequest, remoteAddress: string, remotePort: number): ViaStampResult {
  let via: Via;
  try {
    // Usually already parsed (and memoised) by the parser's validation: no second parse.
    via = topVia(request);
  } catch {
    return request.headers.has('via') ? 'bad-via' : 'no-via';
  }
  const stamped = stampedVia(via, remoteAddress, remotePort);
  if (stamped === undefined) return 'unchanged';
  for (const field of request.headers) {
    if (field.key !== 'via') continue;
    const line = field.value;
    const rest = line.length - firstListElement(line).length;
    field.value = rest === 0 ? formatVia(stamped) : formatVia(stamped) + line.slice(line.length - rest);
    return 'stamped';
  }
  return 'no-via';
}

/** A copy of `via` with received/rport applied, or undefined when nothing needs adding. */
export function stampedVia(via: Via, remoteAddress: string, remotePort: number): Via | undefined {
  const fillRport = via.rport === true;
  const hostDiffers = unbracket(via.host) !== remoteAddress.toLowerCase();
  if (!fillRport && !hostDiffers) return undefined;
  // received carries the bare address, IPv6 without brackets (RFC 3261 §20.42, RFC 5118 §4.5).
  const copy: Via = { ...via, params: new Map(via.params), received: remoteAddress };
  if (fillRport) copy.rport = remotePort;
  return copy;
}

export function unbracket(host: string): string {
  return host.length > 1 && host.charCodeAt(0) === 0x5b && host.charCodeAt(host.length - 1) === 0x5d ? host.slice(1, -1) : host;
}
