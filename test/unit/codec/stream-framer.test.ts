import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { describe, test } from 'node:test';
import { SipParseError, type SipRequest, SipStreamFramer } from '../../../src/sip/codec/index.js';
import { buildMessage, buildNotify } from '../../support/sip-fixtures.js';

function methods(messages: ReturnType<SipStreamFramer['push']>): string[] {
  return messages.map((m) => (m as SipRequest).method + ':' + Buffer.from(m.body).toString());
}

const one = buildNotify({ body: 'first', cseq: 1 });
const two = buildNotify({ body: 'second', cseq: 2 });

describe('SipStreamFramer', () => {
  test('frames back-to-back messages by Content-Length', () => {
    const framer = new SipStreamFramer();
    assert.deepEqual(methods(framer.push(Buffer.concat([one, two]))), ['NOTIFY:first', 'NOTIFY:second']);
    assert.equal(framer.bufferedBytes, 0);
  });

  test('reassembles messages split at every possible octet', () => {
    const stream = Buffer.concat([one, two]);
    for (let cut = 1; cut < stream.length; cut++) {
      const framer = new SipStreamFramer();
      const got = [...framer.push(stream.subarray(0, cut)), ...framer.push(stream.subarray(cut))];
      assert.deepEqual(methods(got), ['NOTIFY:first', 'NOTIFY:second'], `cut at ${cut}`);
    }
  });

  test('one octet at a time', () => {
    const framer = new SipStreamFramer();
    const got = [];
    for (const octet of Buffer.concat([one, two])) got.push(...framer.push(Uint8Array.of(octet)));
    assert.deepEqual(methods(got), ['NOTIFY:first', 'NOTIFY:second']);
  });

  test('CRLFCRLF pings and CRLF pongs between messages (RFC 5626 §3.5.1)', () => {
    const seen: string[] = [];
    const framer = new SipStreamFramer({ onKeepAlive: (kind) => seen.push(kind) });
    const got = framer.push(Buffer.concat([Buffer.from('\r\n\r\n'), one, Buffer.from('\r\n\r\n\r\n'), two]));
    assert.deepEqual(methods(got), ['NOTIFY:first', 'NOTIFY:second']);
    assert.deepEqual(seen, ['ping', 'ping', 'pong']);
    framer.push(Buffer.from('\r\n\r\n'));
    framer.push(Buffer.from('\r\n'));
    assert.deepEqual(seen, ['ping', 'ping', 'pong', 'ping', 'pong']);
  });

  test('a ping split after three octets is still one ping', () => {
    const seen: string[] = [];
    const framer = new SipStreamFramer({ onKeepAlive: (kind) => seen.push(kind) });
    framer.push(Buffer.from('\r\n\r'));
    assert.deepEqual(seen, []);
    framer.push(Buffer.from('\n'));
    assert.deepEqual(seen, ['ping']);
  });

  test('a ping cut after its first CRLF is still answered as a ping', () => {
    const seen: string[] = [];
    const framer = new SipStreamFramer({ onKeepAlive: (kind) => seen.push(kind) });
    framer.push(Buffer.concat([one, Buffer.from('\r\n')]));
    assert.deepEqual(seen, ['pong'], 'a lone CRLF is a pong at once (a client waits for it)');
    framer.push(Buffer.from('\r\n'));
    assert.deepEqual(seen, ['pong', 'ping']);
    assert.deepEqual(methods(framer.push(two)), ['NOTIFY:second']);
    assert.deepEqual(seen, ['pong', 'ping']);
  });

  test('the octets held do not depend on how the stream was cut (fuzz: sip-stream)', () => {
    const stream = Buffer.concat([one, Buffer.from('\r\n\r')]);
    const whole = new SipStreamFramer();
    assert.deepEqual(methods(whole.push(stream)), ['NOTIFY:first']);
    const cut = new SipStreamFramer();
    assert.deepEqual(methods(cut.push(stream.subarray(0, stream.length - 1))), ['NOTIFY:first']);
    cut.push(stream.subarray(stream.length - 1));
    assert.equal(whole.bufferedBytes, 1);
    assert.equal(cut.bufferedBytes, 1);
  });

  test('a message that frames but does not parse is reported, and the stream goes on', () => {
    const bad = buildMessage('NOTIFY sip:a@b SIP/2.0', [['Via', 'SIP/2.0/TCP h;branch=z9hG4bK1'], ['CSeq', '1 NOTIFY']], { body: 'zz' });
    const invalid: SipParseError[] = [];
    const framer = new SipStreamFramer({ onInvalidMessage: (error, bytes) => {
      invalid.push(error);
      assert.equal(bytes.length, bad.length);
    } });
    assert.deepEqual(methods(framer.push(Buffer.concat([bad, one]))), ['NOTIFY:first']);
    assert.equal(invalid.length, 1);
    assert.equal(invalid[0]!.code, 'SIP_ERR_PARSE_MISSING_HEADER');
    assert.equal(framer.closed, false);
  });

  test('missing Content-Length is a framing error; the framer is then closed', () => {
    const framer = new SipStreamFramer();
    const noLength = buildNotify({ contentLength: null });
    assert.throws(() => framer.push(noLength), (e: unknown) => e instanceof SipParseError && e.code === 'SIP_ERR_PARSE_CONTENT_LENGTH');
    assert.equal(framer.closed, true);
    assert.throws(() => framer.push(one), (e: unknown) => e instanceof SipParseError && e.code === 'SIP_ERR_PARSE_FRAMER_CLOSED');
  });

  test('bad or repeated Content-Length is a framing error', () => {
    assert.throws(() => new SipStreamFramer().push(buildNotify({ contentLength: '-5' })), (e: unknown) => e instanceof SipParseError);
    const twice = Buffer.from(one.toString('latin1').replace('Content-Length', 'l: 5\r\nContent-Length'), 'latin1');
    assert.throws(() => new SipStreamFramer().push(twice), (e: unknown) => e instanceof SipParseError && e.code === 'SIP_ERR_PARSE_CONTENT_LENGTH');
  });

  test('buffered size is bounded by the message limit', () => {
    const framer = new SipStreamFramer({ limits: { maxMessageBytes: 2000 } });
    assert.deepEqual(framer.push(Buffer.from('NOTIFY sip:a@b SIP/2.0\r\nX: ')), []);
    assert.throws(() => framer.push(Buffer.alloc(3000, 0x61)), (e: unknown) => e instanceof SipParseError && e.code === 'SIP_ERR_PARSE_LIMIT');
    const big = new SipStreamFramer({ limits: { maxMessageBytes: 2000 } });
    assert.throws(() => big.push(buildNotify({ body: 'x'.repeat(5000) }).subarray(0, 600)), (e: unknown) => e instanceof SipParseError && e.code === 'SIP_ERR_PARSE_LIMIT');
  });

  test('partial message waits; bufferedBytes reports it', () => {
    const framer = new SipStreamFramer();
    assert.deepEqual(framer.push(one.subarray(0, 100)), []);
    assert.equal(framer.bufferedBytes, 100);
    assert.equal(framer.push(one.subarray(100)).length, 1);
    assert.equal(framer.bufferedBytes, 0);
  });

  test('a large message arriving in small pieces is framed as in one piece (linear work: found by npm run fuzz)', () => {
    // Each push once copied everything held and searched it again from the start: quadratic in the
    // message size when a peer sends a 64 KB message a few octets at a time.
    const big = buildNotify({ body: 'x'.repeat(60_000), cseq: 3 });
    const lfOnly = Buffer.from(`NOTIFY sip:a@b SIP/2.0\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\n${`X-Pad: ${'y'.repeat(500)}\n`.repeat(100)}From: <sip:a@b>;tag=1\nTo: <sip:c@d>\nCall-ID: c\nCSeq: 4 NOTIFY\nContent-Length: 2\n\nok`);
    for (const stream of [Buffer.concat([big, one]), Buffer.concat([lfOnly, two])]) {
      const whole = new SipStreamFramer().push(stream);
      assert.equal(whole.length, 2);
      for (const size of [1, 3, 7]) {
        const framer = new SipStreamFramer();
        const got = [];
        for (let i = 0; i < stream.length; i += size) got.push(...framer.push(stream.subarray(i, i + size)));
        assert.deepEqual(methods(got), methods(whole), `pieces of ${size}`);
        assert.equal(framer.bufferedBytes, 0);
      }
    }
  });
});

