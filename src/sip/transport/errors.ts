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
 * - SIP_ERR_TRANSPORT_TLS_VERIFY       the peer's certificate did not verify (see `cause`: its OpenSSL code)
 * - SIP_ERR_TRANSPORT_IDLE, _MESSAGE_TIMEOUT  a connection closed for a limit (reported on the connection-closed diagnostic)
 * - SIP_ERR_TRANSPORT_OVERLOAD         (diagnostics only) a request shed under overload
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

/**
 * The `code`s node's TLS gives a certificate that failed verification: the
 * OpenSSL X509_V_ERR_* names, and node's own name check (RFC 6125 identity).
 */
const TLS_VERIFY_CODES: ReadonlySet<string> = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_CRL',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECRYPT_CRL_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CRL_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CRL_NOT_YET_VALID',
  'CRL_HAS_EXPIRED',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'ERROR_IN_CRL_LAST_UPDATE_FIELD',
  'ERROR_IN_CRL_NEXT_UPDATE_FIELD',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** A socket error that says the peer's certificate did not verify, as SIP_ERR_TRANSPORT_TLS_VERIFY; undefined for any other error. */
export function tlsVerifyError(error: unknown, what: string): SipTransportError | undefined {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : '';
  if (!TLS_VERIFY_CODES.has(code)) return undefined;
  const message = error instanceof Error ? error.message : String(error);
  return new SipTransportError('SIP_ERR_TRANSPORT_TLS_VERIFY', `${what}: certificate not trusted (${code}: ${message})`, { cause: error });
}
