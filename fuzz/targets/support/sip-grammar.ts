/**
 * Structure-aware SIP messages for the fuzzer (fast-check): start lines and
 * the headers the parser validates or the engine reads, with the syntax
 * that trips parsers — quoted display names with escapes, IPv6 references,
 * parameters without values, lists, folding, compact and odd-case names,
 * numbers at the edges of their ranges, wrong Content-Length — so that
 * generation reaches deep into the accessors while mutation explores around
 * the captured traffic.
 */
import { Buffer } from 'node:buffer';
import fc from 'fast-check';

const TOKEN_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`\'~';
const token = (max = 10): fc.Arbitrary<string> => fc.string({ unit: fc.constantFrom(...TOKEN_CHARS), minLength: 1, maxLength: max });
const oddText = fc.string({ unit: fc.constantFrom(...TOKEN_CHARS, ' ', '\t', '"', '\\', ',', ';', ':', '<', '>', '=', '@', '(', ')', '\u00e9', '\u65e5', '\r'), maxLength: 24 });
const number = fc.oneof(
  fc.integer({ min: 0, max: 100000 }).map(String),
  fc.constantFrom('0', '-1', '4294967295', '4294967296', '2147483647', '2147483648', '99999999999', '', ' 1', '1 ', '01', '1.5', '0x1'),
);

const host = fc.oneof(
  fc.array(fc.stringMatching(/^[a-z0-9-]{1,8}$/), { minLength: 1, maxLength: 3 }).map((l) => l.join('.')),
  fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.')),
  fc.constantFrom('[::1]', '[2001:db8::10]', '[fe80::1%25eth0]', '[::ffff:192.0.2.1]', '[]', '[::1', 'example.com.', '-', '_sip._udp.x'),
);
const port = fc.option(fc.oneof(fc.integer({ min: 0, max: 70000 }).map(String), fc.constantFrom('', '065535', '5060a')), { nil: undefined });
const hostport = fc.tuple(host, port).map(([h, p]) => (p === undefined ? h : `${h}:${p}`));

const param = fc.oneof(
  fc.tuple(token(8), fc.option(fc.oneof(token(12), oddText.map((t) => `"${t.replace(/["\\]/g, '\\$&')}"`)), { nil: undefined })).map(([n, v]) =>
    v === undefined ? `;${n}` : `;${n}=${v}`,
  ),
  fc.constantFrom(';lr', ';transport=tcp', ';transport=UDP', ';maddr=239.255.255.1', ';user=phone', ';method=SUBSCRIBE', ';ttl=15', ';', ';=x', ';x=', '; lr', ';tag', ';q=0.5', ';q=1.0', ';q=2', ';expires=60'),
);
const params = fc.array(param, { maxLength: 4 }).map((p) => p.join(''));
const uriHeaders = fc.option(fc.constantFrom('?Subject=x', '?a=b&c=d', '?=x', '?a', '?a=%20&A=b', '?'), { nil: '' });

const sipUri = fc
  .tuple(
    fc.constantFrom('sip', 'sips', 'SIP', 'Sip', 'tel', 'mailto', 'urn:service', 'x-unknown'),
    fc.option(fc.oneof(token(10), fc.constantFrom('alice%40x', 'a;b', 'a:pw', '%', '+1-555', 'user?x')), { nil: undefined }),
    hostport,
    params,
    uriHeaders,
  )
  .map(([scheme, user, hp, ps, hs]) => `${scheme}:${user === undefined ? '' : `${user}@`}${hp}${ps}${hs}`);

const displayName = fc.oneof(
  fc.constant(''),
  token(10).map((t) => `${t} `),
  fc.tuple(token(6), token(6)).map(([a, b]) => `${a} ${b} `),
  oddText.map((t) => `"${t.replace(/["\\]/g, '\\$&')}" `),
  fc.constantFrom('"unterminated ', '"a\\"b" ', '"\\\\" ', '"" ', '""', '"x"'),
);
const nameAddr = fc.oneof(
  fc.tuple(displayName, sipUri, fc.constantFrom('', ' '), params).map(([d, u, s, p]) => `${d}<${s}${u}${s}>${p}`),
  fc.tuple(sipUri, params).map(([u, p]) => `${u}${p}`),
  fc.constantFrom('<sip:a@b', 'sip:a@b>', '<>', '*', '<sip:a@b>;tag=1;tag=2', '"a" sip:a@b'),
);
const list = <T extends string>(arb: fc.Arbitrary<T>): fc.Arbitrary<string> =>
  fc.array(arb, { minLength: 1, maxLength: 3 }).chain((items) => fc.constantFrom(', ', ',', ' ,', ',,').map((sep) => items.join(sep)));

const METHODS = ['SUBSCRIBE', 'NOTIFY', 'PUBLISH', 'OPTIONS', 'INVITE', 'ACK', 'BYE', 'REGISTER', 'MESSAGE', 'subscribe'];
const method = fc.oneof(fc.constantFrom(...METHODS), token(8));

