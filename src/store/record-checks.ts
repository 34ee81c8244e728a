import { StoreError } from './store-error.js';

/** A lone UTF-16 surrogate: not a character, it cannot be written as UTF-8. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Text every store keeps exactly: PostgreSQL's TEXT holds no U+0000, and a
 * lone surrogate would come back as U+FFFD from any UTF-8 database. Refused
 * by every store alike, so that the contract does not depend on the engine.
 */
function checkStorable(value: string, field: string): string {
  if (value.includes('\u0000')) throw new StoreError('STORE_ERR_INVALID', `${field} must not contain U+0000`);
  if (LONE_SURROGATE.test(value)) throw new StoreError('STORE_ERR_INVALID', `${field} must be well-formed Unicode (a lone surrogate)`);
  return value;
}

/** A non-empty string, or STORE_ERR_INVALID naming the field. */
export function checkText(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') throw new StoreError('STORE_ERR_INVALID', `${field} must be a non-empty string`);
  return checkStorable(value, field);
}

/** A string, possibly empty (a Contact may not be, but a route may be absent). */
export function checkString(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new StoreError('STORE_ERR_INVALID', `${field} must be a string`);
  return checkStorable(value, field);
}

/**
 * A whole number in [0, 2^53): ids, CSeq numbers and millisecond times all fit
 * exactly in a double and in a SQL BIGINT.
 */
export function checkCount(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new StoreError('STORE_ERR_INVALID', `${field} must be a whole number ≥ 0, not ${String(value)}`);
  }
  return value;
}
