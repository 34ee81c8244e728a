/**
 * Targets that misbehave on purpose, for the tests of the fuzzing engine:
 * one throws an uncoded error, one loops forever, one throws only the
 * documented error.
 */
import { Buffer } from 'node:buffer';
import type { FuzzTarget } from '../../../../fuzz/engine/target.js';
import { PresenceB2BError } from '../../../../src/util/errors.js';

const text = (input: Uint8Array): string => Buffer.from(input).toString('latin1');

const base = {
  extension: 'txt',
  maxInputBytes: 256,
  dictionary: ['boom', 'spin', 'fine'],
};

export const crashing: FuzzTarget = {
  ...base,
  name: 'test-crashing',
  description: 'throws a TypeError on inputs holding "boom", a coded error on the others',
  seeds: () => [Buffer.from('fine'), Buffer.from('a boom here')],
  run(input) {
    if (text(input).includes('boom')) throw new TypeError('boom');
    throw new PresenceB2BError('QSA_ERR_INVALID_ARGUMENT', 'refused');
  },
};

export const hanging: FuzzTarget = {
  ...base,
  name: 'test-hanging',
  description: 'loops forever on inputs holding "spin"',
  seeds: () => [Buffer.from('fine'), Buffer.from('spin')],
  run(input) {
    if (text(input).includes('spin')) for (;;);
  },
};

export const wellBehaved: FuzzTarget = {
  ...base,
  name: 'test-well-behaved',
  description: 'returns, or throws the documented error',
  seeds: () => [Buffer.from('fine'), Buffer.from('boom')],
  generate: (seed, count) => Array.from({ length: count }, (_, i) => Buffer.from(`generated ${seed} ${i}`)),
  run(input) {
    if (input.length % 2 === 1) throw new PresenceB2BError('QSA_ERR_INVALID_ARGUMENT', 'odd length');
  },
};

export default [crashing, hanging, wellBehaved];
