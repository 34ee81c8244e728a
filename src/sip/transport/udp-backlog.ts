import { readFile } from 'node:fs';
import { isIP } from 'node:net';
import { endianness } from 'node:os';

/**
 * The receive backlog of our UDP sockets: octets the kernel holds for them
 * that we have not read yet (`rx_queue` of /proc/net/udp and /proc/net/udp6,
 * Linux). Under a flood this is where the load piles up, and where the kernel
 * drops it once the socket's receive buffer is full: Node reads a bounded
 * number of datagrams per event-loop turn, so the process itself never holds
 * a queue worth measuring (docs/hostile-input.md, "Floods").
 *
 * Reading those files takes the kernel a few hundred microseconds whatever
 * their size, so it is done off the event loop (fs.readFile), one read at a
 * time: `read()` returns the last value and starts the next read.
 */
export class ProcUdpBacklog {
  private last = 0;
  private reading = false;

  constructor(private readonly files: readonly string[] = ['/proc/net/udp', '/proc/net/udp6']) {}

  read(sockets: ReadonlyArray<{ address: string; port: number }>): number {
    if (!this.reading && sockets.length > 0) this.refresh(sockets);
    return this.last;
  }

  private refresh(sockets: ReadonlyArray<{ address: string; port: number }>): void {
    this.reading = true;
    let pending = this.files.length;
    let total = 0;
    for (const file of this.files) {
      readFile(file, 'latin1', (error, text) => {
        // No such file (not Linux, no IPv6): nothing queued there that we can see.
        if (!error) total += udpBacklogOf(text, sockets);
        if (--pending === 0) {
          this.last = total;
          this.reading = false;
        }
      });
    }
  }
}

/** Sum of rx_queue over the lines of a /proc/net/udp{,6} text whose local address and port are one of `sockets`. */
export function udpBacklogOf(text: string, sockets: ReadonlyArray<{ address: string; port: number }>): number {
  let total = 0;
  let pos = text.indexOf('\n') + 1; // the title line
  while (pos > 0 && pos < text.length) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = text.length;
    const fields = text.slice(pos, end).trim().split(/\s+/);
    pos = end + 1;
    // sl local_address rem_address st tx_queue:rx_queue ...
    const local = fields[1];
    const queues = fields[4];
    if (local === undefined || queues === undefined) continue;
    const colon = local.lastIndexOf(':');
    const port = Number.parseInt(local.slice(colon + 1), 16);
    const address = procAddress(local.slice(0, colon));
    if (address === undefined || !sockets.some((s) => s.port === port && sameAddress(s.address, address))) continue;
    const rx = Number.parseInt(queues.slice(queues.indexOf(':') + 1), 16);
    if (Number.isFinite(rx)) total += rx;
  }
  return total;
}

/** A /proc/net address (hex, each 32-bit word in host byte order) as text: dotted IPv4, or IPv6 groups. */
export function procAddress(hex: string, littleEndian = endianness() === 'LE'): string | undefined {
  if (hex.length !== 8 && hex.length !== 32) return undefined;
  const bytes: number[] = [];
  for (let word = 0; word < hex.length; word += 8) {
    const value = Number.parseInt(hex.slice(word, word + 8), 16);
    if (!Number.isFinite(value)) return undefined;
    const be = [(value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
    bytes.push(...(littleEndian ? be.reverse() : be));
  }
  if (bytes.length === 4) return bytes.join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(':');
}

/** Equal addresses, or a wildcard bind on one side (0.0.0.0, ::). */
function sameAddress(ours: string, proc: string): boolean {
  const a = expand(ours);
  const b = expand(proc);
  return a === b || isWildcard(a) || isWildcard(b);
}

function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '0:0:0:0:0:0:0:0';
}

/** IPv6 in full groups without leading zeros (as procAddress writes it); IPv4 as is. */
function expand(address: string): string {
  if (isIP(address) !== 6) return address;
  let text = address.toLowerCase();
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4 !== null) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? (text.split('::') as [string, string]) : [text, undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const middle = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...middle, ...right].map((g) => Number.parseInt(g, 16).toString(16)).join(':');
}
