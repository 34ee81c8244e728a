/**
 * The UAC side of a subscription dialog (RFC 3261 §12.1.2, §12.2.1.1;
 * RFC 6665 §4.1.2.4): what a 2xx or an early NOTIFY makes of it, checked
 * before anything changes, and how in-dialog requests are routed.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createRequest, createResponse } from '../../../src/sip/codec/index.js';
import type { SipRequest, SipResponse } from '../../../src/sip/codec/message.js';
import {
  buildInDialogRequest,
  confirmFromNotify,
  confirmFromResponse,
  type DialogState,
  isLooseRoute,
  newDialogState,
  refreshTargetFrom,
} from '../../../src/sip/dialog/dialog-state.js';
import { routeLeadsTo } from '../../../src/sip/ua/request-destination.js';

const RECORD = 'sip:alice@example.com';

function fresh(routeSet: string[] = []): DialogState {
  return newDialogState({ callId: 'c1', localTag: 'ours', localUri: 'sip:bob@example.com', remoteUri: RECORD, routeSet });
}

function subscribeOf(dialog: DialogState): SipRequest {
  return buildInDialogRequest(dialog, 'SUBSCRIBE', [['Event', 'presence']]);
}

function ok(request: SipRequest, toTag: string | undefined, headers: Array<readonly [string, string]>): SipResponse {
  return createResponse(request, 200, undefined, { ...(toTag !== undefined ? { toTag } : {}), headers });
}

function notifyFor(dialog: DialogState, fromTag: string, headers: Array<readonly [string, string]>): SipRequest {
  return createRequest({
    method: 'NOTIFY',
    uri: 'sip:b2b@192.0.2.5',
    headers: [
      ['From', `<${RECORD}>;tag=${fromTag}`],
      ['To', `<sip:bob@example.com>;tag=${dialog.localTag}`],
      ['Call-ID', dialog.callId],
      ['CSeq', '1 NOTIFY'],
      ...headers,
    ],
  });
}

describe('confirmFromResponse (RFC 3261 §12.1.2)', () => {
  test('To tag, Contact and reversed Record-Route make the dialog', () => {
    const dialog = fresh();
    const response = ok(subscribeOf(dialog), 'srv1', [
      ['Record-Route', '<sip:p2.example.net;lr>, <sip:p1.example.net;lr>'],
      ['Contact', '<sip:ps@192.0.2.9:5070>'],
    ]);
    assert.equal(confirmFromResponse(dialog, response), undefined);
    assert.equal(dialog.remoteTag, 'srv1');
    assert.equal(dialog.remoteTarget, 'sip:ps@192.0.2.9:5070');
    assert.deepEqual(dialog.routeSet, ['<sip:p1.example.net;lr>', '<sip:p2.example.net;lr>']);
  });

  const unusable: Array<[string, string | undefined, Array<readonly [string, string]>, RegExp]> = [
    ['no To tag', undefined, [['Contact', '<sip:ps@192.0.2.9>']], /no tag in To/],
    ['an unterminated Contact', 'srv1', [['Contact', '<sip:ps@192.0.2.9;lr']], /unusable Contact/],
    ['a Contact that is not a SIP URI', 'srv1', [['Contact', '<http://example.com/>']], /unusable Contact/],
    ['Contact: *', 'srv1', [['Contact', '*']], /Contact: \*/],
    ['a broken Record-Route', 'srv1', [['Contact', '<sip:ps@192.0.2.9>'], ['Record-Route', '<sip:p1;lr']], /unusable Record-Route/],
  ];
  for (const [what, tag, headers, problem] of unusable) {
    test(`${what}: a problem, and the dialog unchanged`, () => {
      const dialog = fresh(['<sip:outbound.example.net;lr>']);
      const before = structuredClone(dialog);
      assert.match(confirmFromResponse(dialog, ok(subscribeOf(dialog), tag, headers)) ?? '', problem);
      assert.deepEqual(dialog, { ...before, localCSeq: 1 });
    });
  }

  test('a 2xx without Contact makes the dialog; the target stays where the request went', () => {
    const dialog = fresh();
    assert.equal(confirmFromResponse(dialog, ok(subscribeOf(dialog), 'srv1', [])), undefined);
    assert.deepEqual([dialog.remoteTag, dialog.remoteTarget], ['srv1', RECORD]);
  });

  test('after an early NOTIFY of fork A, the 2xx of fork B changes nothing (tag and target of one fork)', () => {
    const dialog = fresh();
    const request = subscribeOf(dialog);
    assert.equal(confirmFromNotify(dialog, notifyFor(dialog, 'forkA', [['Contact', '<sip:a@192.0.2.1>']])), undefined);
    assert.equal(confirmFromResponse(dialog, ok(request, 'forkB', [['Contact', '<sip:b@192.0.2.2>']])), undefined);
    assert.equal(dialog.remoteTag, 'forkA');
    assert.equal(dialog.remoteTarget, 'sip:a@192.0.2.1');
    // The 2xx of fork A refreshes the target.
    assert.equal(confirmFromResponse(dialog, ok(request, 'forkA', [['Contact', '<sip:a2@192.0.2.1>']])), undefined);
    assert.equal(dialog.remoteTarget, 'sip:a2@192.0.2.1');
  });

  test('a refresh 2xx without Contact keeps the target; with a broken one it is a problem', () => {
    const dialog = fresh();
    confirmFromResponse(dialog, ok(subscribeOf(dialog), 'srv1', [['Contact', '<sip:ps@192.0.2.9>']]));
    assert.equal(confirmFromResponse(dialog, ok(subscribeOf(dialog), 'srv1', [])), undefined);
    assert.equal(dialog.remoteTarget, 'sip:ps@192.0.2.9');
    assert.match(confirmFromResponse(dialog, ok(subscribeOf(dialog), 'srv1', [['Contact', '<sip:x']])) ?? '', /unusable Contact/);
    assert.equal(dialog.remoteTarget, 'sip:ps@192.0.2.9');
  });
});

