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
const HALF_PING_NONE = 0;
const HALF_PING_REPORTED = 1;
const HALF_PING_DEFERRED = 2;
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

/**
 * Frames a byte stream one message at a time: `write()` what the socket
 * read, then take the messages it completes with `next()` (or both at once
 * with `push()`). A message is parsed only when it is taken, so a transport
 * can hand each one on before the next is parsed: under backlog a read holds
 * many messages, and none should wait for the parsing of those after it.
 */
export class SipStreamFramer {
  private readonly limits: ParseLimits;
  private readonly onKeepAlive: ((kind: 'ping' | 'pong') => void) | undefined;
  private readonly onInvalidMessage: ((error: SipParseError, bytes: Uint8Array) => void) | undefined;
  private readonly onMessageBytes: ((bytes: Uint8Array) => void) | undefined;
  /**
   * The octets not framed yet are view[pos, view.length). The view is the
   * chunk last written while it is being framed (no copy in the usual case of
   * whole messages per read), or the store: octets held between writes. The
   * store grows by doubling and each write copies only what it brings, so a
   * message arriving a few octets at a time costs linear time, not quadratic.
   */
  private view: Buffer | null = null;
  private pos = 0;
  private viewIsChunk = false;
  private store: Buffer | null = null;
  /** Total octets of the message at `pos`, once its headers are complete; -1 before. */
  private expected = -1;
  /**
   * While the head message's header block is incomplete: its first LF
   * (offset from the message start; -1 before it arrived) and how far the
   * search has gone, so that each write searches only the new octets.
   */
  private firstLf = -1;
  private searched = 0;
  /**
   * A CRLF taken between messages that may be the first half of a ping whose
   * second half has not arrived: NONE, REPORTED (it ended the octets written,
   * so it was reported as a pong at once), or DEFERRED (a CR followed it:
   * reported once the octet after that CR tells). Keeping this state, rather
   * than holding the CRLF, makes the octets held the same however the stream
   * was cut into reads (only a trailing CR is held).
   */
  private halfPing = HALF_PING_NONE;
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

  /**
   * Octets written and not yet taken as a message. Once `next()` has
   * returned undefined: the part of a message waiting for its rest.
   */
  get bufferedBytes(): number {
    return this.view === null ? 0 : this.view.length - this.pos;
  }

  /**
   * Feeds received octets and returns the complete, valid messages they
   * finish, in order (`write()` then `next()` until it returns undefined).
   * Throws SipParseError on a framing error (and on every later call).
   */
  push(chunk: Uint8Array): SipMessage[] {
    this.write(chunk);
    const out: SipMessage[] = [];
    for (let message = this.next(); message !== undefined; message = this.next()) out.push(message);
    return out;
  }

  /**
   * Adds received octets after those not taken yet. The chunk is read in
   * place until `next()` returns undefined (then what is left of it is copied):
   * do not reuse it before. Throws SipParseError after a framing error.
   */
  write(chunk: Uint8Array): void {
    if (this.failed !== null) throw closedError(this.failed);
    const incoming = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (incoming.length === 0) return;
    const held = this.bufferedBytes;
    if (held === 0) {
      // Nothing held (the usual case: whole messages per read): frame straight from the chunk.
      this.view = incoming;
      this.pos = 0;
      this.viewIsChunk = true;
      return;
    }
    const store = this.holdInStore(held + incoming.length);
    incoming.copy(store, held);
    this.view = store.subarray(0, held + incoming.length);
  }

  /**
   * The next message framed from the octets written, parsed; undefined when
   * no whole message is left. A message that frames but does not parse goes
   * to `onInvalidMessage` and the next one is taken. Throws SipParseError on
   * a framing error (and on every later call).
   */
  next(): SipMessage | undefined {
    if (this.failed !== null) throw closedError(this.failed);
    for (;;) {
      let bytes: Buffer | undefined;
      try {
        bytes = this.frame();
      } catch (error) {
        this.view = null;
        this.pos = 0;
        this.store = null;
        if (error instanceof SipParseError) this.failed = error;
        throw error;
      }
      if (bytes === undefined) {
        this.holdRest();
        return undefined;
      }
      if (this.onMessageBytes !== undefined) this.onMessageBytes(bytes);
      try {
        return parseSipMessage(bytes, { limits: this.limits, framing: 'stream' });
      } catch (error) {
        if (!(error instanceof SipParseError)) throw error;
        this.onInvalidMessage?.(error, bytes);
      }
    }
  }

