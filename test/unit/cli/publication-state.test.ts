import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { defaultPublicationStatePath, PublicationStateFile, publicationKey } from '../../../src/cli/publication-state.js';

const dir = mkdtempSync(join(tmpdir(), 'pb2b-pubstate-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('PublicationStateFile', () => {
  test('default path: $XDG_STATE_HOME when absolute, else ~/.local/state', () => {
    assert.equal(defaultPublicationStatePath({ XDG_STATE_HOME: '/var/lib/x' }, '/home/u'), '/var/lib/x/presence-b2b/publications.json');
    assert.equal(defaultPublicationStatePath({ XDG_STATE_HOME: 'relative' }, '/home/u'), '/home/u/.local/state/presence-b2b/publications.json');
    assert.equal(defaultPublicationStatePath({}, '/home/u'), '/home/u/.local/state/presence-b2b/publications.json');
  });

  test('the key names record, publisher and target', () => {
    assert.notEqual(publicationKey('sip:a@x', 'sip:a@x', 'sip:p1'), publicationKey('sip:a@x', 'sip:a@x', 'sip:p2'));
    assert.notEqual(publicationKey('sip:a@x', 'sip:a@x', undefined), publicationKey('sip:a@x', 'sip:b@x', undefined));
  });

  test('remembered tags come back until they expire; saved files hold only live ones; directories are created', () => {
    const path = join(dir, 'nested', 'deeper', 'state.json');
    const state = PublicationStateFile.read(path);
    assert.equal(state.etagOf('k', 0), undefined);
    state.remember('k', 'e1', 10_000);
    state.remember('old', 'e0', 500);
    state.save(1000);
    const again = PublicationStateFile.read(path);
    assert.equal(again.etagOf('k', 9_999), 'e1');
    assert.equal(again.etagOf('k', 10_000), undefined, 'expired at the server: not sent');
    assert.equal(again.etagOf('old', 0), undefined, 'an entry dead when saved is not written');
    again.forget('k');
    again.save(1000);
    assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), { publications: {} });
    assert.deepEqual(readdirSync(join(dir, 'nested', 'deeper')), ['state.json'], 'no temporary file left behind');
  });

  test('bad input is an empty state: garbage, wrong shapes, bad entries', () => {
    const path = join(dir, 'bad.json');
    for (const text of ['{oops', '[]', '{"publications": 3}', '{"publications": {"a": {"etag": 1, "expiresAt": 5}, "b": {"etag": "", "expiresAt": 5}, "c": null}}']) {
      writeFileSync(path, text);
      const state = PublicationStateFile.read(path);
      for (const key of ['a', 'b', 'c']) assert.equal(state.etagOf(key, 0), undefined, text);
    }
    writeFileSync(path, '{"publications": {"ok": {"etag": "t", "expiresAt": 5}, "bad": {"etag": "u"}}}');
    assert.equal(PublicationStateFile.read(path).etagOf('ok', 0), 't');
  });
});
