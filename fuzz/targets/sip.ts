/**
 * The SIP codec as the transports drive it: parseSipMessage on a datagram,
 * and SipStreamFramer on a byte stream cut into arbitrary chunks. Both must
 * return or throw SipParseError; every accepted message passes the checks of
 * support/sip-checks.ts; and the framer must find the same messages however
 * the stream is chunked (keep-alives aside: a lone CRLF is a pong, RFC 5626
 * §3.5.1, so their count depends on timing).
 */
import { Buffer } from 'node:buffer';
import { type ParseLimits, parseSipMessage, SipParseError, type SipMessage, SipStreamFramer } from '../../src/sip/codec/index.js';
import { mutateBytes } from '../engine/mutator.js';
import { FuzzRng } from '../engine/rng.js';
import { type FuzzTarget, property } from '../engine/target.js';
import { generateSipMessages, SIP_DICTIONARY } from './support/sip-grammar.js';
import { checkMessage, isSipParseError, summary } from './support/sip-checks.js';
import { capturedMessages, hashOf, rfc4475Messages } from './support/seeds.js';

/** One input in eight runs under small limits, so that every limit check is reached. */
function limitsFor(input: Uint8Array): Partial<ParseLimits> | undefined {
  const h = hashOf(input);
  if ((h & 7) !== 0) return undefined;
  return { maxMessageBytes: 256 + ((h >>> 3) & 2047), maxHeaders: 1 + ((h >>> 14) & 15), maxLineLength: 16 + ((h >>> 18) & 255) };
}

const sipMessage: FuzzTarget = {
  name: 'sip-message',
  description: 'parseSipMessage on a datagram, every accessor, serialize/format round trips, digest answers',
  extension: 'sip',
  maxInputBytes: 70_000,
  dictionary: SIP_DICTIONARY,
  seeds: () => [...capturedMessages(), ...rfc4475Messages()],
  generate: generateSipMessages,
  isExpected: isSipParseError,
  run(input) {
    let m: SipMessage;
    try {
      m = parseSipMessage(input, { limits: limitsFor(input) });
    } catch (error) {
      if (error instanceof SipParseError) return;
      throw error;
    }
    checkMessage(m);
  },
};

/** Chunk boundaries drawn from the input's own hash: the same input always splits the same way. */
function chunks(input: Uint8Array): Uint8Array[] {
  const rng = new FuzzRng(hashOf(input));
  const style = rng.below(4);
  const out: Uint8Array[] = [];
  for (let i = 0; i < input.length; ) {
    const size = style === 0 ? 1 : style === 1 ? rng.between(1, 8) : style === 2 ? rng.between(1, 200) : rng.chance(0.5) ? 1 : rng.between(1, 2000);
    out.push(input.subarray(i, i + size));
    i += size;
  }
  return out;
}

interface Framed {
  messages: string[];
  invalid: string[];
  error: string | undefined;
  buffered: number;
}

function frame(parts: Uint8Array[], limits: Partial<ParseLimits> | undefined, check: boolean): Framed {
  const invalid: string[] = [];
  const framer = new SipStreamFramer({
    ...(limits !== undefined ? { limits } : {}),
    onInvalidMessage: (error, bytes) => invalid.push(`${error.code} ${Buffer.from(bytes).toString('hex')}`),
  });
  const messages: string[] = [];
  let error: string | undefined;
  for (const part of parts) {
    try {
      for (const m of framer.push(part)) {
        messages.push(summary(m));
        if (check) checkMessage(m);
      }
    } catch (e) {
      if (!(e instanceof SipParseError)) throw e;
      error = e.code;
      property(framer.closed, 'framer not closed after a framing error');
      let refused: unknown;
      try {
        framer.push(new Uint8Array(1));
      } catch (again) {
        refused = again;
      }
      property(refused instanceof SipParseError && refused.code === 'SIP_ERR_PARSE_FRAMER_CLOSED', 'framer accepts input after a framing error');
      break;
    }
  }
  return { messages, invalid, error, buffered: error === undefined ? framer.bufferedBytes : 0 };
}

function streamSeeds(): Uint8Array[] {
  const captured = capturedMessages();
  const out: Uint8Array[] = [...captured];
  for (let i = 0; i + 1 < captured.length; i += 2) {
    out.push(Buffer.concat([captured[i]!, Buffer.from('\r\n\r\n'), captured[i + 1]!, Buffer.from('\r\n')]));
  }
  out.push(Buffer.concat(captured.slice(0, 6)));
  return out;
}

const sipStream: FuzzTarget = {
  name: 'sip-stream',
  description: 'SipStreamFramer on a stream in random chunks: same messages as in one piece, framing errors close it',
  extension: 'sip',
  // Past the framer's 64 KB message limit, and not much more: every input is framed twice, once in
  // pieces as small as one octet.
  maxInputBytes: 100_000,
  // Framing is linear: 100 KB framed twice, in one-octet pieces, and its messages checked, takes about
  // 0.2 s of CPU; the quadratic framer this target caught took 0.9 s on its 64 KB fixture.
  timeoutMs: 600,
  dictionary: SIP_DICTIONARY,
  seeds: streamSeeds,
  generate: (seed, count) => {
    // Two or three generated messages back to back, sometimes with keep-alives between them.
    const messages = generateSipMessages(seed, count * 2);
    const out: Uint8Array[] = [];
    for (let i = 0; i + 1 < messages.length; i += 2) out.push(Buffer.concat([messages[i]!, Buffer.from(i % 4 === 0 ? '\r\n\r\n' : ''), messages[i + 1]!]));
    return out;
  },
  mutate: (input, rng, other) =>
    // Joining two streams: the second message starts where the first one's Content-Length says.
    rng.chance(0.2) ? Buffer.concat([input, mutateBytes(other(), { rng, maxBytes: 70_000, dictionary: [], other })]) : undefined,
  isExpected: isSipParseError,
  run(input) {
    const limits = limitsFor(input);
    const whole = frame([input], limits, true);
    const split = frame(chunks(input), limits, false);
    property(split.error === whole.error, () => `chunking changes the framing error: ${whole.error} vs ${split.error}`);
    property(split.invalid.join('\n') === whole.invalid.join('\n'), 'chunking changes the invalid messages');
    // A push that throws returns nothing, so after an error only the messages of earlier pushes are known.
    if (whole.error !== undefined) return;
    property(split.messages.length === whole.messages.length, () => `chunking changes the message count: ${whole.messages.length} vs ${split.messages.length}`);
    property(
      split.messages.every((m, i) => m === whole.messages[i]),
      'chunking changes a message',
    );
    property(split.buffered === whole.buffered, () => `chunking changes the octets left buffered: ${whole.buffered} vs ${split.buffered}`);
  },
};

export default [sipMessage, sipStream];
