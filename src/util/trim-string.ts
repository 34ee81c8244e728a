/**
 * `value.trim()`, without the call into String.prototype.trim when neither
 * end can be white space: most values a NOTIFY brings (PIDF text, namespace
 * URIs, content types) have nothing to cut, and the call cost about 180
 * instructions each (issue 11). Every character trim() removes (ECMAScript
 * WhiteSpace and LineTerminator, §12.2 and §12.3) is at or below U+0020 or at
 * or above U+00A0, so ends strictly between the two are kept as they are.
 */
export function trimString(value: string): string {
  const n = value.length;
  if (n === 0) return value;
  const first = value.charCodeAt(0);
  const last = value.charCodeAt(n - 1);
  if (first > 0x20 && first < 0xa0 && last > 0x20 && last < 0xa0) return value;
  return value.trim();
}
