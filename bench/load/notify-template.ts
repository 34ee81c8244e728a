/**
 * One dialog's NOTIFY, serialized once into a Buffer and patched in place for
 * each NOTIFY sent (the simulator's send path, presence-server-sim.ts): the
 * fields that change from one NOTIFY to the next of a dialog are numbers
 * (the branch's transaction number, the CSeq, the Subscription-State's
 * expires, the stamp's sequence number twice and its send time), each
 * rewritten in place as decimal digits. When a number's width changes (a CSeq
 * from 99 to 100, the stamp's sequence number from 99,999 to 100,000) the
 * octets after it move within the template's buffer, which keeps room for
 * that; when anything else in the message changes (target, state,
 * open/closed, transport), the template is built again. A NOTIFY's bytes are
 * exactly what building it as a string gives
 * (`notifyText`): only the branch differs from the simulator's earlier
 * format, a fixed-width decimal transaction number instead of a base-36
 * counter, so that an answer finds its transaction without a Map.
 *
 * Why: building each NOTIFY as a template string with its PIDF body cost the
 * generator ~1.3 KB of strings, a Buffer and a closure per NOTIFY; its GC then
 * made it late, and late it sent what was due in a burst that the SUT had to
 * absorb (docs/latency-tail.md, "Round 7"). Building the template again on
 * each change of width did the same in waves: every dialog's two templates
 * at once when the sequence numbers reached 100,000 or the CSeqs 10 (up to
 * 20,000 builds of ~3 KB each within a second at 10,000/s, all of them kept),
 * hence moving the octets in place (docs/latency-tail.md, "The generator's
 * templates built again in waves").
 */
import { pidfBody } from './pidf-body.js';

/** The digits of the branch's transaction number: room for 10^10 NOTIFYs per simulator. */
export const BRANCH_DIGITS = 10;

export interface NotifyFields {
  /** `Request-URI`: the subscriber's Contact. */
  target: string;
  transport: 'udp' | 'tcp';
  /** Our host and port (Via sent-by and Contact). */
  host: string;
  port: number;
  branchPrefix: string;
  /** Transaction number, written as BRANCH_DIGITS decimal digits after the prefix. */
  txId: number;
  localUri: string;
  localTag: string;
  remoteUri: string;
  remoteTag: string;
  callId: string;
  cseq: number;
  /** Subscription-State: `stateText` followed by `expires` when expires ≥ 0 (`active;expires=` + 3600). */
  stateText: string;
  expires: number;
  /** The stamp (pidf-body.ts): global sequence number and monotonic send time in ns (an integer). */
  seq: number;
  sentNs: number;
  open: boolean;
}

/** The NOTIFY as text, the way the simulator has always built it (and the template's reference). */
export function notifyText(f: NotifyFields): string {
  const body = pidfBody(f.localUri, f.seq, BigInt(f.sentNs), f.open);
  return (
    `NOTIFY ${f.target} SIP/2.0\r\n` +
    `Via: SIP/2.0/${f.transport === 'tcp' ? 'TCP' : 'UDP'} ${f.host}:${f.port};branch=${f.branchPrefix}${padDigits(f.txId, BRANCH_DIGITS)};rport\r\n` +
    'Max-Forwards: 70\r\n' +
    `From: <${f.localUri}>;tag=${f.localTag}\r\n` +
    `To: <${f.remoteUri}>${f.remoteTag === '' ? '' : `;tag=${f.remoteTag}`}\r\n` +
    `Call-ID: ${f.callId}\r\n` +
    `CSeq: ${f.cseq} NOTIFY\r\n` +
    `Contact: <sip:ps@${f.host}:${f.port};transport=${f.transport}>\r\n` +
    'Event: presence\r\n' +
    `Subscription-State: ${f.stateText}${f.expires >= 0 ? String(f.expires) : ''}\r\n` +
    'Content-Type: application/pidf+xml\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n` +
    body
  );
}

