import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseListenOption } from '../../src/cli/listen-option.js';
import { proxyArgument } from '../../src/cli/sip-uri-argument.js';
import { buildPublishRequest, CLI_TUPLE_ID } from '../../src/cli/publish-request.js';
import { formatStatusLine, isFailure } from '../../src/cli/watch-command.js';
import { parsePidf } from '../../src/presence/index.js';
import type { StatusMessage } from '../../src/qsa/index.js';

test('--listen and --proxy', () => {
  assert.deepEqual(parseListenOption('udp:127.0.0.1:0'), { transport: 'udp', host: '127.0.0.1', port: 0 });
  assert.deepEqual(parseListenOption('TCP:[::1]:5090'), { transport: 'tcp', host: '::1', port: 5090 });
  assert.throws(() => parseListenOption('tls:127.0.0.1:5061'), { code: 'B2B_ERR_INVALID_OPTION', message: /^--listen: expected transport:host:port/ });
  assert.throws(() => parseListenOption('udp:127.0.0.1:70000'), { code: 'B2B_ERR_INVALID_OPTION', message: '--listen: expected a port from 0 to 65535, got 70000' });
  assert.equal(proxyArgument('127.0.0.1:5070'), 'sip:127.0.0.1:5070');
  assert.equal(proxyArgument('sip:proxy.example.com;transport=tcp'), 'sip:proxy.example.com;transport=tcp');
});

test('the PUBLISH request (RFC 3903): Event presence, PIDF body, SIP-If-Match when modifying', () => {
  const request = buildPublishRequest({ record: 'sip:alice@example.com', basic: 'open', note: 'a & b', expires: 600, callId: 'c1', fromTag: 'f1', cseq: 1, etag: 'e1' });
  assert.equal(request.method, 'PUBLISH');
  assert.equal(request.uri, 'sip:alice@example.com');
  assert.equal(request.headers.get('Event'), 'presence');
  assert.equal(request.headers.get('Expires'), '600');
  assert.equal(request.headers.get('SIP-If-Match'), 'e1');
  assert.equal(request.headers.get('Content-Type'), 'application/pidf+xml');
  assert.equal(request.headers.get('From'), '<sip:alice@example.com>;tag=f1');
  const doc = parsePidf(request.body);
  assert.equal(doc.entity, 'sip:alice@example.com');
  assert.deepEqual([doc.tuples[0]?.id, doc.tuples[0]?.basic, doc.tuples[0]?.notes[0]?.text], [CLI_TUPLE_ID, 'open', 'a & b']);
});

test('watch lines and failure detection', () => {
  const base = { sequence: 1, timestamp: Date.UTC(2026, 0, 1), record: 'sip:alice@example.com', subscriber: 'sip:bob@example.com', package: 'presence', subscriptionId: 's1' };
  const presence = parsePidf('<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"><tuple id="t"><status><basic>open</basic></status><note>lunch</note></tuple></presence>');
  const open = { ...base, state: 'active', document: presence } as unknown as StatusMessage;
  assert.equal(formatStatusLine(open), '2026-01-01T00:00:00.000Z sip:alice@example.com active open "lunch"');
  assert.equal(isFailure(open), false);
  assert.equal(isFailure({ state: 'rejected', error: undefined }), true);
  assert.equal(isFailure({ state: 'terminated', error: { code: 'B2B_ERR_SUBSCRIBE_FAILED', message: '404' } }), true);
  assert.equal(isFailure({ state: 'terminated', error: undefined }), false);
  assert.equal(isFailure({ state: 'active', error: { code: 'PIDF_ERR_XML', message: 'bad body' } }), false);
});

test('watch lines per package: reg (aor, contacts, those gone), dialog (states, direction, remote), a list member (its list)', () => {
  const base = { sequence: 1, timestamp: Date.UTC(2026, 0, 1), record: 'sip:alice@example.com', subscriber: 'sip:bob@example.com', subscriptionId: 's1', state: 'active' };
  const contact = { id: 'c', uri: 'sip:alice@192.0.2.1', state: 'active', event: 'created', expires: 60, unknownParams: [] };
  const gone = { registrationId: 'r', aor: 'sip:alice@example.com', contact: { id: 'd', uri: 'sip:alice@192.0.2.2', state: 'terminated', event: 'unregistered', unknownParams: [] } };
  const reg = {
    ...base,
    package: 'reg',
    document: {
      version: 0,
      registrations: [{ aor: 'sip:alice@example.com', id: 'r', state: 'active', contacts: [contact] }],
      changes: { registrations: { added: [], updated: [], removed: [] }, contacts: { added: [], updated: [], removed: [gone] } },
    },
  } as unknown as StatusMessage;
  assert.equal(
    formatStatusLine(reg),
    '2026-01-01T00:00:00.000Z sip:alice@example.com active | sip:alice@example.com active sip:alice@192.0.2.1 active/created 60s | gone sip:alice@192.0.2.2 terminated/unregistered',
  );
  const dialog = {
    ...base,
    package: 'dialog',
    document: {
      version: 3,
      entity: 'sip:alice@example.com',
      dialogs: [{ id: 'd1', state: 'early', direction: 'recipient', routeSet: [], remote: { identity: { uri: 'sip:bob@example.com' } } }],
      changes: { added: [], updated: [], removed: [{ id: 'd0', state: 'terminated', event: 'remote-bye', routeSet: [] }] },
    },
  } as unknown as StatusMessage;
  assert.equal(formatStatusLine(dialog), '2026-01-01T00:00:00.000Z sip:alice@example.com active | d1 early recipient sip:bob@example.com | d0 terminated/remote-bye');
  const idle = { ...dialog, document: { version: 1, entity: '', dialogs: [], changes: { added: [], updated: [], removed: [] } } } as unknown as StatusMessage;
  assert.match(formatStatusLine(idle), / active \| no dialog$/);
  const member = { ...base, package: 'presence', state: 'rejected', reason: 'rejected', list: 'sip:friends@example.com' } as unknown as StatusMessage;
  assert.equal(formatStatusLine(member), '2026-01-01T00:00:00.000Z sip:alice@example.com rejected list=sip:friends@example.com reason=rejected');
  assert.equal(isFailure(member), false, 'a member rejected does not end the watch');
});
