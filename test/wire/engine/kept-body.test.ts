/**
 * Issue 11: a held subscription's last status body is kept in the broker's
 * store of kept bodies (shared slabs outside the malloc heap), one slot for
 * the broker's last status and the engine's kept update, copied out on read.
 * On the wire: whatever was replaced, the last status read afterwards is the
 * last NOTIFY's body byte for byte, and an ended subscription leaves nothing
 * in the store.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { presenceOf } from '../../../src/presence/index.js';
import { establish, expectSubscribe, header, notify, startHarness, takeMessage, waitForState } from './harness.js';

const endOfTask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A PIDF whose length and note change with `i` (bodies of many sizes, hence several slot sizes). */
function pidf(i: number): Uint8Array {
  return new TextEncoder().encode(
    `<?xml version="1.0" encoding="UTF-8"?>\n<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"><tuple id="t${i}"><status><basic>${i % 2 === 0 ? 'open' : 'closed'}</basic></status><note>${'n'.repeat(i * 37)}-${i}</note></tuple></presence>\n`,
  );
}

test('the last status after 40 replacements is the last NOTIFY body byte for byte; one kept slot for broker and engine; none once ended', async () => {
  const h = await startHarness();
  try {
    const { handle, subscribe } = await establish(h);
    const store = h.b2b.qsa.keptBodies;
    let last = pidf(0);
    for (let i = 1; i <= 40; i++) {
      last = pidf(i);
      assert.equal((await notify(h, subscribe, { cseq: 1 + i, body: last })).message.status, 200);
      const message = await takeMessage(h.queue);
      assert.deepEqual(message.body, last);
      await endOfTask();
      assert.equal(store.stats().bodies, 1, `after NOTIFY ${i}: one body kept, shared by the broker's last status and the engine's kept update`);
    }
    const lastStatus = handle.lastStatus!;
    assert.deepEqual(lastStatus.body, last, 'byte-identical to the last NOTIFY body');
    assert.equal(presenceOf(lastStatus)?.tuples[0]?.id, 't40');
    // The engine's kept update (as a dialog snapshot shows it): the same bytes, each read a copy of the
    // reader's own, so that changing one changes nothing kept.
    const engineBody = h.b2b.engine.list()[0]!.lastStatus!.body!;
    assert.deepEqual(engineBody, last);
    engineBody.fill(0);
    assert.deepEqual(h.b2b.engine.list()[0]!.lastStatus!.body, last);
    assert.notEqual(lastStatus.body, engineBody);

    h.b2b.qsa.unsubscribe(handle);
    assert.deepEqual(handle.lastStatus!.body, last, 'readable after unsubscribe');
    const unsub = await expectSubscribe(h.peer);
    assert.equal(header(unsub, 'Expires'), '0');
    await h.peer.reply(unsub, 200, { headers: [['Expires', '0']] });
    assert.ok(await waitForState(h, handle, 'terminating'));
    assert.equal((await notify(h, subscribe, { cseq: 50, subscriptionState: 'terminated;reason=timeout', body: '' })).message.status, 200);
    assert.equal(h.b2b.engine.size, 0);
    assert.equal(store.stats().bodies, 0, 'nothing left in the store');
    assert.deepEqual(handle.lastStatus!.body, last, 'the ended handle still reads its last body');
  } finally {
    await h.close();
  }
});
