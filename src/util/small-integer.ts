/**
 * `n` as V8's small integer when it is a whole number in the 32-bit range, else `n` itself.
 *
 * Why (issue 11): a number computed in double arithmetic (e.g. `Date.now() - epoch`, both
 * beyond 2^31) is a heap number even when it is whole, and a field that once received one
 * holds every value of that field in a 16-byte box of its own, one more object per record
 * for the garbage collector to mark. `n | 0` gives the same value as a small integer, kept in
 * the field itself. Values outside the range are returned as they are: one such value written
 * to a field makes V8 box that field in every object of its shape again, as before; a field
 * that must never be boxed keeps its value in parts instead (KeptStatus.time and timeHigh).
 */
export function asSmallInteger(n: number): number {
  return Number.isInteger(n) && n >= -0x80000000 && n <= 0x7fffffff ? n | 0 : n;
}
