/**
 * The third-party peers are up and reachable from the tests: OPTIONS to
 * Kamailio and baresip answered 200, a SIPp PUBLISH accepted by Kamailio,
 * baresip's control socket accepting commands, Kamailio restartable.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  baresipAddress,
  baresipCommand,
  kamailioAddress,
  kamailioAuthAddress,
  restartKamailio,
  sendOptions,
  sippPublish,
} from '../support/peers.js';

describe('interop peers', () => {
  it('Kamailio presence server answers OPTIONS with 200', async () => {
    const answer = await sendOptions(kamailioAddress());
    assert.equal(answer.status, 200, answer.raw);
  });

  it('Kamailio auth profile answers OPTIONS with 200', async () => {
    const answer = await sendOptions(kamailioAuthAddress());
    assert.equal(answer.status, 200, answer.raw);
  });

  it('baresip answers OPTIONS for carol with 200', async () => {
    const answer = await sendOptions(baresipAddress(), 'carol');
    assert.equal(answer.status, 200, answer.raw);
  });

  it('a SIPp PUBLISH is accepted by Kamailio with a SIP-ETag', async () => {
    const published = await sippPublish({ user: 'alice', basic: 'open', note: 'smoke', expires: 60 });
    assert.match(published.etag, /^\S+$/);
    assert.ok(published.expires > 0 && published.expires <= 60, `granted ${published.expires}`);
  });

  it('baresip takes presence commands on its control socket', async () => {
    const answer = await baresipCommand('presence_online');
    assert.equal(answer.ok, true, answer.raw);
  });

  it('restartKamailio() brings Kamailio back on the same address with a new pid', async () => {
    const pid = await restartKamailio();
    assert.ok(Number.isInteger(pid) && pid > 0);
    const answer = await sendOptions(kamailioAddress());
    assert.equal(answer.status, 200, answer.raw);
  });
});