  /**
   * Moves the octets not taken to the front of the store, which then has
   * room for `capacity` octets; returns the store (its first bufferedBytes
   * octets are the held ones).
   */
  private holdInStore(capacity: number): Buffer {
    const view = this.view!;
    const held = view.length - this.pos;
    let store = this.store;
    if (this.viewIsChunk || store === null || store.length < capacity) {
      const size = this.viewIsChunk || store === null ? Math.max(capacity, 4096) : Math.max(capacity, 2 * store.length);
      const grown = Buffer.allocUnsafe(size);
      view.copy(grown, 0, this.pos);
      store = grown;
      this.store = store;
    } else if (this.pos > 0) {
      store.copyWithin(0, this.pos, view.length);
    }
    this.view = store.subarray(0, held);
    this.pos = 0;
    this.viewIsChunk = false;
    return store;
  }

  /** No whole message left: hold the rest (copied out of a chunk we do not own), or let the store go. */
  private holdRest(): void {
    const held = this.bufferedBytes;
    if (held === 0) {
      this.view = null;
      this.pos = 0;
      this.viewIsChunk = false;
      if (this.store !== null && this.store.length > KEEP_STORE_BYTES) this.store = null;
      return;
    }
    if (this.viewIsChunk || this.pos > 0) this.holdInStore(held);
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

  /**
   * A CRLF between messages was just taken; `pos` is the octet after it.
   * CRLFCRLF is a ping, a lone CRLF a pong (RFC 5626 §3.5.1); a ping may be
   * cut anywhere by the reads, so the halves are joined across them.
   */
  private takeLineEnd(buf: Buffer, pos: number, len: number): void {
    if (this.halfPing !== HALF_PING_NONE) {
      this.halfPing = HALF_PING_NONE;
      this.onKeepAlive?.('ping');
    } else if (pos + 1 < len && buf[pos] === 0x0d && buf[pos + 1] === 0x0a) {
      this.halfPing = HALF_PING_DEFERRED; // the next CRLF, taken next, completes the ping
    } else if (pos === len) {
      // Nothing after it yet: a pong (what a client waits for) must not wait for more octets.
      this.halfPing = HALF_PING_REPORTED;
      this.onKeepAlive?.('pong');
    } else if (pos + 1 === len && buf[pos] === 0x0d) {
      this.halfPing = HALF_PING_DEFERRED; // maybe the first three octets of a ping: wait for the LF
    } else {
      this.onKeepAlive?.('pong');
    }
  }

  /** The octet after a half ping is not the rest of a ping: a deferred CRLF was a pong. */
  private endHalfPing(): void {
    if (this.halfPing === HALF_PING_DEFERRED) this.onKeepAlive?.('pong');
    this.halfPing = HALF_PING_NONE;
  }

  /** The octets of the next whole message (a copy), past any keep-alives; undefined when it is not whole yet. */
  private frame(): Buffer | undefined {
    const buf = this.view;
    if (buf === null) return undefined;
    const len = buf.length;
    let pos = this.pos;
    if (this.expected < 0) {
      // Between messages: keep-alives and stray line ends (RFC 3261 §7.5, RFC 5626 §3.5.1).
      while (pos < len && (buf[pos] === 0x0d || buf[pos] === 0x0a)) {
        if (buf[pos] === 0x0d && pos + 1 < len && buf[pos + 1] === 0x0a) {
          pos += 2;
          this.pos = pos;
          this.takeLineEnd(buf, pos, len);
        } else if (buf[pos] === 0x0d && pos + 1 === len) {
          return undefined; // a CR whose LF has not arrived yet
        } else {
          this.endHalfPing();
          pos++;
          this.pos = pos;
        }
      }
      if (pos < len) this.endHalfPing();
      if (pos >= len) return undefined;
      const max = this.limits.maxMessageBytes;
      const end = this.headerEnd(buf, pos);
      if (end === undefined) {
        if (len - pos > max) throw limitError(`headers over ${max} octets`);
        return undefined;
      }
      if (end.bodyStart - pos > max) throw limitError(`headers over ${max} octets`);
      const contentLength = scanContentLength(buf, pos, end.blockEnd);
      const total = end.bodyStart - pos + contentLength;
      if (total > max) throw limitError(`${total} octets`);
      this.expected = total;
    }
    if (len - pos < this.expected) return undefined;
    // Copy: the message must not pin the connection's buffer.
    const bytes = Uint8Array.prototype.slice.call(buf, pos, pos + this.expected) as Buffer;
    this.pos = pos + this.expected;
    this.expected = -1;
    return bytes;
  }
}

function closedError(cause: SipParseError): SipParseError {
  return new SipParseError('SIP_ERR_PARSE_FRAMER_CLOSED', 'Stream framer closed after a framing error', { cause });
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
