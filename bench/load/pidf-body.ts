/**
 * The PIDF bodies the simulator sends, and how the consumer reads the
 * benchmark stamp back out of a parsed document.
 *
 * Each NOTIFY body carries, in its tuple id (an XML ID, RFC 3863 §4.1.2:
 * `s<seq>t<ns>`), the simulator's global sequence number (to count lost and
 * duplicated NOTIFYs) and the monotonic send time in nanoseconds
 * (`process.hrtime`, CLOCK_MONOTONIC, the same clock in every process of the
 * host), so the consumer in the SUT measures NOTIFY-to-queue latency without
 * a header the product would have to pass through. The rest of the document is
 * the 698-byte realistic single-tuple PIDF of docs/benchmark-method.md §6.3 (three
 * namespaces, a person with RPID activities, a device).
 */

/** The body for one NOTIFY; `open` alternates between open and closed so every document differs. */
export function pidfBody(entity: string, seq: number, sentNs: bigint, open: boolean): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" ' +
    `xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="${entity}">\n` +
    `  <tuple id="s${seq}t${sentNs}">\n` +
    `    <status><basic>${open ? 'open' : 'closed'}</basic></status>\n` +
    '    <contact priority="0.8">sip:alice@192.0.2.10:5060;transport=udp</contact>\n' +
    `    <note>bench seq ${seq}</note>\n` +
    '    <timestamp>2026-11-27T04:03:00Z</timestamp>\n' +
    '  </tuple>\n' +
    '  <dm:person id="p1a2b3">\n' +
    '    <rpid:activities><rpid:on-the-phone/></rpid:activities>\n' +
    '    <dm:note>On the phone</dm:note>\n' +
    '  </dm:person>\n' +
    '  <dm:device id="d9f8e7"><dm:deviceID>urn:uuid:3c8e1f5a-0b7d-4c2e-9a61-5d2f7b8c9e10</dm:deviceID></dm:device>\n' +
    '</presence>\n'
  );
}

/** A decoded benchmark stamp. */
export interface BenchStamp {
  seq: number;
  /** Monotonic send time in ns as a Number (exact below 2^53 ns ≈ 104 days of uptime). */
  sentNs: number;
}

/** Reads `s<seq>t<ns>` back; undefined for any other id. No regex: this runs once per message. */
export function decodeStampId(id: string): BenchStamp | undefined {
  if (id.length < 4 || id.charCodeAt(0) !== 115 /* s */) return undefined;
  const t = id.indexOf('t', 1);
  if (t < 2) return undefined;
  const seq = Number(id.slice(1, t));
  const sentNs = Number(id.slice(t + 1));
  if (!Number.isInteger(seq) || !Number.isFinite(sentNs)) return undefined;
  return { seq, sentNs };
}

/** The user index of a bench record/subscriber URI (`sip:user42@…` → 42), or -1. */
export function userIndexOf(uri: string, prefix: string): number {
  const at = uri.indexOf(prefix);
  if (at < 0) return -1;
  let i = at + prefix.length;
  let n = 0;
  let digits = 0;
  while (i < uri.length) {
    const c = uri.charCodeAt(i);
    if (c < 48 || c > 57) break;
    n = n * 10 + (c - 48);
    digits++;
    i++;
  }
  return digits === 0 ? -1 : n;
}