describe('confirmFromNotify and refreshTargetFrom', () => {
  test('an early NOTIFY makes the dialog (Record-Route in order); a broken one changes nothing', () => {
    const dialog = fresh();
    assert.match(confirmFromNotify(dialog, notifyFor(dialog, 'srv1', [['Contact', '<sip:ps@x']])) ?? '', /unusable Contact/);
    assert.equal(dialog.remoteTag, undefined);
    const good = notifyFor(dialog, 'srv1', [['Contact', '<sip:ps@192.0.2.9>'], ['Record-Route', '<sip:p1;lr>, <sip:p2;lr>']]);
    assert.equal(confirmFromNotify(dialog, good), undefined);
    assert.deepEqual([dialog.remoteTag, dialog.remoteTarget, dialog.routeSet], ['srv1', 'sip:ps@192.0.2.9', ['<sip:p1;lr>', '<sip:p2;lr>']]);
    assert.match(refreshTargetFrom(dialog, notifyFor(dialog, 'srv1', [['Contact', 'garbage <']])) ?? '', /unusable Contact/);
    assert.equal(dialog.remoteTarget, 'sip:ps@192.0.2.9');
    assert.equal(refreshTargetFrom(dialog, notifyFor(dialog, 'srv1', [['Contact', '<sip:ps2@192.0.2.9>']])), undefined);
    assert.equal(dialog.remoteTarget, 'sip:ps2@192.0.2.9');
  });

  test('the same Contact line in NOTIFYs of several dialogs gives each the same target; a new or broken line is read afresh', () => {
    const a = fresh();
    const b = newDialogState({ callId: 'c2', localTag: 'ours2', localUri: 'sip:bob@example.com', remoteUri: RECORD });
    const line = '<sip:ps@192.0.2.9;transport=udp>';
    assert.equal(confirmFromNotify(a, notifyFor(a, 'srv1', [['Contact', line]])), undefined);
    assert.equal(confirmFromNotify(b, notifyFor(b, 'srv2', [['Contact', line]])), undefined);
    assert.deepEqual([a.remoteTarget, b.remoteTarget], ['sip:ps@192.0.2.9;transport=udp', 'sip:ps@192.0.2.9;transport=udp']);
    // Two Contact lines, the first of them the remembered one: the first entry is the target, as always.
    assert.equal(refreshTargetFrom(a, notifyFor(a, 'srv1', [['Contact', '<sip:other@192.0.2.1>'], ['Contact', line]])), undefined);
    assert.equal(a.remoteTarget, 'sip:other@192.0.2.1');
    assert.equal(refreshTargetFrom(a, notifyFor(a, 'srv1', [['Contact', line]])), undefined);
    assert.equal(a.remoteTarget, 'sip:ps@192.0.2.9;transport=udp');
    assert.match(refreshTargetFrom(a, notifyFor(a, 'srv1', [['Contact', '<tel:+1555>']])) ?? '', /unusable Contact/);
    assert.match(refreshTargetFrom(a, notifyFor(a, 'srv1', [['Contact', '*']])) ?? '', /Contact: \* cannot/);
    assert.equal(a.remoteTarget, 'sip:ps@192.0.2.9;transport=udp');
    assert.equal(refreshTargetFrom(b, notifyFor(b, 'srv2', [['Contact', line]])), undefined);
    assert.equal(b.remoteTarget, 'sip:ps@192.0.2.9;transport=udp');
  });
});

