/**
 * RFC 3261 §19.1.2 and §18.2.2: the port a SIP URI, a Via sent-by or a
 * resolved target means when it names none: 5061 for TLS and for the `sips`
 * scheme, 5060 for everything else (UDP, TCP, `sip`). Case-insensitive, so
 * that a Via transport token (`TLS`) can be passed as it was parsed.
 */
export function defaultPort(transportOrScheme: string): number {
  const name = transportOrScheme.toLowerCase();
  return name === 'tls' || name === 'sips' ? 5061 : 5060;
}
