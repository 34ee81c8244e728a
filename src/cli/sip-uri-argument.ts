import { InvalidArgumentError } from 'commander';
import { parseSipUri } from '../sip/codec/uri.js';
import { isSipUriText, SIP_URI_EXPECTED } from '../http/sip-uri-text.js';
import { showValue } from '../http/request-validation.js';
import type { ListenSpec } from '../sip/transport/types.js';
import { parseListenOption } from './listen-option.js';

/**
 * A SIP URI given on the command line (`<record>`, `--as`), checked before
 * anything is sent, with the HTTP API's words. `alice@example.com` (no scheme)
 * is taken as `sip:alice@example.com`, as README's CLI section says; anything
 * else that is not a SIP URI is a usage error (exit 2).
 */
export function sipUriArgument(text: string): string {
  const trimmed = text.trim();
  const uri = /^[^:@\s<>]+@[^\s<>]+$/.test(trimmed) && !/^sips?:/i.test(trimmed) ? `sip:${trimmed}` : trimmed;
  if (!isSipUriText(uri)) throw new InvalidArgumentError(`${SIP_URI_EXPECTED}, got ${showValue(text)}`);
  return uri;
}

/**
 * `--proxy`: a SIP URI, or `host:port` for `sip:host:port`. TLS (`sips:`,
 * `;transport=tls`) is refused here: the CLI has no certificate to listen
 * with, and the transport layer sends TLS only where it listens.
 */
export function proxyArgument(text: string): string {
  const trimmed = text.trim();
  const uri = /^sips?:/i.test(trimmed) ? trimmed : `sip:${trimmed}`;
  if (!isSipUriText(uri)) throw new InvalidArgumentError(`expected a SIP URI such as sip:127.0.0.1:5060 (or host:port), got ${showValue(text)}`);
  if (transportOf(uri) === 'tls') throw new InvalidArgumentError(`TLS (sips: or ;transport=tls) is not offered by the CLI: use ;transport=tcp or UDP, got ${showValue(text)}`);
  return uri;
}

/** `--listen transport:host:port`, as a usage error when it does not parse. */
export function listenArgument(text: string): ListenSpec {
  try {
    return parseListenOption(text);
  } catch (error) {
    throw new InvalidArgumentError(error instanceof Error ? error.message.replace(/^--listen: /, '') : String(error));
  }
}

/**
 * The sockets the embedded B2BUA opens: `--listen`, plus one (same host, any
 * port) for each other transport its requests need: the proxy's, or with
 * --no-proxy both UDP and TCP (RFC 3263 may choose either for the record's
 * domain). Without it a `;transport=tcp` proxy failed as "transport tcp is not
 * enabled".
 */
export function listenSpecsFor(listen: ListenSpec, proxy: string | undefined): ListenSpec[] {
  const needed: Array<'udp' | 'tcp'> = proxy === undefined ? ['udp', 'tcp'] : [transportOf(proxy) === 'tcp' ? 'tcp' : 'udp'];
  const specs = [listen];
  for (const transport of needed) if (!specs.some((s) => s.transport === transport)) specs.push({ transport, host: listen.host, port: 0 });
  return specs;
}

/** The transport a request to `uri` needs: its `transport` parameter, TLS for sips:, else UDP (RFC 3263 §4.1 without NAPTR). */
export function transportOf(uri: string): 'udp' | 'tcp' | 'tls' {
  const parsed = parseSipUri(uri);
  const param = parsed.params.get('transport')?.toLowerCase();
  if (parsed.scheme === 'sips' || param === 'tls') return 'tls';
  return param === 'tcp' ? 'tcp' : 'udp';
}
