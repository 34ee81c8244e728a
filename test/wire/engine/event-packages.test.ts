/**
 * The reg, dialog and resource list packages on the wire: the exact SUBSCRIBE
 * of each (Event, Accept, Supported), NOTIFY bodies from a scripted server
 * turned into status messages, and a resource list subscription answered by
 * our own resource list server (src/rls) in another B2BUA: a 421 first, then
 * `Supported: eventlist`, one message per member.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { regInfoOf } from '../../../src/reginfo/index.js';
import { presenceOf } from '../../../src/presence/index.js';
import { fixtureFile, fixtureFileText } from '../../support/fixture-files.js';
import {
  accept,
  callIdOf,
  expectNothing,
  expectSubscribe,
  fromTagOf,
  header,
  notify,
  startHarness,
  SUBSCRIBER,
  takeMessage,
  takeMessages,
  text,
} from './harness.js';

test('reg: exact SUBSCRIBE (Event: reg, Accept: application/reginfo+xml); Kamailio’s NOTIFYs become reg messages', async () => {
  const h = await startHarness();
  try {
    const record = h.record();
    h.b2b.qsa.subscribe({ package: 'reg', record, subscriber: SUBSCRIBER, queue: h.queue });
    const sub = await expectSubscribe(h.peer);
    const wire = text(sub);
    const branch = /;branch=(z9hG4bK[0-9a-z]+);rport\r\n/.exec(wire)?.[1];
    assert.equal(
      wire,
      `SUBSCRIBE ${record} SIP/2.0\r\n` +
        `Via: SIP/2.0/UDP 127.0.0.1:${h.ourPort};branch=${branch};rport\r\n` +
        `From: <${SUBSCRIBER}>;tag=${fromTagOf(sub)}\r\n` +
        `To: <${record}>\r\n` +
        `Call-ID: ${callIdOf(sub)}\r\n` +
        'CSeq: 1 SUBSCRIBE\r\n' +
        'Max-Forwards: 70\r\n' +
        'Event: reg\r\n' +
        'Accept: application/reginfo+xml\r\n' +
        'Expires: 600\r\n' +
        `Contact: <sip:b2b@127.0.0.1:${h.ourPort}>\r\n` +
        'User-Agent: presence-b2b-test/1\r\n' +
        'Content-Length: 0\r\n' +
        '\r\n',
    );
    await accept(h.peer, sub);
    assert.equal((await notify(h, sub, { cseq: 1, event: 'reg', body: '' })).message.status, 200);
    assert.deepEqual(regInfoOf(await takeMessage(h.queue))?.registrations, []);
    const body = fixtureFileText('reginfo', 'kamailio-3-second-contact.xml');
    assert.equal((await notify(h, sub, { cseq: 2, event: 'reg', contentType: 'application/reginfo+xml', body })).message.status, 200);
    const m = await takeMessage(h.queue);
    assert.equal(m.package, 'reg');
    assert.equal(Buffer.from(m.body!).toString(), body);
    assert.deepEqual(
      regInfoOf(m)?.registrations[0]?.contacts.map((c) => `${c.uri} ${c.event}`),
      ['sip:alice@127.0.0.1:5090 registered', 'sip:alice@127.0.0.1:5091 created'],
    );
    // A NOTIFY of another package in the reg dialog is refused (489), as for presence.
    assert.equal((await notify(h, sub, { cseq: 3, event: 'presence' })).message.status, 489);
    await expectNothing(h);
  } finally {
    await h.close();
  }
});

test('dialog: Event: dialog, Accept: application/dialog-info+xml; a DOCTYPE body is an error message with the raw body', async () => {
  const h = await startHarness();
  try {
    h.b2b.qsa.subscribe({ package: 'dialog', record: h.record(), subscriber: SUBSCRIBER, queue: h.queue });
    const sub = await expectSubscribe(h.peer);
    assert.equal(header(sub, 'Event'), 'dialog');
    assert.equal(header(sub, 'Accept'), 'application/dialog-info+xml');
    await accept(h.peer, sub);
    const evil = '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa">]><dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1" state="full" entity="&a;"/>';
    await notify(h, sub, { cseq: 1, event: 'dialog', contentType: 'application/dialog-info+xml', body: evil });
    const bad = await takeMessage(h.queue);
    assert.equal(bad.error?.code, 'DIALOGINFO_ERR_DOCTYPE');
    assert.equal(Buffer.from(bad.body!).toString(), evil);
    await notify(h, sub, { cseq: 2, event: 'dialog', contentType: 'application/dialog-info+xml', body: fixtureFileText('dialoginfo', 'kamailio-3-confirmed.xml') });
    const good = await takeMessage(h.queue);
    assert.equal(good.error, undefined);
    assert.equal((good.document as { dialogs: Array<{ state: string }> }).dialogs[0]?.state, 'confirmed');
  } finally {
    await h.close();
  }
});

test('a configured resource list: exact Supported: eventlist and list types in Accept; Kamailio’s RLMI NOTIFYs give one message per member', async () => {
  const h = await startHarness({}, 1, { peerSettings: (peer) => ({ resourceListRecords: [`sip:friends@127.0.0.1:${peer.address.port}`] }) });
  try {
    const friends = h.record('friends');
    h.subscribe(friends);
    const sub = await expectSubscribe(h.peer);
    const wire = text(sub);
    assert.match(
      wire,
      /\r\nEvent: presence\r\nAccept: multipart\/related, application\/rlmi\+xml, application\/pidf\+xml\r\nSupported: eventlist\r\nExpires: 600\r\nContact: /,
    );
    await accept(h.peer, sub, { headers: [['Require', 'eventlist']] });
    for (const n of [1, 2]) {
      const contentType = fixtureFileText('rlmi', `kamailio-notify-${n}.content-type`).trim();
      const body = fixtureFile('rlmi', `kamailio-notify-${n}.multipart`);
      assert.equal((await notify(h, sub, { cseq: n, contentType, body, headers: [['Require', 'eventlist']] })).message.status, 200);
    }
    const messages = await takeMessages(h.queue, 4);
    assert.deepEqual(
      messages.map((m) => `${m.record} ${m.list} ${m.state} ${presenceOf(m)?.tuples[0]?.basic ?? '-'}`),
      [
        'sip:alice@example.com sip:friends@example.com pending -',
        'sip:carol@example.com sip:friends@example.com pending -',
        'sip:alice@example.com sip:friends@example.com active open',
        'sip:carol@example.com sip:friends@example.com active closed',
      ],
    );
    h.clock.advance(570_000);
    const refresh = await expectSubscribe(h.peer);
    assert.equal(header(refresh, 'Supported'), 'eventlist');
    assert.equal(header(refresh, 'Accept'), 'multipart/related, application/rlmi+xml, application/pidf+xml');
    await accept(h.peer, refresh);
  } finally {
    await h.close();
  }
});
