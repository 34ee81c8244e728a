/**
 * The NOTIFY bodies of the other event packages: reginfo (RFC 3680),
 * dialog-info (RFC 4235), RLMI (RFC 4662), whole resource-list bodies and
 * multipart/related. Each module has its own fuzz entry (`fuzzReginfo`, …:
 * read the body, apply it twice to a fresh view) that returns when the body
 * is accepted or refused with its documented error; anything escaping one is
 * a crash. Inputs of the multipart and resource-list entries are the
 * Content-Type value, a LF, then the body.
 */
import { Buffer } from 'node:buffer';
import { DialogInfoError, fuzzDialogInfo } from '../../src/dialoginfo/index.js';
import { fuzzMultipart, MultipartError, parseMultipart, relatedRootPart } from '../../src/multipart/index.js';
import { fuzzReginfo, RegInfoError } from '../../src/reginfo/index.js';
import { fuzzResourceList, fuzzRlmi, RlmiError } from '../../src/rlmi/index.js';
import { fixtureFiles, fixturePath } from '../engine/paths.js';
import type { FuzzTarget } from '../engine/target.js';
import { PIDF_DICTIONARY } from './support/pidf-grammar.js';

const XML_SCOPE = /\/dist\/src\/|\/node_modules\/(saxes|xmlchars)\//;
const XML_DICTIONARY = [
  ...PIDF_DICTIONARY,
  '<reginfo xmlns="urn:ietf:params:xml:ns:reginfo" version="0" state="full">', '<registration aor="sip:a@b" id="r" state="active">',
  '<contact id="c" state="active" event="registered" expires="3600">', '<uri>sip:a@192.0.2.1</uri>', '</contact>', '</registration>',
  '<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1" state="partial" entity="sip:a@b">', '<dialog id="d" direction="initiator">',
  '<state event="remote-bye">terminated</state>', '<local><identity>sip:a@b</identity></local>', '</dialog>', '</dialog-info>',
  '<list xmlns="urn:ietf:params:xml:ns:rlmi" uri="sip:l@b" version="1" fullState="false">', '<resource uri="sip:a@b">',
  '<instance id="i" state="active" cid="x@y"/>', 'state="terminated" reason="rejected"', '</resource>', '</list>', 'version="4294967296"',
];
const MIME_DICTIONARY = [
  ...XML_DICTIONARY,
  '\r\n--', '--\r\n', 'boundary=', 'boundary="', 'start="<', 'type="application/rlmi+xml"', 'multipart/related;', 'multipart/mixed;',
  'Content-ID: <', 'Content-Type: application/pidf+xml\r\n', 'Content-Type: application/rlmi+xml;charset="UTF-8"\r\n',
  'Content-Transfer-Encoding: base64\r\n', '\r\n\r\n', ';charset=', '"\\"',
];

const isError = (...types: Array<abstract new (...args: never[]) => Error>) => (error: unknown): boolean => types.some((t) => error instanceof t);
const xmlFiles = (dir: string): Uint8Array[] => fixtureFiles(fixturePath(dir), (n) => n.endsWith('.xml')).map((f) => f.bytes);

/** The captured resource-list NOTIFYs as `<Content-Type>\n<body>`. */
function resourceListInputs(): Uint8Array[] {
  const dir = fixturePath('rlmi');
  return fixtureFiles(dir, (n) => n.endsWith('.multipart')).map((f) => {
    const type = fixtureFiles(dir, (n) => n === f.name.replace(/\.multipart$/, '.content-type'))[0]?.bytes ?? Buffer.from('multipart/related');
    return Buffer.concat([Buffer.from(type.toString('latin1').trim(), 'latin1'), Buffer.from('\n'), f.bytes]);
  });
}

/** The RLMI root part of each captured body. */
function rlmiDocuments(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const input of resourceListInputs()) {
    const newline = input.indexOf(0x0a);
    try {
      out.push(relatedRootPart(parseMultipart(Buffer.from(input.subarray(0, newline)).toString('latin1'), input.subarray(newline + 1))).body);
    } catch {
      // a fixture the parser refuses has no root part to offer
    }
  }
  return out;
}

const reginfo: FuzzTarget = {
  name: 'reginfo',
  description: 'reginfo NOTIFY bodies (RFC 3680): fuzzReginfo (parse, then apply twice to a view)',
  extension: 'xml',
  maxInputBytes: 80 * 1024,
  coverageScope: XML_SCOPE,
  dictionary: XML_DICTIONARY,
  seeds: () => xmlFiles('reginfo'),
  isExpected: isError(RegInfoError),
  run: (input) => fuzzReginfo(input),
};

const dialogInfo: FuzzTarget = {
  name: 'dialoginfo',
  description: 'dialog-info NOTIFY bodies (RFC 4235): fuzzDialogInfo (parse, then apply twice to a view)',
  extension: 'xml',
  maxInputBytes: 80 * 1024,
  coverageScope: XML_SCOPE,
  dictionary: XML_DICTIONARY,
  seeds: () => xmlFiles('dialoginfo'),
  isExpected: isError(DialogInfoError),
  run: (input) => fuzzDialogInfo(input),
};

const rlmi: FuzzTarget = {
  name: 'rlmi',
  description: 'RLMI documents (RFC 4662): fuzzRlmi',
  extension: 'xml',
  maxInputBytes: 80 * 1024,
  coverageScope: XML_SCOPE,
  dictionary: XML_DICTIONARY,
  seeds: rlmiDocuments,
  isExpected: isError(RlmiError),
  run: (input) => fuzzRlmi(input),
};

const resourceList: FuzzTarget = {
  name: 'resource-list',
  description: 'whole resource-list NOTIFY bodies (Content-Type LF body): fuzzResourceList (read, apply twice, snapshot)',
  extension: 'mime',
  maxInputBytes: 80 * 1024,
  coverageScope: XML_SCOPE,
  dictionary: MIME_DICTIONARY,
  seeds: resourceListInputs,
  isExpected: isError(RlmiError, MultipartError),
  run: (input) => fuzzResourceList(input),
};

const multipart: FuzzTarget = {
  name: 'multipart',
  description: 'multipart bodies (Content-Type LF body), nested, and their multipart/related root: fuzzMultipart',
  extension: 'mime',
  maxInputBytes: 80 * 1024,
  dictionary: MIME_DICTIONARY,
  seeds: resourceListInputs,
  isExpected: isError(MultipartError),
  run: (input) => fuzzMultipart(input),
};

export default [reginfo, dialogInfo, rlmi, resourceList, multipart];
