/**
 * Structure-aware mutation of JSON inputs (configuration objects, HTTP
 * requests): octet edits mostly break the JSON syntax, which the target
 * then never gets past, so the tree is mutated instead: values replaced by
 * values of another type or at the edge of a range, keys added from a
 * dictionary, removed or renamed, nodes wrapped or duplicated, strings
 * edited with the byte mutator.
 */
import { Buffer } from 'node:buffer';
import { type MutationContext, mutateBytes } from './mutator.js';
import type { FuzzRng } from './rng.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface JsonMutationOptions {
  /** Keys worth adding (schema keys, header names). */
  keys: readonly string[];
  /** String values worth trying (enum members, URIs, tokens). */
  strings: readonly string[];
  /** Octet-level context for editing strings. */
  bytes: MutationContext;
}

const NUMBERS = [0, 1, -1, 0.5, -0.5, 2 ** 31, 2 ** 31 - 1, 2 ** 32, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e308, -1e308, 5e-324, 65535, 65536, 600000, 1e6];

/** Decodes, mutates and re-encodes; undefined if the input is not JSON (the byte mutator then takes over). */
export function mutateJsonText(input: Uint8Array, options: JsonMutationOptions): Uint8Array | undefined {
  let value: Json;
  try {
    value = JSON.parse(Buffer.from(input).toString('utf8')) as Json;
  } catch {
    return undefined;
  }
  const count = options.bytes.rng.geometric(6);
  for (let i = 0; i < count; i++) value = mutateJson(value, options);
  return Buffer.from(JSON.stringify(value), 'utf8');
}

export function mutateJson(root: Json, options: JsonMutationOptions): Json {
  const { rng } = options.bytes;
  const slots = collect(root, 4000);
  const slot = rng.pick(slots);
  const next = mutateNode(slot.get(), options);
  if (slot.parent === undefined) return next;
  slot.set(next);
  return root;
}

interface Slot {
  parent: Json[] | { [key: string]: Json } | undefined;
  get(): Json;
  set(value: Json): void;
}

/** Every node with a way to replace it, breadth-first, at most `limit`. */
function collect(root: Json, limit: number): Slot[] {
  let current = root;
  const slots: Slot[] = [{ parent: undefined, get: () => current, set: (v) => (current = v) }];
  for (let i = 0; i < slots.length && slots.length < limit; i++) {
    const node = slots[i]!.get();
    if (Array.isArray(node)) {
      for (let k = 0; k < node.length; k++) slots.push({ parent: node, get: () => node[k]!, set: (v) => (node[k] = v) });
    } else if (node !== null && typeof node === 'object') {
      for (const key of Object.keys(node)) slots.push({ parent: node, get: () => node[key]!, set: (v) => setKey(node, key, v) });
    }
  }
  return slots;
}

function mutateNode(node: Json, options: JsonMutationOptions): Json {
  const { rng } = options.bytes;
  if (typeof node === 'string' && rng.chance(0.5)) {
    return Buffer.from(mutateBytes(Buffer.from(node, 'utf8'), { ...options.bytes, maxBytes: 4096 })).toString('utf8');
  }
  if (typeof node === 'number' && rng.chance(0.5)) return rng.chance(0.5) ? rng.pick(NUMBERS) : node + rng.between(-2, 2);
  if (Array.isArray(node) && node.length > 0 && rng.chance(0.5)) {
    const i = rng.below(node.length);
    if (rng.chance(0.5)) node.splice(i, 1);
    else node.splice(i, 0, structuredClone(node[i]!));
    return node;
  }
  if (node !== null && typeof node === 'object' && !Array.isArray(node) && rng.chance(0.6)) {
    const keys = Object.keys(node);
    const choice = rng.below(3);
    if (choice === 0 && keys.length > 0) {
      delete node[rng.pick(keys)];
    } else if (choice === 1 && keys.length > 0) {
      const key = rng.pick(keys);
      const value = node[key]!;
      delete node[key];
      setKey(node, rng.pick(options.keys), value);
    } else {
      setKey(node, rng.chance(0.9) ? rng.pick(options.keys) : randomKey(rng), randomValue(options, 2));
    }
    return node;
  }
  switch (rng.below(4)) {
    case 0:
      return [node];
    case 1:
      return setKey({}, rng.pick(options.keys), node);
    default:
      return randomValue(options, 2);
  }
}

/** Sets an own property, `__proto__` included (an assignment would change the prototype instead). */
function setKey(target: { [key: string]: Json }, key: string, value: Json): { [key: string]: Json } {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  return target;
}

function randomKey(rng: FuzzRng): string {
  return rng.pick(['', ' ', '__proto__', 'constructor', 'prototype', 'toString', '0', '-1', 'a.b', 'A', '\u00e9', 'x'.repeat(300)]);
}

export function randomValue(options: JsonMutationOptions, depth: number): Json {
  const { rng } = options.bytes;
  switch (rng.below(depth > 0 ? 9 : 7)) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return rng.pick(NUMBERS);
    case 3:
      return rng.between(-3, 70000);
    case 4:
    case 5:
      return rng.pick(options.strings);
    case 6:
      return rng.pick(['', ' ', '0', '1', 'true', 'null', '\u0000', 'x'.repeat(rng.between(1, 2000)), String(rng.next32())]);
    case 7: {
      const out: Json[] = [];
      const n = rng.below(4);
      for (let i = 0; i < n; i++) out.push(randomValue(options, depth - 1));
      return out;
    }
    default: {
      const out: { [key: string]: Json } = {};
      const n = rng.below(4);
      for (let i = 0; i < n; i++) setKey(out, rng.pick(options.keys), randomValue(options, depth - 1));
      return out;
    }
  }
}