const via = fc
  .tuple(
    fc.constantFrom('SIP/2.0/UDP', 'SIP/2.0/TCP', 'SIP/2.0/TLS', 'sip/2.0/udp', 'SIP / 2.0 / UDP', 'SIP/2.0/', 'SIP/3.0/SCTP', 'SIP/2.0/UDP/x'),
    fc.constantFrom(' ', '  ', '\t', ''),
    hostport,
    fc.option(token(16).map((b) => `;branch=z9hG4bK${b}`), { nil: '' }),
    fc.constantFrom('', ';rport', ';rport=5060', ';rport=99999', ';rport=x', ';received=192.0.2.1', ';received=[::1]', ';received=', ';maddr=x;ttl=1'),
    params,
    fc.constantFrom('', ' (comment)', ' ;x'),
  )
  .map(([p, s, h, b, r, ps, tail]) => `${p}${s}${h}${b}${r}${ps}${tail}`);

const challenge = fc
  .tuple(
    fc.constantFrom('Digest', 'digest', 'Basic', 'Bearer', ''),
    fc.array(
      fc.oneof(
        fc.tuple(fc.constantFrom('realm', 'nonce', 'opaque', 'qop', 'algorithm', 'stale', 'domain', 'x'), fc.oneof(token(12), oddText)).map(
          ([n, v]) => `${n}="${v.replace(/["\\]/g, '\\$&')}"`,
        ),
        fc.constantFrom('algorithm=MD5', 'algorithm=SHA-256', 'algorithm=md5-sess', 'algorithm=SHA-512-256', 'stale=TRUE', 'qop="auth,auth-int"', 'qop=auth-int', 'nonce=', 'realm', '=x', 'nonce="unterminated'),
      ),
      { maxLength: 6 },
    ),
    fc.constantFrom(', ', ',', ' , ', ' '),
  )
  .map(([scheme, ps, sep]) => `${scheme} ${ps.join(sep)}`);

const subscriptionState = fc
  .tuple(
    fc.constantFrom('active', 'pending', 'terminated', 'ACTIVE', 'waiting', ''),
    fc.array(
      fc.oneof(
        fc.tuple(fc.constantFrom('expires', 'retry-after', 'reason'), number).map(([n, v]) => `;${n}=${v}`),
        fc.constantFrom(';reason=timeout', ';reason=deactivated', ';reason=probation', ';reason=rejected', ';reason=noresource', ';reason=giveup', ';reason="x"', ';expires'),
      ),
      { maxLength: 3 },
    ),
  )
  .map(([s, ps]) => `${s}${ps.join('')}`);

type Header = [string, fc.Arbitrary<string>];
const HEADERS: Header[] = [
  ['Via', list(via)],
  ['From', nameAddr.map((n) => `${n};tag=${Math.abs(n.length * 7919)}`)],
  ['To', nameAddr],
  ['Contact', fc.oneof(list(nameAddr), fc.constant('*'))],
  ['Record-Route', list(nameAddr)],
  ['Route', list(nameAddr)],
  ['Call-ID', fc.oneof(token(20), fc.tuple(token(10), host).map(([a, h]) => `${a}@${h}`), fc.constantFrom('', ' '))],
  ['CSeq', fc.tuple(number, method).map(([n, m]) => `${n} ${m}`)],
  ['Max-Forwards', number],
  ['Expires', number],
  ['Min-Expires', number],
  ['Retry-After', fc.tuple(number, fc.constantFrom('', ' (busy)', ' ((nested) x)', ' (open', ';duration=60', ';duration=x', ' (a\\)b)')).map(([n, t]) => `${n}${t}`)],
  ['Event', fc.tuple(fc.constantFrom('presence', 'Presence', 'presence.winfo', 'dialog', 'reg', '', 'pres ence'), fc.constantFrom('', ';id=1', ';id="x"', ';id', ';id=')).map(([e, p]) => `${e}${p}`)],
  ['Subscription-State', subscriptionState],
  ['Allow-Events', list(fc.constantFrom('presence', 'dialog', 'Presence.Winfo', ''))],
  ['Content-Type', fc.constantFrom('application/pidf+xml', 'application/pidf+xml;charset=UTF-8', 'multipart/related;type="application/rlmi+xml";boundary=x', 'text/plain', '', 'application/', '/x', 'a/b;c', 'APPLICATION/PIDF+XML ; q="1"')],
  ['Content-Length', number],
  ['WWW-Authenticate', challenge],
  ['Proxy-Authenticate', challenge],
  ['Authorization', challenge],
  ['SIP-ETag', token(20)],
  ['Supported', list(token(8))],
  ['User-Agent', oddText],
];
const NAME_VARIANTS: Record<string, string[]> = {
  Via: ['v', 'VIA', 'via'],
  From: ['f', 'FROM'],
  To: ['t', 'tO'],
  Contact: ['m', 'CONTACT'],
  'Call-ID': ['i', 'Call-Id', 'CALL-ID'],
  Event: ['o'],
  'Content-Type': ['c'],
  'Content-Length': ['l', 'content-length'],
  Supported: ['k'],
  'Allow-Events': ['u'],
};
const MANDATORY = ['Via', 'From', 'To', 'Call-ID', 'CSeq'];