function padDigits(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

/** Decimal digits of a non-negative integer. */
export function digitsOf(value: number): number {
  let n = 1;
  for (let v = value; v >= 10; v = Math.floor(v / 10)) n++;
  return n;
}

/** Writes `value` as exactly `width` decimal digits at `at` (value < 10^width, integer below 2^53). */
export function writeDigits(buffer: Buffer, at: number, width: number, value: number): void {
  let v = value;
  for (let i = width - 1; i >= 0; i--) {
    const q = Math.floor(v / 10);
    buffer[at + i] = 48 + (v - q * 10);
    v = q;
  }
}

/** Octets of room a template keeps beyond its NOTIFY, for its numbers to grow into (a CSeq from 99 to 100). */
const SLACK = 24;

// The numbers a template rewrites, in the order they stand in the NOTIFY (a number that grows moves
// everything after it); BODY is where the body starts (no digits of its own: it moves, and
// Content-Length is the octets from it to the end).
const CSEQ = 0;
const EXPIRES = 1;
const CONTENT_LENGTH = 2;
const BODY = 3;
const SEQ = 4;
const NS = 5;
const NOTE_SEQ = 6;
const FIELDS = 7;

export class NotifyTemplate {
  /** The NOTIFY's octets followed by room to grow (`SLACK`); `patch()` returns a view of the NOTIFY. */
  private readonly buffer: Buffer;
  private length: number;
  private view: Buffer | undefined;
  /** What the template was built for: a NOTIFY that differs in any of these needs a new one. */
  readonly target: string;
  readonly transport: 'udp' | 'tcp';
  readonly stateText: string;
  readonly open: boolean;
  private readonly branchAt: number;
  private readonly at = new Int32Array(FIELDS);
  private readonly width = new Int32Array(FIELDS);
  /** The pacing turn it was last patched in (the simulator's, to tell a second use in one turn). */
  turn = -1;

  constructor(f: NotifyFields) {
    const text = notifyText(f);
    // Offsets from the text's structure; the bench's URIs and tags are ASCII, checked here.
    if (Buffer.byteLength(text) !== text.length) throw new Error('NOTIFY template: non-ASCII field');
    this.buffer = Buffer.allocUnsafe(text.length + SLACK);
    this.buffer.write(text, 0, 'latin1');
    this.length = text.length;
    this.target = f.target;
    this.transport = f.transport;
    this.stateText = f.stateText;
    this.open = f.open;
    this.branchAt = text.indexOf(';branch=') + 8 + f.branchPrefix.length;
    const { at, width } = this;
    at[CSEQ] = text.indexOf('\r\nCSeq: ') + 8;
    width[CSEQ] = digitsOf(f.cseq);
    // Without an expires the field has no digits and never gets any (`fits` asks for the same form).
    at[EXPIRES] = text.indexOf('\r\nSubscription-State: ') + 22 + f.stateText.length;
    width[EXPIRES] = f.expires >= 0 ? digitsOf(f.expires) : 0;
    at[CONTENT_LENGTH] = text.indexOf('\r\nContent-Length: ') + 18;
    at[BODY] = text.indexOf('\r\n\r\n') + 4;
    width[CONTENT_LENGTH] = digitsOf(text.length - at[BODY]!);
    at[SEQ] = text.indexOf('<tuple id="s') + 12;
    width[SEQ] = digitsOf(f.seq);
    at[NS] = at[SEQ]! + width[SEQ]! + 1;
    width[NS] = digitsOf(f.sentNs);
    at[NOTE_SEQ] = text.indexOf('<note>bench seq ') + 16;
    width[NOTE_SEQ] = width[SEQ]!;
  }

  /**
   * Whether this template can carry `f` by patching its numbers: the same target, transport, state
   * and basic status, and room for the numbers' digits (a number one digit longer than before moves
   * the octets after it within the template's buffer; only a NOTIFY longer than that needs a new one).
   */
  fits(f: NotifyFields): boolean {
    if (f.target !== this.target || f.transport !== this.transport || f.stateText !== this.stateText || f.open !== this.open) return false;
    const w = this.width;
    if (f.expires >= 0 !== w[EXPIRES]! > 0) return false;
    const seqGrowth = digitsOf(f.seq) - w[SEQ]!;
    const growth =
      digitsOf(f.cseq) - w[CSEQ]! +
      (f.expires >= 0 ? digitsOf(f.expires) - w[EXPIRES]! : 0) +
      2 * seqGrowth +
      digitsOf(f.sentNs) - w[NS]! +
      1; // the Content-Length may take one digit more
    return this.length + growth <= this.buffer.length;
  }

  /** Rewrites the numbers of `f` in place (`fits(f)` must hold) and returns the NOTIFY's octets. */
  patch(f: NotifyFields): Buffer {
    writeDigits(this.buffer, this.branchAt, BRANCH_DIGITS, f.txId);
    this.set(CSEQ, f.cseq);
    if (this.width[EXPIRES]! > 0) this.set(EXPIRES, f.expires);
    this.set(SEQ, f.seq);
    this.set(NS, f.sentNs);
    this.set(NOTE_SEQ, f.seq);
    // Last, as it depends on the body's length (and moves the body if its own width changes).
    this.set(CONTENT_LENGTH, this.length - this.at[BODY]!);
    this.view ??= this.buffer.subarray(0, this.length);
    return this.view;
  }

  private set(field: number, value: number): void {
    const digits = digitsOf(value);
    const old = this.width[field]!;
    if (digits !== old) {
      // Move what follows the number by the change in its width, and every later offset with it.
      const delta = digits - old;
      const from = this.at[field]! + old;
      this.buffer.copyWithin(from + delta, from, this.length);
      this.length += delta;
      this.width[field] = digits;
      for (let later = field + 1; later < FIELDS; later++) this.at[later]! += delta;
      this.view = undefined;
    }
    writeDigits(this.buffer, this.at[field]!, digits, value);
  }
}
