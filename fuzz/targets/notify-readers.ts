/**
 * What the engine makes of a NOTIFY body, per event package: the
 * NotifyReader of one subscription dialog (src/subscription/notify-reader.ts)
 * with the presence, reg or dialog reader, and, for a multipart/related or
 * RLMI body, the resource list reader with one member reader per member.
 * Input: `<package> <Content-Type>` LF body (package presence, reg or dialog;
 * an empty Content-Type means none). The body is read three times by one
 * reader (versions, merged views, members' readers all kept between reads).
 * Promised: it never throws, and every status update it gives is one QSA
 * takes: a known state, a registered status error code, `list` only with
 * `record`, the raw body kept next to an error.
 */
import { Buffer } from 'node:buffer';
import { SUBSCRIPTION_STATES, type StatusUpdate } from '../../src/qsa/status-message.js';
import { createRequest } from '../../src/sip/codec/serializer.js';
import { BUILTIN_EVENT_PACKAGES } from '../../src/subscription/builtin-packages.js';
import { NotifyReader } from '../../src/subscription/notify-reader.js';
import { isB2BErrorCode } from '../../src/util/error-codes.js';
import { fixtureFiles, fixturePath } from '../engine/paths.js';
import { type FuzzTarget, property } from '../engine/target.js';

const STATUS_CODE = /^(B2B|PIDF|REGINFO|DIALOGINFO|RLMI|MULTIPART)_ERR_/;

function input(pkg: string, contentType: string, body: Uint8Array): Uint8Array {
  return Buffer.concat([Buffer.from(`${pkg} ${contentType}\n`, 'latin1'), body]);
}

function seeds(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const f of fixtureFiles(fixturePath('reginfo'), (n) => n.endsWith('.xml'))) out.push(input('reg', 'application/reginfo+xml', f.bytes));
  for (const f of fixtureFiles(fixturePath('dialoginfo'), (n) => n.endsWith('.xml'))) out.push(input('dialog', 'application/dialog-info+xml', f.bytes));
  for (const f of fixtureFiles(fixturePath('pidf'), (n) => n.endsWith('.xml'))) out.push(input('presence', 'application/pidf+xml', f.bytes));
  const rlmi = fixturePath('rlmi');
  for (const f of fixtureFiles(rlmi, (n) => n.endsWith('.multipart'))) {
    const type = fixtureFiles(rlmi, (n) => n === f.name.replace(/\.multipart$/, '.content-type'))[0]?.bytes.toString('latin1').trim() ?? 'multipart/related';
    out.push(input('presence', type, f.bytes));
  }
  return out;
}

function checkUpdate(update: StatusUpdate, body: Uint8Array): void {
  property(SUBSCRIPTION_STATES.has(update.state), () => `state ${JSON.stringify(update.state)}`);
  if (update.error !== undefined) {
    const code = update.error.code;
    property(isB2BErrorCode(code) && STATUS_CODE.test(code), () => `error code ${code}`);
    property(typeof update.error.message === 'string' && update.error.message.length > 0, 'an error without message');
    if (update.list === undefined) property(body.length === 0 || update.body !== undefined, () => `${code} without the raw body`);
  }
  if (update.list !== undefined) property(typeof update.record === 'string' && update.record.length > 0, 'a member update without record');
  if (update.body !== undefined) property(update.body instanceof Uint8Array, 'a body that is not bytes');
}

const notifyReader: FuzzTarget = {
  name: 'notify-reader',
  description: 'NOTIFY bodies through the engine’s per-dialog reader (presence, reg, dialog; resource lists with member readers), read three times',
  extension: 'mime',
  maxInputBytes: 80 * 1024,
  coverageScope: /\/dist\/src\/(subscription|reginfo|dialoginfo|rlmi|multipart|presence|xml)\//,
  dictionary: [
    'presence ', 'reg ', 'dialog ', 'application/reginfo+xml', 'application/dialog-info+xml', 'application/pidf+xml',
    'multipart/related;type="application/rlmi+xml";boundary=', 'application/rlmi+xml', 'version="', 'state="partial"', 'fullState="false"',
  ],
  seeds,
  isExpected: () => false,
  run(data) {
    const newline = data.indexOf(0x0a);
    const head = Buffer.from(newline === -1 ? data : data.subarray(0, newline)).toString('latin1');
    const body = newline === -1 ? new Uint8Array(0) : data.subarray(newline + 1);
    const space = head.indexOf(' ');
    const name = space === -1 ? head : head.slice(0, space);
    const contentType = space === -1 ? '' : head.slice(space + 1).trim();
    const pkg = BUILTIN_EVENT_PACKAGES.find((p) => p.name === name) ?? BUILTIN_EVENT_PACKAGES[0]!;
    const headers: Array<readonly [string, string]> = [['Call-ID', 'fuzz'], ['CSeq', '1 NOTIFY'], ['Event', pkg.name]];
    // A Content-Type the header layer cannot carry (a control character) is left out, as the parser would refuse the message.
    if (contentType !== '' && !/[\x00-\x1f\x7f]/.test(contentType)) headers.push(['Content-Type', contentType]);
    const request = createRequest({ method: 'NOTIFY', uri: 'sip:b2b@127.0.0.1', headers, body: Buffer.from(body) });
    const reader = new NotifyReader(pkg, false);
    for (const state of ['active', 'active', 'terminated'] as const) {
      const reading = reader.read(request, { state, expires: 60 });
      property(typeof reading.resync === 'boolean', 'resync is a boolean');
      for (const update of reading.updates) checkUpdate(update, body);
      const last = reading.updates.at(-1);
      if (last !== undefined) for (const joined of reader.joinStatuses(last)) checkUpdate(joined, body);
    }
  },
};

export default [notifyReader];