const header = fc.constantFrom(...HEADERS).chain(([name, value]) =>
  fc.tuple(fc.constantFrom(name, ...(NAME_VARIANTS[name] ?? [])), fc.constantFrom(': ', ':', ' : ', ':\t'), value).map(([n, sep, v]) => `${n}${sep}${v}`),
);

const startLine = fc.oneof(
  fc.tuple(method, sipUri, fc.constantFrom('SIP/2.0', 'SIP/2.0', 'sip/2.0', 'SIP/2.1', 'SIP/2.0 ', 'HTTP/1.1')).map(([m, u, v]) => `${m} ${u} ${v}`),
  fc
    .tuple(fc.oneof(fc.integer({ min: 100, max: 699 }).map(String), fc.constantFrom('0', '99', '700', '1000', '20', '2x0')), oddText, fc.constantFrom('SIP/2.0', 'SIP/2.0', 'sip/2.0', 'SIP/1.0'))
    .map(([s, r, v]) => `${v} ${s} ${r}`.trimEnd()),
);

const body = fc.oneof(
  fc.constant(''),
  fc.string({ maxLength: 60 }),
  fc.constant('<?xml version="1.0"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b"><tuple id="t"><status><basic>open</basic></status></tuple></presence>'),
);

/** One message: mandatory headers mostly present, extras, line ends CRLF or LF, sometimes folded, then a body. */
export const SIP_MESSAGE: fc.Arbitrary<string> = fc
  .record({
    start: startLine,
    mandatory: fc.tuple(...MANDATORY.map((name) => HEADERS.find(([n]) => n === name)![1].map((v) => `${name}: ${v}`))),
    drop: fc.option(fc.nat(MANDATORY.length - 1), { nil: undefined, freq: 6 }),
    extras: fc.array(header, { maxLength: 10 }),
    order: fc.array(fc.nat(), { minLength: 16, maxLength: 16 }),
    eol: fc.constantFrom('\r\n', '\r\n', '\r\n', '\n'),
    fold: fc.option(fc.nat(), { nil: undefined, freq: 5 }),
    body,
    contentLength: fc.constantFrom('right', 'right', 'none', 'short', 'long'),
  })
  .map((g) => {
    const lines = g.mandatory.filter((_, i) => i !== g.drop);
    for (const [i, extra] of g.extras.entries()) lines.splice((g.order[i] ?? 0) % (lines.length + 1), 0, extra);
    if (g.fold !== undefined && lines.length > 0) {
      const i = g.fold % lines.length;
      lines[i] = lines[i]!.replace(/([;,]) ?/, `$1${g.eol} `);
    }
    const octets = Buffer.byteLength(g.body, 'utf8');
    const cl = { right: octets, none: undefined, short: Math.max(0, octets - 1), long: octets + 5 }[g.contentLength as 'right'];
    if (cl !== undefined) lines.push(`Content-Length: ${cl}`);
    return `${g.start}${g.eol}${lines.join(g.eol)}${g.eol}${g.eol}${g.body}`;
  });

export function generateSipMessages(seed: number, count: number): Uint8Array[] {
  return fc.sample(SIP_MESSAGE, { seed, numRuns: count }).map((m) => Buffer.from(m, 'utf8'));
}

/** Tokens for the byte mutator. */
export const SIP_DICTIONARY: readonly string[] = [
  'SIP/2.0', 'sip:', 'sips:', 'tel:', '@', ';tag=', ';branch=z9hG4bK', ';rport', ';received=', ';lr', ';transport=tcp', ';expires=',
  ';reason=', ';retry-after=', ';q=', ';id=', 'Via: ', 'v: ', 'From: ', 'To: ', 'Call-ID: ', 'CSeq: ', 'Contact: ', 'Route: ',
  'Record-Route: ', 'Content-Length: ', 'l: ', 'Content-Type: ', 'Event: ', 'Subscription-State: ', 'Expires: ', 'Min-Expires: ',
  'Retry-After: ', 'WWW-Authenticate: Digest ', 'Proxy-Authenticate: ', 'Authorization: ', 'realm=', 'nonce=', 'qop=', 'algorithm=',
  'opaque=', 'stale=', 'SUBSCRIBE', 'NOTIFY', 'PUBLISH', 'active', 'terminated', 'pending', 'presence', 'application/pidf+xml',
  '<sip:', '>', '"', '\\"', '[::1]', '[', ']', ':5060', ', ', ' (', ')', '*', '\r\n ', '\r\n\r\n', '%41', '?', '&',
];
