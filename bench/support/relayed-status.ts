/**
 * The status message the fan-out benches carry between nodes (bench/fanout.ts,
 * bench/status-relay.ts): the JSON view of one presence status with a PIDF
 * body of about 400 bytes, so that both benches move the same payload.
 */

export const RELAYED_PIDF_BODY =
  '<?xml version="1.0" encoding="UTF-8"?>\n<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com">' +
  '<tuple id="t1"><status><basic>open</basic></status><note>at my desk, back at 3</note></tuple>' +
  '<dm:person xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" id="p1"><rpid:activities xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid"><rpid:busy/></rpid:activities></dm:person></presence>';

/** The view of status number `i` (its subscription and record derived from `i`). */
export function relayedStatusView(i: number): Record<string, unknown> {
  return {
    timestamp: '2026-01-01T00:00:00.000Z',
    subscriptionId: `s${i.toString(36).padStart(15, '0')}`,
    record: `sip:user${i % 5000}@example.com`,
    subscriber: 'sip:watcher@example.com',
    package: 'presence',
    state: 'active',
    expires: 3600,
    contentType: 'application/pidf+xml',
    body: RELAYED_PIDF_BODY,
  };
}
