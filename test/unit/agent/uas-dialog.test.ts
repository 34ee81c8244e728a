import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSipMessage } from '../../../src/sip/codec/index.js';
import type { SipRequest } from '../../../src/sip/codec/message.js';
import { buildInDialogRequest } from '../../../src/sip/dialog/dialog-state.js';
import { createUasDialogResponse, newUasDialogState } from '../../../src/sip/dialog/uas-dialog.js';
import { requestText } from './agent-harness.js';

function subscribe(headers: Array<readonly [string, string]>, fromTag = 'ftag'): SipRequest {
  const message = parseSipMessage(Buffer.from(requestText('SUBSCRIBE', { callId: 'c-1', cseq: 7, fromTag, headers })));
  assert.equal(message.kind, 'request');
  return message as SipRequest;
}

test('newUasDialogState: RFC 3261 §12.1.1 — route set = Record-Route in order, target = Contact, remote tag = From tag', () => {
  const request = subscribe([
    ['Record-Route', '<sip:p1.example.org;lr>, <sip:p2.example.org;lr>'],
    ['Contact', '"W" <sip:w@192.0.2.10:5070;transport=tcp>;expires=60'],
  ]);
  const dialog = newUasDialogState(request, 'ours')!;
  assert.deepEqual(dialog, {
    callId: 'c-1',
    localTag: 'ours',
    remoteTag: 'ftag',
    localUri: 'sip:alice@example.com',
    remoteUri: 'sip:watcher@example.org',
    localCSeq: 0,
    remoteCSeq: 7,
    routeSet: ['<sip:p1.example.org;lr>', '<sip:p2.example.org;lr>'],
    remoteTarget: 'sip:w@192.0.2.10:5070;transport=tcp',
  });
  // A NOTIFY in this dialog goes to the Contact through the proxies, From with our tag.
  const notify = buildInDialogRequest(dialog, 'NOTIFY', [['Event', 'presence']]);
  assert.equal(notify.uri, 'sip:w@192.0.2.10:5070;transport=tcp');
  assert.deepEqual(notify.headers.getAll('route'), ['<sip:p1.example.org;lr>', '<sip:p2.example.org;lr>']);
  assert.equal(notify.headers.get('from'), '<sip:alice@example.com>;tag=ours');
  assert.equal(notify.headers.get('to'), '<sip:watcher@example.org>;tag=ftag');
  assert.equal(notify.headers.get('cseq'), '1 NOTIFY');
});

test('newUasDialogState: undefined without Contact', () => {
  assert.equal(newUasDialogState(subscribe([]), 'ours'), undefined);
});

test('createUasDialogResponse: To gets our tag once, Record-Route is copied', () => {
  const request = subscribe([['Record-Route', '<sip:p1.example.org;lr>'], ['Contact', '<sip:w@192.0.2.10>']]);
  const response = createUasDialogResponse(request, 200, 'ours', [['Expires', '60']]);
  assert.equal(response.status, 200);
  assert.equal(response.reason, 'OK');
  assert.equal(response.headers.get('to'), '<sip:alice@example.com>;tag=ours');
  assert.deepEqual(response.headers.getAll('record-route'), ['<sip:p1.example.org;lr>']);
  assert.equal(response.headers.get('expires'), '60');
});
