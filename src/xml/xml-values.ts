/**
 * Readers for the simple attribute values of the SIP event documents
 * (XML Schema Part 2 lexical forms, without leading or trailing white space,
 * which XML Schema collapses for these types).
 */

/** True if `value` is a qvalue (RFC 3261 §25.1: "0" ["." 0*3DIGIT] / "1" ["." 0*3("0")]). */
export function isQValue(value: string): boolean {
  const n = value.length;
  if (n === 0 || n > 5) return false;
  const first = value.charCodeAt(0);
  if (first !== 0x30 && first !== 0x31) return false;
  if (n === 1) return true;
  if (value.charCodeAt(1) !== 0x2e) return false;
  for (let i = 2; i < n; i++) {
    const c = value.charCodeAt(i);
    if (first === 0x31 ? c !== 0x30 : c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/**
 * The number a qvalue stands for (RFC 3261 §25.1), or undefined when `value`
 * is not one (isQValue): the same number as `Number(value)`, without the
 * general string-to-number conversion (issue 11: a contact priority per NOTIFY).
 * Exact: thousandths / 1000 is the double nearest the decimal, as Number() gives.
 */
export function qValueOf(value: string): number | undefined {
  if (!isQValue(value)) return undefined;
  if (value.charCodeAt(0) === 0x31) return 1;
  let thousandths = 0;
  for (let i = 2, scale = 100; i < value.length; i++, scale /= 10) thousandths += (value.charCodeAt(i) - 0x30) * scale;
  return thousandths / 1000;
}

/**
 * xs:nonNegativeInteger / xs:unsignedInt as a number: digits only (a leading
 * "+" is allowed by XML Schema and accepted), at most `max`. Anything else,
 * an empty string included, gives undefined.
 */
export function parseNonNegativeInteger(value: string, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const text = value.trim();
  let i = text.charCodeAt(0) === 0x2b ? 1 : 0;
  if (i >= text.length) return undefined;
  let result = 0;
  for (; i < text.length; i++) {
    const d = text.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return undefined;
    result = result * 10 + d;
    if (result > max) return undefined;
  }
  return result;
}

/** xs:boolean: "true", "false", "1", "0"; anything else gives undefined. */
export function parseXmlBoolean(value: string): boolean | undefined {
  switch (value.trim()) {
    case 'true':
    case '1':
      return true;
    case 'false':
    case '0':
      return false;
    default:
      return undefined;
  }
}

/**
 * One of `allowed`, compared without regard to ASCII case and surrounding
 * white space (Kamailio 5.6 writes the dialog state `Trying` where RFC 4235
 * has `trying`); undefined when absent or not one of them.
 */
export function parseXmlEnum<T extends string>(value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  const wanted = value.trim();
  for (const candidate of allowed) if (candidate === wanted) return candidate;
  const lower = wanted.toLowerCase();
  for (const candidate of allowed) if (candidate === lower) return candidate;
  return undefined;
}