describe('SipStreamFramer onMessageBytes (packet capture)', () => {
  test('reports the octets of every framed message, valid or not, in order and without keep-alives', () => {
    const seen: string[] = [];
    // Framed by its Content-Length, but without From, To, Call-ID or CSeq: it does not parse.
    const bad = buildMessage('NOTIFY sip:a@b SIP/2.0', [['Via', 'SIP/2.0/TCP 192.0.2.1;branch=z9hG4bKx']]);
    const framer = new SipStreamFramer({ onMessageBytes: (bytes) => seen.push(Buffer.from(bytes).toString('latin1')), onInvalidMessage: () => {} });
    const got = framer.push(Buffer.concat([Buffer.from('\r\n\r\n'), one, bad, two]));
    assert.deepEqual(methods(got), ['NOTIFY:first', 'NOTIFY:second']);
    assert.deepEqual(seen, [one.toString('latin1'), bad.toString('latin1'), two.toString('latin1')]);
  });
});

describe('SipStreamFramer write/next (one message at a time)', () => {
  const three = buildNotify({ body: 'third', cseq: 3 });

  test('a chunk of several messages: each is framed and parsed only when taken, so it can be handed on before the next is parsed', () => {
    const events: string[] = [];
    const framer = new SipStreamFramer({ onMessageBytes: (bytes) => events.push(`framed ${/\r\n\r\n(\w+)$/.exec(Buffer.from(bytes).toString('latin1'))?.[1]}`) });
    framer.write(Buffer.concat([one, two, three]));
    assert.equal(events.length, 0, 'writing frames nothing yet');
    assert.equal(framer.bufferedBytes, one.length + two.length + three.length);
    for (let i = 0; i < 3; i++) {
      const message = framer.next();
      assert.ok(message !== undefined);
      events.push(`taken ${methods([message])[0]}`);
    }
    assert.equal(framer.next(), undefined);
    assert.deepEqual(events, ['framed first', 'taken NOTIFY:first', 'framed second', 'taken NOTIFY:second', 'framed third', 'taken NOTIFY:third']);
    assert.equal(framer.bufferedBytes, 0);
  });

  test('a chunk ending in part of a message: the whole ones are taken, the part is held (copied: the chunk may be reused once next() said undefined)', () => {
    const framer = new SipStreamFramer();
    const chunk = Buffer.concat([one, two.subarray(0, 50)]);
    framer.write(chunk);
    assert.deepEqual(methods([framer.next()!]), ['NOTIFY:first']);
    assert.equal(framer.next(), undefined);
    assert.equal(framer.bufferedBytes, 50);
    chunk.fill(0x78); // the socket's buffer, reused
    framer.write(two.subarray(50, 120));
    assert.equal(framer.next(), undefined);
    framer.write(Buffer.concat([two.subarray(120), three]));
    assert.deepEqual(methods([framer.next()!, framer.next()!]), ['NOTIFY:second', 'NOTIFY:third']);
    assert.equal(framer.next(), undefined);
    assert.equal(framer.bufferedBytes, 0);
  });

  test('two writes before the messages are taken: nothing is lost or reordered', () => {
    const framer = new SipStreamFramer();
    const stream = Buffer.concat([one, two, three]);
    framer.write(stream.subarray(0, one.length + 10));
    assert.deepEqual(methods([framer.next()!]), ['NOTIFY:first']);
    framer.write(stream.subarray(one.length + 10));
    assert.deepEqual(methods([framer.next()!, framer.next()!]), ['NOTIFY:second', 'NOTIFY:third']);
    assert.equal(framer.next(), undefined);
  });

  test('limits after whole messages: those are taken first, then the framing error, and the framer stays closed', () => {
    const framer = new SipStreamFramer({ limits: { maxMessageBytes: 2000 } });
    framer.write(Buffer.concat([one, buildNotify({ body: 'x'.repeat(5000) }), two]));
    assert.deepEqual(methods([framer.next()!]), ['NOTIFY:first']);
    assert.throws(() => framer.next(), (e: unknown) => e instanceof SipParseError && e.code === 'SIP_ERR_PARSE_LIMIT');
    assert.equal(framer.closed, true);
    assert.equal(framer.bufferedBytes, 0);
    assert.throws(() => framer.next(), (e: unknown) => e instanceof SipParseError && e.code === 'SIP_ERR_PARSE_FRAMER_CLOSED');
    assert.throws(() => framer.write(two), (e: unknown) => e instanceof SipParseError && e.code === 'SIP_ERR_PARSE_FRAMER_CLOSED');

    const headers = new SipStreamFramer({ limits: { maxMessageBytes: 2000 } });
    headers.write(Buffer.concat([one, Buffer.from(`NOTIFY sip:a@b SIP/2.0\r\nX: ${'y'.repeat(3000)}`)]));
    assert.deepEqual(methods([headers.next()!]), ['NOTIFY:first']);
    assert.throws(() => headers.next(), (e: unknown) => e instanceof SipParseError && e.code === 'SIP_ERR_PARSE_LIMIT');

    const noLength = new SipStreamFramer();
    noLength.write(Buffer.concat([one, buildNotify({ contentLength: null })]));
    assert.deepEqual(methods([noLength.next()!]), ['NOTIFY:first']);
    assert.throws(() => noLength.next(), (e: unknown) => e instanceof SipParseError && e.code === 'SIP_ERR_PARSE_CONTENT_LENGTH');
  });

  test('keep-alives and invalid messages between taken ones', () => {
    const seen: string[] = [];
    const bad = buildMessage('NOTIFY sip:a@b SIP/2.0', [['Via', 'SIP/2.0/TCP h;branch=z9hG4bK1'], ['CSeq', '1 NOTIFY']], { body: 'zz' });
    const framer = new SipStreamFramer({ onKeepAlive: (kind) => seen.push(kind), onInvalidMessage: (error) => seen.push(error.code) });
    framer.write(Buffer.concat([Buffer.from('\r\n\r\n'), one, bad, Buffer.from('\r\n'), two, Buffer.from('\r\n\r')]));
    assert.deepEqual(methods([framer.next()!]), ['NOTIFY:first']);
    assert.deepEqual(seen, ['ping']);
    assert.deepEqual(methods([framer.next()!]), ['NOTIFY:second']);
    assert.deepEqual(seen, ['ping', 'SIP_ERR_PARSE_MISSING_HEADER', 'pong']);
    assert.equal(framer.next(), undefined);
    assert.equal(framer.bufferedBytes, 1, 'the CRLF of a maybe-ping taken, its CR held');
    framer.write(Buffer.from('\n'));
    assert.equal(framer.next(), undefined);
    assert.deepEqual(seen, ['ping', 'SIP_ERR_PARSE_MISSING_HEADER', 'pong', 'ping']);
  });
});
