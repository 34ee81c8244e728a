/**
 * Framing of SIP messages on a stream transport (TCP, TLS): RFC 3261 §18.3 —
 * the message ends Content-Length octets after the empty line, and a message
 * without Content-Length cannot be framed. RFC 5626 §3.5.1 keep-alives: a
 * CRLFCRLF "ping" between messages (the transport answers with a CRLF
 * "pong"); a lone CRLF is a pong.
 *
 * After a framing error the byte stream has no known message boundary any
 * more, so the framer refuses further input and the connection must close.
 */
import { Buffer } from 'node:buffer';
import { headerKey } from './header-names.js';
import type { SipMessage } from './message.js';
import { SipParseError } from './parse-error.js';
import { type ParseLimits, blockEndOf, parseSipMessage, resolveLimits } from './parser.js';

const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
const LFLF = Buffer.from('\n\n', 'latin1');
/** A store larger than this is let go when it empties (a connection that once carried a large message). */
const KEEP_STORE_BYTES = 16 * 1024;

export interface SipStreamFramerOptions {
  limits?: Partial<ParseLimits>;
  /** Called for each keep-alive seen between messages: 'ping' (CRLFCRLF, answer CRLF) or 'pong' (CRLF). */
  onKeepAlive?: (kind: 'ping' | 'pong') => void;
  /**
   * Called for a message that is framed correctly but does not parse (bad
   * CSeq, missing To, …): the connection stays usable; a server answers a
   * request with 400 (RFC 3261 §8.2.2). Without it such messages are dropped.
   */
  onInvalidMessage?: (error: SipParseError, bytes: Uint8Array) => void;
  /**
   * Called with the octets of every framed message, valid or not, before it
   * is parsed (packet capture sees what arrived, in order).
   */
  onMessageBytes?: (bytes: Uint8Array) => void;
}

export class SipStreamFramer {
  private readonly limits: ParseLimits;
  private readonly onKeepAlive: ((kind: 'ping' | 'pong') => void) | undefined;
  private readonly onInvalidMessage: ((error: SipParseError, bytes: Uint8Array) => void) | undefined;
  private readonly onMessageBytes: ((bytes: Uint8Array) => void) | undefined;
  /**
   * Octets held between pushes, at store[0, pendingLength). The store grows
   * by doubling and each push copies only what it brings, so a message
   * arriving a few octets at a time costs linear time, not quadratic.
   */
  private store: Buffer | null = null;
  private pendingLength = 0;
  /** Total octets of the message at the head of the pending octets, once its headers are complete; -1 before. */
  private expected = -1;
  /**
   * While the head message's header block is incomplete: its first LF
   * (offset from the message start; -1 before it arrived) and how far the
   * search has gone, so that each push searches only the new octets.
   */
  private firstLf = -1;
  private searched = 0;
  private failed: SipParseError | null = null;

  constructor(options: SipStreamFramerOptions = {}) {
    this.limits = resolveLimits(options.limits);
    this.onKeepAlive = options.onKeepAlive;
    this.onInvalidMessage = options.onInvalidMessage;
    this.onMessageBytes = options.onMessageBytes;
  }

  /** True after a framing error: close the connection. */
  get closed(): boolean {
    return this.failed !== null;
  }

  /** Octets held while waiting for the rest of a message. */
  get bufferedBytes(): number {
    return this.pendingLength;
  }

  /**
   * Feeds received octets; returns the complete, valid messages they finish,
   * in order. Throws SipParseError on a framing error (and on every later call).
   */
  push(chunk: Uint8Array): SipMessage[] {
    if (this.failed !== null) {
      throw new SipParseError('SIP_ERR_PARSE_FRAMER_CLOSED', 'Stream framer closed after a framing error', {
        cause: this.failed,
      });
    }
    const incoming = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    // Nothing held (the usual case: whole messages per read): frame straight from the chunk.
    const buf = this.pendingLength === 0 ? incoming : this.append(incoming);
    const out: SipMessage[] = [];
    try {
      const pos = this.drain(buf, out);
      this.keep(buf, pos, buf === incoming);
    } catch (error) {
      this.pendingLength = 0;
      this.store = null;
      if (error instanceof SipParseError) this.failed = error;
      throw error;
    }
    return out;
  }

  /** Adds the chunk after the held octets; returns a view of all of them. */
  private append(incoming: Buffer): Buffer {
    const needed = this.pendingLength + incoming.length;
    let store = this.store!;
    if (store.length < needed) {
      const grown = Buffer.allocUnsafe(Math.max(needed, 2 * store.length));
      store.copy(grown, 0, 0, this.pendingLength);
      store = grown;
      this.store = store;
    }
    incoming.copy(store, this.pendingLength);
    this.pendingLength = needed;
    return store.subarray(0, needed);
  }

  /** Holds buf[pos, end) for the next push (copied out of a chunk we do not own, moved to the front of the store). */
  private keep(buf: Buffer, pos: number, fromChunk: boolean): void {
    const rest = buf.length - pos;
    if (rest === 0) {
      this.pendingLength = 0;
      if (this.store !== null && this.store.length > KEEP_STORE_BYTES) this.store = null;
      return;
    }
    if (fromChunk) {
      if (this.store === null || this.store.length < rest) this.store = Buffer.allocUnsafe(Math.max(rest, 4096));
      buf.copy(this.store, 0, pos);
    } else if (pos > 0) {
      this.store!.copyWithin(0, pos, buf.length);
    }
    this.pendingLength = rest;
  }

