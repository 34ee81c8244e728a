import { StoreError } from './store-error.js';

/** A non-empty string, or STORE_ERR_INVALID naming the field. */
export function checkText(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') throw new StoreError('STORE_ERR_INVALID', `${field} must be a non-empty string`);
  return value;
}

/** A string, possibly empty (a Contact may not be, but a route may be absent). */
export function checkString(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new StoreError('STORE_ERR_INVALID', `${field} must be a string`);
  return value;
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
