import type { B2BErrorCode } from '../../util/error-codes.js';
import { PresenceB2BError } from '../../util/errors.js';

/**
 * Stable codes of transport failures reported to `send()`'s error handler
 * (`SIP_ERR_TRANSPORT_*`, registered in src/util/error-codes.ts):
 * - SIP_ERR_TRANSPORT_CONNECT_TIMEOUT  a TCP/TLS connection was not established within connectTimeoutMs
 * - SIP_ERR_TRANSPORT_CLOSED           the connection closed before the message could be written, or the layer is closed
 * - SIP_ERR_TRANSPORT_UNAVAILABLE      no socket for that transport / address family (not listening on it)
 * - SIP_ERR_TRANSPORT_LIMIT            maxConnections reached, or a datagram too large
 * - SIP_ERR_TRANSPORT_SERIALIZE        the message could not be serialized (reported by the transaction that tried, before any send)
 * - SIP_ERR_TRANSPORT_IO               the socket reported an error (ECONNREFUSED, ECONNRESET, TLS failure, …; see `cause`)
 */
export type SipTransportErrorCode = Extract<B2BErrorCode, `SIP_ERR_TRANSPORT_${string}`>;

export class SipTransportError extends PresenceB2BError {
  declare readonly code: SipTransportErrorCode;

  constructor(code: SipTransportErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** Wraps a socket error (which carries a node `code` such as ECONNREFUSED) as SIP_ERR_TRANSPORT_IO. */
export function ioError(error: unknown, what: string): SipTransportError {
  if (error instanceof SipTransportError) return error;
  const code = typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : '';
  const message = error instanceof Error ? error.message : String(error);
  return new SipTransportError('SIP_ERR_TRANSPORT_IO', `${what}: ${code && !message.includes(code) ? `${code} ` : ''}${message}`, { cause: error });
}
