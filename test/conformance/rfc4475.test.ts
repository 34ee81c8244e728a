/**
 * RFC 4475 (SIP Torture Test Messages) §3: every case of the manifest meets
 * its expected outcome, and the valid ones carry the values the RFC intends.
 * Prints the table of cases and outcomes.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  callIdOf,
  contactsOf,
  contentTypeOf,
  cseqOf,
  fromHeader,
  isSipUri,
  parseCredentials,
  parseSipMessage,
  parseSipUri,
  parseUri,
  routeSetOf,
  SipParseError,
  type SipMessage,
  type SipRequest,
  type SipResponse,
  toHeader,
  tokenListOf,
  topVia,
  uriEquals,
  viaList,
} from '../../src/sip/codec/index.js';

interface ManifestCase {
  file: string;
  section: string;
  title: string;
  expect: 'parse' | 'parse-first' | 'reject' | 'either';
}

/** dist/test/conformance/… → the first directory above holding package.json (else above the cwd, for out-of-tree builds). */
function repoRoot(): string {
  for (const startDir of [dirname(fileURLToPath(import.meta.url)), process.cwd()]) {
    let dir = startDir;
    for (let i = 0; i < 12; i++) {
      if (existsSync(join(dir, 'package.json'))) return dir;
      const parent = dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  throw new Error('package.json not found above the test file or the working directory');
}

const FIXTURES = join(repoRoot(), 'test', 'fixtures', 'rfc4475');
const manifest = JSON.parse(readFileSync(join(FIXTURES, 'manifest.json'), 'utf8')) as { cases: ManifestCase[] };

function load(file: string): Buffer {
  return readFileSync(join(FIXTURES, file));
}

function request(message: SipMessage): SipRequest {
  assert.equal(message.kind, 'request');
  return message as SipRequest;
}

function response(message: SipMessage): SipResponse {
  assert.equal(message.kind, 'response');
  return message as SipResponse;
}

/** The RFC's intended values for the cases where they are meaningful. */
const CHECKS: Record<string, (m: SipMessage) => void> = {
  'wsinv.dat': (m) => {
    const r = request(m);
    assert.equal(r.method, 'INVITE');
    const ruri = parseSipUri(r.uri);
    assert.equal(ruri.host, 'chair-dnrc.example.com');
    assert.equal(ruri.params.get('unknownparam'), null, 'unknown URI parameter kept');
    assert.ok(ruri.params.has('unknownparam'));
    const to = toHeader(m);
    assert.equal(to.uri, 'sip:vivekg@chair-dnrc.example.com');
    assert.equal(to.tag, '1918181833n');
    const from = fromHeader(m);
    assert.equal(from.displayName, 'J Rosenberg \\"');
    assert.equal(from.uri, 'sip:jdrosen@example.com');
    assert.equal(from.tag, '98asjd8');
    assert.equal(m.headers.get('max-forwards'), '0068');
    assert.equal(callIdOf(m), 'wsinv.ndaksdj@192.0.2.1');
    assert.deepEqual(cseqOf(m), { seq: 9, method: 'INVITE' });
    const vias = viaList(m);
    assert.equal(vias.length, 3);
    assert.deepEqual(
      vias.map((v) => [v.protocol, v.transport, v.host, v.branch]),
      [
        ['SIP/2.0', 'UDP', '192.0.2.2', '390skdjuw'],
        ['SIP/2.0', 'TCP', 'spindle.example.com', 'z9hG4bK9ikj8'],
        ['SIP/2.0', 'UDP', '192.168.255.111', 'z9hG4bK30239'],
      ],
    );
    assert.equal(m.headers.get('subject'), '');
    assert.equal(m.headers.get('NewFangledHeader'), 'newfangled value continued newfangled value');
    assert.equal(m.headers.get('UnknownHeaderWithUnusualValue'), ';;,,;;,;');
    const route = routeSetOf(m, 'route');
    assert.equal(route.length, 1);
    assert.equal(route[0]!.uri, 'sip:services.example.com;lr;unknownwith=value;unknown-no-value');
    const contacts = contactsOf(m);
    assert.ok(contacts !== '*');
    assert.equal(contacts.length, 1);
    assert.equal(contacts[0]!.displayName, 'Quoted string ""');
    assert.equal(contacts[0]!.uri, 'sip:jdrosen@example.com');
    assert.equal(contacts[0]!.params.get('newparam'), 'newvalue');
    assert.equal(contacts[0]!.params.get('secondparam'), null);
    assert.equal(contacts[0]!.q, 0.33);
    assert.equal(contentTypeOf(m)?.mediaType, 'application/sdp');
    assert.equal(m.body.length, 150);
  },
  'intmeth.dat': (m) => {
    const r = request(m);
    assert.equal(r.method, "!interesting-Method0123456789_*+`.%indeed'~");
    assert.equal(cseqOf(m).method, r.method);
    const ruri = parseSipUri(r.uri);
    assert.equal(ruri.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    assert.equal(ruri.password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
    assert.equal(ruri.host, 'example.com');
    assert.equal(toHeader(m).displayName, 'BEL:\x07 NUL:\x00 DEL:\x7f');
    const from = fromHeader(m);
    assert.equal(from.displayName, "token1~` token2'+_ token3*%!.-");
    assert.equal(from.tag, "_token~1'+`*%!-.");
    assert.equal(from.params.get("fromparam''~+*_!.-%"), '"\u0440\u0430\u0431\u043e\u0442\u0430\u044e\u0449\u0438\u0439"');
    assert.equal(callIdOf(m), 'intmeth.word%ZK-!.*_+\'@word`~)(><:\\/"][?}{');
    assert.equal(m.headers.get("extensionHeader-!.%*+_`'~"), '\ufeff\u5927\u505c\u96fb');
  },
  'esc01.dat': (m) => {
    const ruri = parseSipUri(request(m).uri);
    assert.equal(ruri.user, 'sips%3Auser%40example.com');
    assert.equal(ruri.host, 'example.net');
    assert.ok(uriEquals(parseUri(toHeader(m).uri), parseUri('sip:user@example.com')));
    assert.equal(callIdOf(m), 'esc01.239409asdfakjkn23onasd0-3234');
    assert.equal(contentTypeOf(m)?.mediaType, 'application/sdp');
    const contacts = contactsOf(m);
    assert.ok(contacts !== '*' && contacts.length === 1);
    assert.ok(uriEquals(parseUri(contacts[0]!.uri), parseUri('sip:caller@host5.example.net;lr;name=value%41')));
  },
  'escnull.dat': (m) => {
    const contacts = contactsOf(m);
    assert.ok(contacts !== '*');
    assert.deepEqual(
      contacts.map((c) => parseSipUri(c.uri).user),
      ['%00', '%00%00'],
    );
  },
  'esc02.dat': (m) => {
    assert.equal(request(m).method, 'RE%47IST%45R');
    assert.equal(toHeader(m).displayName, '%Z%45');
    assert.equal(topVia(m).branch, 'z9hG4bK209%fzsnel234');
    const contacts = contactsOf(m);
    assert.ok(contacts !== '*' && contacts.length === 2, 'C%6Fntact is not Contact');
    assert.equal(m.headers.get('C%6Fntact'), '<sip:alias2@host2.example.com>');
  },
  'lwsdisp.dat': (m) => {
    const from = fromHeader(m);
    assert.equal(from.displayName, 'caller');
    assert.equal(from.uri, 'sip:caller@example.com');
    assert.equal(from.tag, '323');
  },
  'longreq.dat': (m) => {
    const to = toHeader(m);
    assert.ok(to.displayName?.startsWith('I have a user name of extreme'));
    const toUri = parseSipUri(to.uri);
    assert.equal(toUri.port, 6000);
    assert.equal(toUri.params.size, 3);
    assert.ok(fromHeader(m).tag?.startsWith('1298298298') && (fromHeader(m).tag?.length ?? 0) > 100);
    const vias = viaList(m);
    assert.equal(vias.length, 34);
    assert.equal(vias[0]!.host, 'sip33.example.com');
    assert.equal(vias[33]!.received, '192.0.2.5');
    assert.equal(m.body.length, 150);
  },
  'dblreq.dat': (m) => {
    assert.equal(request(m).method, 'REGISTER');
    assert.equal(m.body.length, 0);
    assert.equal(callIdOf(m), 'dblreq.0ha0isndaksdj99sdfafnl3lk233412');
  },
  'semiuri.dat': (m) => {
    const ruri = parseSipUri(request(m).uri);
    assert.equal(ruri.user, 'user;par=u%40example.net');
    assert.equal(ruri.host, 'example.com');
    assert.equal(ruri.params.size, 0);
    assert.equal(m.headers.values('accept').length, 6);
  },
  'transports.dat': (m) => {
    assert.deepEqual(
      viaList(m).map((v) => v.transport),
      ['UDP', 'SCTP', 'TLS', 'UNKNOWN', 'TCP'],
    );
  },
  'mpart01.dat': (m) => {
    const type = contentTypeOf(m);
    assert.equal(type?.mediaType, 'multipart/mixed');
    assert.equal(type?.params.get('boundary'), '7a9cbec02ceef655');
    assert.equal(m.body.length, 553);
  },
  'unreason.dat': (m) => {
    const r = response(m);
    assert.equal(r.status, 200);
    assert.ok(r.reason.startsWith('= 2**3 * 5**2 '));
    assert.ok(r.reason.endsWith('\u043f\u0440\u043e\u0441\u0442\u043e\u0435'), 'UTF-8 reason phrase decoded');
  },
  'noreason.dat': (m) => {
    const r = response(m);
    assert.equal(r.status, 100);
    assert.equal(r.reason, '');
  },
  'badbranch.dat': (m) => {
    assert.equal(topVia(m).branch, 'z9hG4bK');
  },
  'unkscm.dat': (m) => {
    const uri = parseUri(request(m).uri);
    assert.equal(uri.scheme, 'nobodyknowsthisscheme');
    assert.ok(!isSipUri(uri) && 'value' in uri && uri.value === 'totallyopaquecontent');
  },
  'novelsc.dat': (m) => {
    assert.equal(parseUri(request(m).uri).scheme, 'soap.beep');
  },
  'unksm2.dat': (m) => {
    assert.equal(parseUri(toHeader(m).uri).scheme, 'isbn');
    assert.equal(parseUri(fromHeader(m).uri).scheme, 'http');
    const contacts = contactsOf(m);
    assert.ok(contacts !== '*');
    assert.equal(parseUri(contacts[0]!.uri).scheme, 'name');
  },
  'bext01.dat': (m) => {
    assert.deepEqual(tokenListOf(m, 'require'), ['nothingsupportsthis', 'nothingsupportsthiseither']);
    assert.deepEqual(tokenListOf(m, 'proxy-require'), ['noproxiessupportthis', 'nordoanyproxiessupportthis']);
  },
  'invut.dat': (m) => {
    assert.equal(contentTypeOf(m)?.mediaType, 'application/unknownformat');
    assert.equal(m.body.length, 40);
  },
  'regaut01.dat': (m) => {
    const credentials = parseCredentials(m.headers.get('authorization') ?? '');
    assert.equal(credentials.scheme, 'NoOneKnowsThisScheme');
    assert.equal(credentials.params.get('opaque-data'), 'here');
  },
  'bcast.dat': (m) => {
    assert.equal(response(m).status, 200);
    assert.deepEqual(
      viaList(m).map((v) => v.host),
      ['192.0.2.198', '255.255.255.255'],
    );
  },
  'zeromf.dat': (m) => {
    assert.equal(m.headers.get('max-forwards'), '0');
  },
  'cparam01.dat': (m) => {
    const contacts = contactsOf(m);
    assert.ok(contacts !== '*');
    assert.equal(contacts[0]!.uri, 'sip:+19725552222@gw1.example.net');
    assert.ok(contacts[0]!.params.has('unknownparam'), 'a header parameter (RFC 3261 §20.10)');
  },
  'cparam02.dat': (m) => {
    const contacts = contactsOf(m);
    assert.ok(contacts !== '*');
    assert.equal(contacts[0]!.params.size, 0);
    assert.ok(parseSipUri(contacts[0]!.uri).params.has('unknownparam'), 'a URI parameter');
  },
  'regescrt.dat': (m) => {
    const contacts = contactsOf(m);
    assert.ok(contacts !== '*');
    assert.equal(parseSipUri(contacts[0]!.uri).headers.get('Route'), '%3Csip:sip.example.com%3E');
  },
};

test('RFC 4475 torture tests: every case meets its expected outcome', () => {
  const rows: Array<{ file: string; section: string; expect: string; outcome: string }> = [];
  const failures: string[] = [];
  for (const c of manifest.cases) {
    let outcome: string;
    let message: SipMessage | undefined;
    let error: unknown;
    try {
      message = parseSipMessage(load(c.file));
      outcome = message.kind === 'request' ? `parsed ${message.method.slice(0, 12)}` : `parsed ${message.status}`;
    } catch (e) {
      error = e;
      outcome = e instanceof SipParseError ? `rejected ${e.code}` : `CRASH ${String(e)}`;
    }
    rows.push({ file: c.file, section: c.section, expect: c.expect, outcome });
    if (error !== undefined && !(error instanceof SipParseError)) {
      failures.push(`${c.file}: non-SipParseError ${String(error)}`);
      continue;
    }
    if ((c.expect === 'parse' || c.expect === 'parse-first') && message === undefined) {
      failures.push(`${c.file}: expected a parse, got ${outcome} (${(error as Error).message})`);
      continue;
    }
    if (c.expect === 'reject' && message !== undefined) {
      failures.push(`${c.file}: expected a rejection, got ${outcome}`);
      continue;
    }
    const check = CHECKS[c.file];
    if (message !== undefined && check !== undefined) {
      try {
        check(message);
      } catch (e) {
        failures.push(`${c.file}: intended values: ${(e as Error).message}`);
      }
    }
  }
  console.log(`${'file'.padEnd(16)} ${'section'.padEnd(9)} ${'expect'.padEnd(12)} outcome`);
  for (const r of rows) console.log(`${r.file.padEnd(16)} ${r.section.padEnd(9)} ${r.expect.padEnd(12)} ${r.outcome}`);
  assert.equal(rows.length, manifest.cases.length);
  assert.deepEqual(failures, []);
});

test('RFC 4475 rejections name the problem (it becomes the reason of a 400)', () => {
  const expected: Record<string, string> = {
    'badinv01.dat': 'SIP_ERR_PARSE_VIA',
    'clerr.dat': 'SIP_ERR_PARSE_CONTENT_LENGTH',
    'ncl.dat': 'SIP_ERR_PARSE_CONTENT_LENGTH',
    'scalar02.dat': 'SIP_ERR_PARSE_CSEQ',
    'scalarlg.dat': 'SIP_ERR_PARSE_CSEQ',
    'quotbal.dat': 'SIP_ERR_PARSE_NAME_ADDR',
    'ltgtruri.dat': 'SIP_ERR_PARSE_START_LINE',
    'lwsruri.dat': 'SIP_ERR_PARSE_START_LINE',
    'lwsstart.dat': 'SIP_ERR_PARSE_START_LINE',
    'trws.dat': 'SIP_ERR_PARSE_START_LINE',
    'badvers.dat': 'SIP_ERR_PARSE_START_LINE',
    'mismatch01.dat': 'SIP_ERR_PARSE_CSEQ',
    'mismatch02.dat': 'SIP_ERR_PARSE_CSEQ',
    'bigcode.dat': 'SIP_ERR_PARSE_START_LINE',
    'multi01.dat': 'SIP_ERR_PARSE_HEADER',
    'mcl01.dat': 'SIP_ERR_PARSE_CONTENT_LENGTH',
  };
  for (const [file, code] of Object.entries(expected)) {
    assert.throws(
      () => parseSipMessage(load(file)),
      (e: unknown) => e instanceof SipParseError && e.code === code && e.message.length > 0 && !e.message.includes('\n'),
      file,
    );
  }
});

test('RFC 4475 §3.1.2.2 on a stream: a Content-Length larger than the data is a framing error', () => {
  assert.throws(
    () => parseSipMessage(load('clerr.dat'), { framing: 'stream' }),
    (e: unknown) => e instanceof SipParseError && e.code === 'SIP_ERR_PARSE_CONTENT_LENGTH',
  );
});
