/**
 * Routing of our SUBSCRIBEs (RFC 3261 §8.1.2, §12.2.1.1) and the fork a
 * dialog follows (RFC 6665 §4.1.2.4), on the wire: issue 9's routing defects,
 * each failed before its fix.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ScriptedSipPeer } from '../../support/scripted-peer.js';
import { expectNothing, expectSubscribe, header, headerValues, notify, startHarness, takeMessage, toTagOf } from './harness.js';

test('defect: presence_route without <> or without ;lr: the SUBSCRIBE really goes to the first route (RFC 3261 §12.2.1.1 for a strict router)', async () => {
  const cases = [
    { route: (proxy: string) => `${proxy};lr`, strict: false },
    { route: (proxy: string) => `<${proxy};lr>`, strict: false },
    { route: (proxy: string) => proxy, strict: true },
    { route: (proxy: string) => `<${proxy}>`, strict: true },
  ];
  for (const c of cases) {
    const proxy = await ScriptedSipPeer.start();
    const proxyUri = `sip:127.0.0.1:${proxy.address.port}`;
    const route = c.route(proxyUri);
    const h = await startHarness({ presenceRoute: route });
    try {
      h.subscribe();
      const sub = await proxy.expectRequest({ method: 'SUBSCRIBE' });
      if (c.strict) {
        // A strict router: Request-URI = the route, the remote target (the record) as the last Route.
        assert.equal(sub.message.uri, proxyUri, `${route}: Request-URI = the strict router`);
        assert.deepEqual(headerValues(sub, 'Route'), [`<${h.record()}>`], `${route}: the remote target as the last Route`);
      } else {
        assert.equal(sub.message.uri, h.record(), `${route}: Request-URI = the record`);
        assert.deepEqual(headerValues(sub, 'Route'), [`<${proxyUri};lr>`], `${route}: Route`);
      }
      assert.equal(header(sub, 'To'), `<${h.record()}>`);
      await expectNothing(h, proxy);
    } finally {
      await h.close();
      await proxy.close();
    }
  }
});

test('defect: remote tag and remote target come from the same fork (NOTIFY of fork A first, then the 2xx of fork B)', async () => {
  const h = await startHarness();
  try {
    h.subscribe();
    const sub = await expectSubscribe(h.peer);
    await h.peer.sendNotify(
      { address: '127.0.0.1', port: h.ourPort },
      { ...h.peer.notifyOptionsFor(sub, 'forkA'), cseq: 1, contact: `<${h.peer.uri('forkA')}>` },
    );
    assert.equal((await h.peer.expectResponse({ method: 'NOTIFY' })).message.status, 200);
    assert.equal((await takeMessage(h.queue)).state, 'active');
    await h.peer.reply(sub, 200, { toTag: 'forkB', headers: [['Expires', '600'], ['Contact', `<${h.peer.uri('forkB')}>`]] });
    await expectNothing(h);
    h.clock.advance(570_000);
    const refresh = await expectSubscribe(h.peer);
    assert.equal(toTagOf(refresh), 'forkA');
    assert.equal(refresh.message.uri, h.peer.uri('forkA'));
  } finally {
    await h.close();
  }
});

test('defect: the fork check also holds the other way (2xx of fork A, NOTIFY of fork B refused 481, target of A kept)', async () => {
  const h = await startHarness();
  try {
    h.subscribe();
    const sub = await expectSubscribe(h.peer);
    await h.peer.reply(sub, 200, { toTag: 'forkA', headers: [['Expires', '600'], ['Contact', `<${h.peer.uri('forkA')}>`]] });
    await h.peer.sendNotify(
      { address: '127.0.0.1', port: h.ourPort },
      { ...h.peer.notifyOptionsFor(sub, 'forkB'), cseq: 1, contact: `<${h.peer.uri('forkB')}>` },
    );
    assert.equal((await h.peer.expectResponse({ method: 'NOTIFY' })).message.status, 481);
    assert.equal((await notify(h, sub, { cseq: 1, serverTag: 'forkA', contact: `<${h.peer.uri('forkA')}>` })).message.status, 200);
    assert.equal((await takeMessage(h.queue)).state, 'active');
    h.clock.advance(570_000);
    const refresh = await expectSubscribe(h.peer);
    assert.equal(toTagOf(refresh), 'forkA');
    assert.equal(refresh.message.uri, h.peer.uri('forkA'));
  } finally {
    await h.close();
  }
});
