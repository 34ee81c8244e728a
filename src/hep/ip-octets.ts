import { isIP } from 'node:net';

/**
 * An IP address in network byte order, for HEP's address chunks: 4 octets
 * for IPv4, 16 for IPv6 (RFC 4291 §2.2 text forms: `::` compression, an
 * embedded dotted quad). An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, what
 * a dual-stack socket reports) comes back as IPv4. Anything else (a host
 * name, an empty string) is `undefined`.
 */
export function ipOctets(address: string): Uint8Array | undefined {
  const text = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const bare = text.includes('%') ? text.slice(0, text.indexOf('%')) : text; // zone index: not on the wire
  const family = isIP(bare);
  if (family === 4) return ipv4Octets(bare);
  if (family !== 6) return undefined;
  const octets = ipv6Octets(bare);
  if (octets === undefined) return undefined;
  if (isV4Mapped(octets)) return octets.subarray(12);
  return octets;
}

function ipv4Octets(text: string): Uint8Array {
  return Uint8Array.from(text.split('.').map(Number));
}

function ipv6Octets(text: string): Uint8Array | undefined {
  let body = text;
  const tail: number[] = [];
  // A trailing dotted quad fills the last 32 bits.
  const lastColon = body.lastIndexOf(':');
  if (body.slice(lastColon + 1).includes('.')) {
    const v4 = ipv4Octets(body.slice(lastColon + 1));
    tail.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
    body = `${body.slice(0, lastColon + 1)}0:0`; // two placeholder groups, replaced below
  }
  const halves = body.split('::');
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((h) => Number.parseInt(h, 16)));
  const head = parse(halves[0] ?? '');
  const rest = halves.length > 1 ? parse(halves[1] ?? '') : [];
  let groups: number[];
  if (halves.length > 1) {
    const missing = 8 - head.length - rest.length;
    groups = [...head, ...new Array<number>(Math.max(0, missing)).fill(0), ...rest];
  } else {
    groups = head;
  }
  if (tail.length === 2) groups.splice(groups.length - 2, 2, ...tail);
  if (groups.length !== 8) return undefined;
  const out = new Uint8Array(16);
  groups.forEach((group, i) => {
    out[2 * i] = group >> 8;
    out[2 * i + 1] = group & 0xff;
  });
  return out;
}

function isV4Mapped(octets: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (octets[i] !== 0) return false;
  return octets[10] === 0xff && octets[11] === 0xff;
}
