/**
 * Returns a string with its own storage. V8 represents `slice()`/`substring()`
 * results of 13 characters or more as views into the parent string, so a tag
 * or URI kept from a received packet would keep the whole packet alive for
 * the life of the subscription (≈1 KB per subscription, docs/benchmark-method.md §6.6).
 */
export function ownString(value: string): string {
  if (value.length < 13) return value;
  // The concatenation is a rope; slicing it flattens it into a fresh string
  // that shares nothing with `value` (5–8 % cheaper per NOTIFY than a Buffer round trip).
  return (' ' + value).slice(1);
}

/**
 * A flat copy of `value` with its own storage, without the slice ownString
 * makes (a sliced string is 24 B more than a flat one, and its parent holds a
 * character more): for strings kept per subscription and made once, not per
 * message (issue 11). Array join builds one sequential string.
 */
export function flatString(value: string): string {
  if (value.length < 13) return value;
  return [value.slice(0, 1), value.slice(1)].join('');
}

/**
 * The internalized string equal to `value` (V8 internalizes property-key
 * strings): comparing two internalized strings (`===`), a string literal
 * included, is a pointer comparison, where a string made at run time is
 * compared character by character. For strings made once and compared often.
 */
export function internalize(value: string): string {
  const holder: Record<string, true> = {};
  holder[value] = true;
  return Object.keys(holder)[0] ?? value;
}
