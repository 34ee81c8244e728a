import type { ListenSpec } from '../sip/transport/types.js';

/**
 * Parses `--listen transport:host:port` (`udp:127.0.0.1:0`, `tcp:[::1]:5090`);
 * port 0 asks the OS for a free one. Throws an Error with a readable message.
 */
export function parseListenOption(text: string): ListenSpec {
  const match = /^(udp|tcp):(\[[0-9A-Fa-f:.]+\]|[^:\s]+):(\d{1,5})$/i.exec(text.trim());
  if (match === null) throw new Error(`--listen: expected transport:host:port such as udp:127.0.0.1:0, got ${JSON.stringify(text)}`);
  const port = Number(match[3]);
  if (port > 65535) throw new Error(`--listen: port ${port} is out of range`);
  const host = match[2]!.replace(/^\[|\]$/g, '');
  return { transport: match[1]!.toLowerCase() as 'udp' | 'tcp', host, port };
}

/** `sip:host:port` for --proxy given as `host:port` too. */
export function normalizeProxy(text: string): string {
  const t = text.trim();
  return /^sips?:/i.test(t) ? t : `sip:${t}`;
}
