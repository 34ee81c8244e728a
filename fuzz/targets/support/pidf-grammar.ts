/**
 * Structure-aware PIDF documents for the fuzzer (fast-check): trees of the
 * elements the reader models (RFC 3863 tuples, RFC 4479 persons and
 * devices, RFC 4480 values) mixed with unknown extensions, under random
 * prefixes and redeclared namespaces, with entities, CDATA, comments and
 * processing instructions in the text.
 */
import { Buffer } from 'node:buffer';
import fc from 'fast-check';

const NAMESPACES: Record<string, string> = {
  pidf: 'urn:ietf:params:xml:ns:pidf',
  dm: 'urn:ietf:params:xml:ns:pidf:data-model',
  rpid: 'urn:ietf:params:xml:ns:pidf:rpid',
  lt: 'urn:ietf:params:xml:ns:location-type',
  caps: 'urn:ietf:params:xml:ns:pidf:caps',
  x: 'urn:example:extension',
};

const ELEMENTS: Array<[string, string]> = [
  ['pidf', 'tuple'], ['pidf', 'status'], ['pidf', 'basic'], ['pidf', 'contact'], ['pidf', 'note'], ['pidf', 'timestamp'],
  ['dm', 'person'], ['dm', 'device'], ['dm', 'deviceID'], ['dm', 'note'], ['dm', 'timestamp'],
  ['rpid', 'activities'], ['rpid', 'away'], ['rpid', 'busy'], ['rpid', 'on-the-phone'], ['rpid', 'other'], ['rpid', 'mood'],
  ['rpid', 'happy'], ['rpid', 'place-type'], ['rpid', 'status-icon'], ['lt', 'home'], ['caps', 'servcaps'], ['x', 'thing'], ['pidf', 'presence'],
];

const text = fc.oneof(
  fc.constantFrom('open', 'closed', '?', ' open ', 'OPEN', 'sip:bob@example.com', '0.8', '1.5', '-1', '2024-01-01T10:00:00Z', 'not a date', 'Online'),
  fc.string({ unit: fc.constantFrom('a', 'Z', ' ', '\n', '\t', '&amp;', '&lt;', '&#x263A;', '&#0;', '&bogus;', '<![CDATA[<x>&]]>', '<!-- c -->', '<?pi x?>', '\u00e9', '\u{1f600}', ']]>'), maxLength: 12 }),
);

const attribute = fc.oneof(
  fc.constantFrom(' id="t1"', ' id="p1"', ' id=""', ' priority="0.8"', ' priority="1"', ' priority="x"', ' xml:lang="en"', ' xml:lang=""', ' entity="sip:a@b"'),
  fc.constantFrom(' x:attr="1"', ' xmlns:x="urn:other"', ' xmlns=""', ' xmlns:dm="urn:wrong"', " id='single'", ' id="a" id="b"'),
);

interface Tree {
  el: [string, string];
  attrs: string[];
  children: Array<Tree | string>;
  prefix: 'declared' | 'default' | 'none';
}

const tree: fc.Arbitrary<Tree> = fc.letrec<{ node: Tree }>((tie) => ({
  node: fc.record({
    el: fc.constantFrom(...ELEMENTS),
    attrs: fc.array(attribute, { maxLength: 2 }),
    children: fc.array(fc.oneof({ depthSize: 'small', withCrossShrink: true }, text, tie('node')), { maxLength: 4 }),
    prefix: fc.constantFrom('declared', 'declared', 'default', 'none'),
  }),
})).node;

function write(node: Tree | string): string {
  if (typeof node === 'string') return node;
  const [ns, local] = node.el;
  let name = local;
  let decl = '';
  if (node.prefix === 'declared' && ns !== 'pidf') {
    name = `${ns}:${local}`;
    decl = ` xmlns:${ns}="${NAMESPACES[ns]}"`;
  } else if (node.prefix === 'default') {
    decl = ` xmlns="${NAMESPACES[ns]}"`;
  }
  const inner = node.children.map(write).join('');
  return inner === '' && node.attrs.length % 2 === 0 ? `<${name}${decl}${node.attrs.join('')}/>` : `<${name}${decl}${node.attrs.join('')}>${inner}</${name}>`;
}

export const PIDF_DOCUMENT: fc.Arbitrary<string> = fc
  .record({
    decl: fc.constantFrom('', '<?xml version="1.0" encoding="UTF-8"?>\n', '<?xml version="1.0"?>', '<?xml version="1.1" encoding="ISO-8859-1"?>', '\ufeff<?xml version="1.0"?>', ' <?xml version="1.0"?>'),
    root: fc.constantFrom('presence', 'p:presence', 'presence'),
    extraDecls: fc.array(fc.constantFrom(...Object.entries(NAMESPACES).map(([p, u]) => ` xmlns:${p}="${u}"`)), { maxLength: 4 }),
    entity: fc.constantFrom(' entity="sip:alice@example.com"', ' entity="pres:alice@example.com"', '', ' entity=""'),
    children: fc.array(tree, { maxLength: 5 }),
    trailer: fc.constantFrom('', '\n', '<!-- end -->', '<extra/>', 'text'),
  })
  .map((d) => {
    const rootDecl = d.root === 'p:presence' ? ' xmlns:p="urn:ietf:params:xml:ns:pidf"' : ' xmlns="urn:ietf:params:xml:ns:pidf"';
    return `${d.decl}<${d.root}${rootDecl}${d.extraDecls.join('')}${d.entity}>${d.children.map(write).join('')}</${d.root}>${d.trailer}`;
  });

export function generatePidfDocuments(seed: number, count: number): Uint8Array[] {
  return fc.sample(PIDF_DOCUMENT, { seed, numRuns: count }).map((d) => Buffer.from(d, 'utf8'));
}

export const PIDF_DICTIONARY: readonly string[] = [
  '<?xml version="1.0" encoding="UTF-8"?>', 'encoding="UTF-16"', '<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b">',
  '</presence>', '<tuple id="t">', '</tuple>', '<status>', '</status>', '<basic>open</basic>', '<basic>closed</basic>',
  '<contact priority="0.5">', '</contact>', '<note xml:lang="en">', '</note>', '<timestamp>2024-01-01T00:00:00Z</timestamp>',
  'xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model"', 'xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid"', '<dm:person id="p">',
  '</dm:person>', '<dm:device id="d">', '<dm:deviceID>', '<rpid:activities>', '<rpid:away/>', '<rpid:other>', '<rpid:mood>',
  '<rpid:place-type>', 'xmlns=""', 'xmlns:x="urn:x"', '<x:ext a="1">', '</x:ext>', '<![CDATA[', ']]>', '<!--', '-->', '<?pi?>',
  '<!DOCTYPE presence>', '<!ENTITY e "x">', '&e;', '&amp;', '&#x10FFFF;', '&#xD800;', 'xml:lang=', ' id="', '"/>', '/>', '<', '>',
];