describe('buildInDialogRequest routing (RFC 3261 §12.2.1.1)', () => {
  test('loose router first: Request-URI = remote target, Route = the route set', () => {
    const request = subscribeOf(fresh(['<sip:p1.example.net;lr>', '<sip:p2.example.net;lr>']));
    assert.equal(request.uri, RECORD);
    assert.deepEqual(request.headers.getAll('route'), ['<sip:p1.example.net;lr>', '<sip:p2.example.net;lr>']);
  });

  test('strict router first: Request-URI = its URI (no method parameter, no headers), Route = the rest, then the remote target', () => {
    const request = subscribeOf(fresh(['<sip:strict.example.net;method=SUBSCRIBE?x=y>', '<sip:p2.example.net;lr>']));
    assert.equal(request.uri, 'sip:strict.example.net');
    assert.deepEqual(request.headers.getAll('route'), ['<sip:p2.example.net;lr>', `<${RECORD}>`]);
    const only = subscribeOf(fresh(['<sip:strict.example.net:5070;transport=tcp>']));
    assert.equal(only.uri, 'sip:strict.example.net:5070;transport=tcp');
    assert.deepEqual(only.headers.getAll('route'), [`<${RECORD}>`]);
  });

  test('isLooseRoute and routeLeadsTo', () => {
    assert.equal(isLooseRoute('<sip:p.example.net;lr>'), true);
    assert.equal(isLooseRoute('<sip:p.example.net>'), false);
    assert.equal(routeLeadsTo('<sip:Proxy.example.net;lr>', 'sip:proxy.example.net:5060'), true);
    assert.equal(routeLeadsTo('<sip:proxy.example.net:5070;lr>', 'sip:proxy.example.net'), false);
    assert.equal(routeLeadsTo('<sip:proxy.example.net;transport=tcp;lr>', 'sip:proxy.example.net;transport=udp'), false);
    assert.equal(routeLeadsTo('<sips:proxy.example.net;lr>', 'sip:proxy.example.net:5061'), true);
    assert.equal(routeLeadsTo(undefined, 'sip:proxy.example.net'), false);
    assert.equal(routeLeadsTo('<sip:proxy.example.net;lr>', 'not a uri'), false);
  });
});
