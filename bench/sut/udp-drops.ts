/**
 * Datagrams the kernel dropped at a UDP port's receive buffer (Linux): the
 * `drops` column of /proc/net/udp for the sockets bound to `port`. A NOTIFY
 * dropped there reaches the SUT only as the server's retransmission
 * (500 ms, 1 s, 2 s… later), so a count of them says how much of a run's
 * lateness came from a full buffer (bench/README.md, Known limits).
 */
import { readFileSync } from 'node:fs';

/** Summed drops of the IPv4 UDP sockets on `port`, or undefined where /proc/net/udp is not there. */
export function udpDrops(port: number): number | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/net/udp', 'latin1');
  } catch {
    return undefined;
  }
  return udpDropsIn(text, port);
}

/** The same from the text of /proc/net/udp. */
export function udpDropsIn(text: string, port: number): number {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  let drops = 0;
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ref pointer drops
    const local = fields[1];
    if (local === undefined || fields.length < 13 || local.slice(local.indexOf(':') + 1) !== hexPort) continue;
    drops += Number(fields[12]) || 0;
  }
  return drops;
}
