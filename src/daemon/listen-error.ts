import type { B2BErrorCode } from '../util/error-codes.js';
import { PresenceB2BError } from '../util/errors.js';

/** Stable codes of DaemonListenError (`DAEMON_ERR_*`, meanings in src/util/error-codes.ts). */
export type DaemonErrorCode = Extract<B2BErrorCode, `DAEMON_ERR_${string}`>;

/** Why a socket could not be bound, from the system's error code. */
export type ListenFailure = 'in-use' | 'not-local' | 'not-permitted' | 'other';

/**
 * The daemon could not bind a socket its configuration names: the SIP
 * listen entry or the HTTP API. Names the configuration key and the
 * address, so that the start can fail with one line a person can act on
 * (`presence-b2b start` exits 1).
 */
export class DaemonListenError extends PresenceB2BError {
  declare readonly code: DaemonErrorCode;

  constructor(
    /** The configuration key to change: `sip.listen.0.port`, `sip.listen.0.host`, `http.port`, `http.host`. */
    readonly key: string,
    /** `udp 127.0.0.1:5060`, `http 127.0.0.1:7080`. */
    readonly address: string,
    readonly failure: ListenFailure,
    cause: unknown,
  ) {
    super('DAEMON_ERR_LISTEN', `${address} (${key}) ${explain(failure, cause)}`, { cause });
  }
}

function explain(failure: ListenFailure, cause: unknown): string {
  switch (failure) {
    case 'in-use':
      return 'is in use by another process: stop it, or choose another port';
    case 'not-local':
      return 'is not an address of this machine';
    case 'not-permitted':
      return 'needs privileges: use a port ≥ 1024, or grant CAP_NET_BIND_SERVICE';
    default:
      return `cannot be bound: ${cause instanceof Error ? cause.message : String(cause)}`;
  }
}

/** The system error code of a bind failure, wrapped or not (`EADDRINUSE`, …). */
function systemCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code;
  }
  return undefined;
}

/**
 * A bind failure of the SIP transport (a SipTransportError whose cause is the
 * system error) as a DaemonListenError naming the `sip.listen` entry, or
 * undefined when `error` is something else.
 */
export function sipListenError(error: unknown, listen: ReadonlyArray<{ transport: string; host: string; port: number }>): DaemonListenError | undefined {
  const failure = listenFailureOf(error);
  if (failure === undefined || !(error instanceof Error)) return undefined;
  // The transport layer says what it was doing: "UDP bind 127.0.0.1:5060: …", "TCP listen …".
  const match = /^(UDP|TCP|TLS) (?:bind|listen) (\S+):(\d+): /.exec(error.message);
  if (match === null) return undefined;
  const transport = match[1]!.toLowerCase();
  const host = match[2]!;
  const port = Number(match[3]);
  const index = listen.findIndex((l) => l.transport === transport && l.host === host && l.port === port);
  const entry = index < 0 ? 'sip.listen' : `sip.listen.${index}`;
  const key = failure === 'not-local' ? `${entry}.host` : `${entry}.port`;
  return new DaemonListenError(key, `${transport} ${host}:${port}`, failure, error);
}

/** The kind of bind failure, or undefined when `error` is no bind failure. */
export function listenFailureOf(error: unknown): ListenFailure | undefined {
  switch (systemCode(error)) {
    case 'EADDRINUSE':
      return 'in-use';
    case 'EADDRNOTAVAIL':
      return 'not-local';
    case 'EACCES':
    case 'EPERM':
      return 'not-permitted';
    default:
      return undefined;
  }
}
