/**
 * One dialog's NOTIFY, serialized once into a Buffer and patched in place for
 * each NOTIFY sent (the simulator's send path, presence-server-sim.ts): the
 * fields that change from one NOTIFY to the next of a dialog are numbers
 * (the branch's transaction number, the CSeq, the Subscription-State's
 * expires, the stamp's sequence number twice and its send time), each
 * rewritten in place as decimal digits of the width the template was built
 * with. When a width changes (a CSeq from 99 to 100), or anything else in the
 * message does (target, state, open/closed, transport), the template is built
 * again, so a NOTIFY's bytes are exactly what building it as a string gives
 * (`notifyText`): only the branch differs from the simulator's earlier
 * format, a fixed-width decimal transaction number instead of a base-36
 * counter, so that an answer finds its transaction without a Map.
 *
 * Why: building each NOTIFY as a template string with its PIDF body cost the
 * generator ~1.3 KB of strings, a Buffer and a closure per NOTIFY; its GC then
 * made it late, and late it sent what was due in a burst that the SUT had to
 * absorb (docs/latency-tail.md, "Round 7").
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

export class NotifyTemplate {
  readonly buffer: Buffer;
  /** What the template was built for: a NOTIFY that differs in any of these needs a new one. */
  readonly target: string;
  readonly transport: 'udp' | 'tcp';
  readonly stateText: string;
  readonly open: boolean;
  private readonly cseqWidth: number;
  private readonly expiresWidth: number;
  private readonly seqWidth: number;
  private readonly nsWidth: number;
  private readonly branchAt: number;
  private readonly cseqAt: number;
  private readonly expiresAt: number;
  private readonly seqAt: number;
  private readonly noteSeqAt: number;
  private readonly nsAt: number;
  /** The pacing turn it was last patched in (the simulator's, to tell a second use in one turn). */
  turn = -1;

  constructor(f: NotifyFields) {
    const text = notifyText(f);
    this.buffer = Buffer.from(text, 'utf8');
    this.target = f.target;
    this.transport = f.transport;
    this.stateText = f.stateText;
    this.open = f.open;
    this.cseqWidth = digitsOf(f.cseq);
    this.expiresWidth = f.expires >= 0 ? digitsOf(f.expires) : 0;
    this.seqWidth = digitsOf(f.seq);
    this.nsWidth = digitsOf(f.sentNs);
    // Offsets from the text's structure; the bench's URIs and tags are ASCII, checked below.
    if (this.buffer.length !== text.length) throw new Error('NOTIFY template: non-ASCII field');
    this.branchAt = text.indexOf(';branch=') + 8 + f.branchPrefix.length;
    this.cseqAt = text.indexOf('\r\nCSeq: ') + 8;
    this.expiresAt = f.expires >= 0 ? text.indexOf('\r\nSubscription-State: ') + 22 + f.stateText.length : -1;
    this.seqAt = text.indexOf('<tuple id="s') + 12;
    this.nsAt = this.seqAt + this.seqWidth + 1;
    this.noteSeqAt = text.indexOf('<note>bench seq ') + 16;
  }

  /** Whether this template can carry `f` by patching its numbers. */
  fits(f: NotifyFields): boolean {
    return (
      f.target === this.target &&
      f.transport === this.transport &&
      f.stateText === this.stateText &&
      f.open === this.open &&
      (f.expires >= 0 ? digitsOf(f.expires) === this.expiresWidth : this.expiresWidth === 0) &&
      digitsOf(f.cseq) === this.cseqWidth &&
      digitsOf(f.seq) === this.seqWidth &&
      digitsOf(f.sentNs) === this.nsWidth
    );
  }

  /** Rewrites the numbers of `f` in place (`fits(f)` must hold). */
  patch(f: NotifyFields): Buffer {
    const b = this.buffer;
    writeDigits(b, this.branchAt, BRANCH_DIGITS, f.txId);
    writeDigits(b, this.cseqAt, this.cseqWidth, f.cseq);
    if (this.expiresWidth > 0) writeDigits(b, this.expiresAt, this.expiresWidth, f.expires);
    writeDigits(b, this.seqAt, this.seqWidth, f.seq);
    writeDigits(b, this.noteSeqAt, this.seqWidth, f.seq);
    writeDigits(b, this.nsAt, this.nsWidth, f.sentNs);
    return b;
  }
}
