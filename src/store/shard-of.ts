/**
 * Which shard a subscription belongs to in a cluster (issue 16): a hash of
 * (package, record, subscriber) modulo the shard count, 1024 by default.
 * Every node computes the same number for the same identity, and so does the
 * store for its `shard` columns; the identity is the engine's dialog
 * identity, so identical subscriptions (one shared dialog) always land in the
 * same shard, on the same node.
 *
 * The hash is 32-bit FNV-1a over the UTF-8 bytes of the identity, finished by
 * MurmurHash3's fmix32 avalanche so that the low bits (what `mod` keeps) depend
 * on every input byte. It is part of the stored data: changing it (or the
 * shard count) needs every `shard` column recomputed.
 */

import { dialogIdentity } from './stored-dialog.js';

/** The default number of shards of a cluster. */
export const DEFAULT_SHARDS = 1024;

const encoder = new TextEncoder();

/** 32-bit FNV-1a of `text`'s UTF-8 bytes, avalanched (fmix32). */
export function identityHash(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of encoder.encode(text)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The shard of a subscription identity, in [0, shards). */
export function shardOf(pkg: string, record: string, subscriber: string, shards: number): number {
  return identityHash(dialogIdentity(pkg, record, subscriber)) % shards;
}

/**
 * The shard of a stored dialog, from its key: `dialogIdentity(package,
 * record, subscriber)`, possibly followed by `\n` and a discriminator of the
 * engine's (unshared dialogs): only the first three lines count.
 */
export function shardOfDialogKey(key: string, shards: number): number {
  const first = key.indexOf('\n');
  const second = first < 0 ? -1 : key.indexOf('\n', first + 1);
  const third = second < 0 ? -1 : key.indexOf('\n', second + 1);
  return identityHash(third < 0 ? key : key.slice(0, third)) % shards;
}
