import type { ListenSpec } from '../sip/transport/types.js';
import { InvalidOptionError } from '../util/invalid-option-error.js';

/**
 * Parses `--listen transport:host:port` (`udp:127.0.0.1:0`, `tcp:[::1]:5090`);
 * port 0 asks the OS for a free one. Throws InvalidOptionError (`--listen: …`).
 */
export function parseListenOption(text: string): ListenSpec {
  const match = /^(udp|tcp):(\[[0-9A-Fa-f:.]+\]|[^:\s]+):(\d{1,5})$/i.exec(text.trim());
  if (match === null) {
    throw new InvalidOptionError({ option: '--listen', message: `expected transport:host:port such as udp:127.0.0.1:0, got ${JSON.stringify(text)}` });
  }
  const port = Number(match[3]);
  if (port > 65535) throw new InvalidOptionError({ option: '--listen', message: `expected a port from 0 to 65535, got ${port}` });
  const host = match[2]!.replace(/^\[|\]$/g, '');
  return { transport: match[1]!.toLowerCase() as 'udp' | 'tcp', host, port };
}
