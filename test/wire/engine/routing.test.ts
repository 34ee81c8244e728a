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

test('presence_outbound_proxy carries in-dialog SUBSCRIBEs too, in front of the route set (unless that starts at the proxy)', async () => {
  const proxy = await ScriptedSipPeer.start();
  const other = await ScriptedSipPeer.start();
  const proxyUri = `sip:127.0.0.1:${proxy.address.port}`;
  const otherRoute = `<sip:127.0.0.1:${other.address.port};lr>`;
  const h = await startHarness({ presenceOutboundProxy: proxyUri });
  try {
    const cases = [
      { user: 'alice', recordRoute: undefined, route: [] as string[] },
      { user: 'carol', recordRoute: otherRoute, route: [otherRoute] },
      { user: 'dave', recordRoute: `<${proxyUri};lr>`, route: [`<${proxyUri};lr>`] },
    ];
    for (const c of cases) {
      h.subscribe(h.record(c.user));
      const first = await proxy.expectRequest({ method: 'SUBSCRIBE' });
      assert.equal(first.message.uri, h.record(c.user));
      const headers: Array<readonly [string, string]> = [['Expires', '600'], ['Contact', `<${h.peer.uri('ps')}>`]];
      if (c.recordRoute !== undefined) headers.push(['Record-Route', c.recordRoute]);
      await proxy.reply(first, 200, { toTag: c.user, headers });
      await notify(h, first, { cseq: 1, serverTag: c.user });
      assert.equal((await takeMessage(h.queue)).state, 'active');
    }
    h.clock.advance(570_000);
    const refreshes = await Promise.all(cases.map(() => proxy.expectRequest({ method: 'SUBSCRIBE' })));
    for (const c of cases) {
      const refresh = refreshes.find((r) => toTagOf(r) === c.user);
      assert.ok(refresh !== undefined, `${c.user}: the refresh goes to the outbound proxy`);
      assert.equal(refresh.message.uri, h.peer.uri('ps'), `${c.user}: Request-URI = the remote target`);
      assert.equal(header(refresh, 'CSeq'), '2 SUBSCRIBE');
      assert.deepEqual(headerValues(refresh, 'Route'), c.route, `${c.user}: Route`);
    }
    await expectNothing(h, proxy, other);
  } finally {
    await h.close();
    await proxy.close();
    await other.close();
  }
});