  /**
   * Where the header block of the message starting at `pos` ends (as
   * findHeaderEnd: the first line end tells CRLF from bare-LF messages),
   * searching only the octets not searched by earlier calls.
   */
  private headerEnd(buf: Buffer, pos: number): { blockEnd: number; bodyStart: number } | undefined {
    if (this.firstLf < 0) {
      const lf = buf.indexOf(0x0a, pos + this.searched);
      if (lf < 0) {
        this.searched = buf.length - pos;
        return undefined;
      }
      this.firstLf = lf - pos;
      this.searched = this.firstLf;
    }
    const firstLf = pos + this.firstLf;
    const crlf = firstLf > pos && buf[firstLf - 1] === 0x0d;
    // A terminator may straddle the previous search's end: back up by its length less one.
    const found = crlf
      ? buf.indexOf(CRLFCRLF, Math.max(firstLf - 1, pos + this.searched - 3))
      : buf.indexOf(LFLF, Math.max(firstLf, pos + this.searched - 1));
    if (found < 0) {
      this.searched = buf.length - pos;
      return undefined;
    }
    this.firstLf = -1;
    this.searched = 0;
    const bodyStart = found + (crlf ? 4 : 2);
    return { blockEnd: blockEndOf(buf, bodyStart), bodyStart };
  }

  private drain(buf: Buffer, out: SipMessage[]): number {
    const len = buf.length;
    const max = this.limits.maxMessageBytes;
    let pos = 0;
    for (;;) {
      if (this.expected < 0) {
        // Between messages: keep-alives and stray line ends (RFC 3261 §7.5, RFC 5626 §3.5.1).
        while (pos < len && (buf[pos] === 0x0d || buf[pos] === 0x0a)) {
          if (buf[pos] === 0x0d && pos + 1 < len && buf[pos + 1] === 0x0a) {
            if (pos + 3 < len && buf[pos + 2] === 0x0d && buf[pos + 3] === 0x0a) {
              pos += 4;
              this.onKeepAlive?.('ping');
            } else if (pos + 3 === len && buf[pos + 2] === 0x0d) {
              return pos; // maybe the first three octets of a ping: wait
            } else {
              pos += 2;
              this.onKeepAlive?.('pong');
            }
          } else if (buf[pos] === 0x0d && pos + 1 === len) {
            return pos; // a CR whose LF has not arrived yet
          } else {
            pos++;
          }
        }
        if (pos >= len) return pos;
        const end = this.headerEnd(buf, pos);
        if (end === undefined) {
          if (len - pos > max) throw limitError(`headers over ${max} octets`);
          return pos;
        }
        if (end.bodyStart - pos > max) throw limitError(`headers over ${max} octets`);
        const contentLength = scanContentLength(buf, pos, end.blockEnd);
        const total = end.bodyStart - pos + contentLength;
        if (total > max) throw limitError(`${total} octets`);
        this.expected = total;
      }
      if (len - pos < this.expected) return pos;
      // Copy: the message must not pin the connection's buffer.
      const bytes = Uint8Array.prototype.slice.call(buf, pos, pos + this.expected) as Buffer;
      pos += this.expected;
      this.expected = -1;
      if (this.onMessageBytes !== undefined) this.onMessageBytes(bytes);
      try {
        out.push(parseSipMessage(bytes, { limits: this.limits, framing: 'stream' }));
      } catch (error) {
        if (!(error instanceof SipParseError)) throw error;
        this.onInvalidMessage?.(error, bytes);
      }
    }
  }
}

function limitError(what: string): SipParseError {
  return new SipParseError('SIP_ERR_PARSE_LIMIT', `Message too large: ${what}`);
}

function framingError(why: string): SipParseError {
  return new SipParseError('SIP_ERR_PARSE_CONTENT_LENGTH', `Bad Content-Length: ${why}`, { header: 'content-length' });
}

/** The Content-Length of the header block [start, blockEnd): the one thing framing needs. */
function scanContentLength(buf: Buffer, start: number, blockEnd: number): number {
  const text = buf.toString('latin1', start, blockEnd);
  let found: number | undefined;
  let pos = text.indexOf('\n') + 1; // skip the start line
  while (pos > 0 && pos < text.length) {
    let nl = text.indexOf('\n', pos);
    if (nl < 0) nl = text.length;
    const c0 = text.charCodeAt(pos);
    const colon = text.indexOf(':', pos);
    if (c0 !== 0x20 && c0 !== 0x09 && colon > pos && colon < nl) {
      const name = text.slice(pos, colon).trim();
      if (headerKey(name) === 'content-length') {
        if (found !== undefined) throw framingError('repeated');
        const value = text.slice(colon + 1, nl).trim();
        if (value.length === 0 || value.length > 10) throw framingError('not a number');
        let v = 0;
        for (let i = 0; i < value.length; i++) {
          const d = value.charCodeAt(i) - 0x30;
          if (d < 0 || d > 9) throw framingError('not a number');
          v = v * 10 + d;
        }
        found = v;
      }
    }
    pos = nl + 1;
  }
  if (found === undefined) throw framingError('missing on a stream transport');
  return found;
}
