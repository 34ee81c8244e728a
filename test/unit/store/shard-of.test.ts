/**
 * Shards of a cluster (issue 16): every node must compute the same shard for
 * the same subscription identity, and the shards must be filled evenly
 * enough that an even count of shards per node means an even load.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_SHARDS, identityHash, shardOf, shardOfDialogKey } from '../../../src/store/shard-of.js';
import { dialogIdentity } from '../../../src/store/stored-dialog.js';

test('the hash is fixed: these values are part of every stored shard column', () => {
  // Changing them would put existing rows in the wrong shard (shard columns, lease ownership).
  assert.equal(identityHash(''), 2872998923);
  assert.equal(identityHash('a'), 444641715);
  assert.equal(identityHash('presence\nsip:alice@example.com\nsip:bob@example.com'), 187016839);
  assert.equal(shardOf('presence', 'sip:alice@example.com', 'sip:bob@example.com', DEFAULT_SHARDS), 647);
});

test('shardOf is in [0, shards) and depends on package, record and subscriber', () => {
  for (const shards of [1, 2, 7, 1024, 65536]) {
    for (let i = 0; i < 200; i++) {
      const s = shardOf('presence', `sip:u${i}@example.com`, 'sip:w@example.com', shards);
      assert.ok(Number.isInteger(s) && s >= 0 && s < shards);
    }
  }
  const base = shardOf('presence', 'sip:a@example.com', 'sip:b@example.com', 65536);
  assert.notEqual(shardOf('reg', 'sip:a@example.com', 'sip:b@example.com', 65536), base);
  assert.notEqual(shardOf('presence', 'sip:b@example.com', 'sip:a@example.com', 65536), base);
});

test('a dialog key gives the shard of its identity, with or without an engine discriminator', () => {
  for (let i = 0; i < 100; i++) {
    const key = dialogIdentity('presence', `sip:u${i}@example.com`, 'sip:w@example.com');
    const shard = shardOf('presence', `sip:u${i}@example.com`, 'sip:w@example.com', 1024);
    assert.equal(shardOfDialogKey(key, 1024), shard);
    assert.equal(shardOfDialogKey(`${key}\n#${i}`, 1024), shard);
  }
});

test('100,000 identities fill 1,024 shards as evenly as a uniform random choice would', () => {
  const counts = new Array<number>(1024).fill(0);
  for (let i = 0; i < 100_000; i++) counts[shardOf('presence', `sip:user${i}@example.com`, `sip:watcher${i % 97}@example.com`, 1024)]!++;
  const mean = 100_000 / 1024;
  const deviation = Math.sqrt(counts.reduce((sum, c) => sum + (c - mean) ** 2, 0) / counts.length);
  // Uniform and independent: a binomial spread, standard deviation about sqrt(mean) (9.9 here).
  assert.ok(deviation < Math.sqrt(mean) * 1.1, `standard deviation ${deviation.toFixed(2)}`);
  assert.ok(Math.min(...counts) > mean * 0.5 && Math.max(...counts) < mean * 1.5, `min ${Math.min(...counts)}, max ${Math.max(...counts)}`);
});
