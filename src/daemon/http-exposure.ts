import { type DaemonConfig, isLoopbackHost } from '../config/config-schema.js';

/**
 * The warning the daemon logs at start when its HTTP API listens beyond
 * loopback in clear: the bearer token (RFC 6750 §5.3: bearer tokens need
 * TLS) and every presence status would cross the network unencrypted.
 * Undefined when there is nothing to warn about (API off, loopback, or http.tls).
 */
export function plainHttpWarning(config: DaemonConfig): string | undefined {
  if (!config.http.enabled || config.http.tls !== undefined || isLoopbackHost(config.http.host)) return undefined;
  return `the HTTP API listens on ${config.http.host} beyond loopback without TLS: its bearer token and the presence data travel in clear (set http.tls, or put it on 127.0.0.1 behind a TLS proxy)`;
}
