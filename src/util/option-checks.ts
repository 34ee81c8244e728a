import { isIP } from 'node:net';

/**
 * Checks of single option values, shared by createPresenceB2B (which throws
 * InvalidOptionError) and the daemon's configuration schema (which reports a
 * ConfigError): each returns what is wrong, worded "expected …, got …", or
 * undefined when the value is fine.
 */

/** RFC 3261 §25.1 delta-seconds: values up to 2^32 − 1 are meaningful. */
export const MAX_DELTA_SECONDS = 4_294_967_295;

/** A value as shown in an error message: strings quoted, the rest by kind. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint' || value === null) return String(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'a list';
  return 'an object';
}

export function wholeNumberProblem(value: unknown, min: number, max: number): string | undefined {
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return undefined;
  const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`;
  return `expected a whole number ${range}, got ${describeValue(value)}`;
}

export function booleanProblem(value: unknown): string | undefined {
  return typeof value === 'boolean' ? undefined : `expected true or false, got ${describeValue(value)}`;
}

export function functionProblem(value: unknown, what = 'a function'): string | undefined {
  return typeof value === 'function' ? undefined : `expected ${what}, got ${describeValue(value)}`;
}

/** An object with the named methods (duck-typed: clocks, random sources, DNS clients, brokers). */
export function objectWithMethodsProblem(value: unknown, what: string, methods: readonly string[]): string | undefined {
  if (typeof value !== 'object' || value === null) return `expected ${what}, got ${describeValue(value)}`;
  const missing = methods.filter((m) => typeof (value as Record<string, unknown>)[m] !== 'function');
  return missing.length === 0 ? undefined : `expected ${what} (with ${missing.join(', ')}), got an object without`;
}

/** Index of the first control character (C0 other than HTAB, or DEL), or -1. */
export function controlCharacterIndex(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return i;
  }
  return -1;
}

/**
 * A string that goes into a header value as it is (User-Agent, the Contact's
 * user part): one line, no control characters, so that it cannot end the
 * header and start another.
 */
export function headerTextProblem(value: unknown, options: { nonEmpty?: boolean } = {}): string | undefined {
  if (typeof value !== 'string') return `expected a string, got ${describeValue(value)}`;
  if (options.nonEmpty === true && value.trim() === '') return `expected a non-empty string, got ${describeValue(value)}`;
  const at = controlCharacterIndex(value);
  if (at >= 0) return `expected text without line breaks or control characters, got ${describeValue(value)} (character ${at + 1})`;
  return undefined;
}

const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?';
const HOSTNAME = new RegExp(`^${LABEL}(?:\\.${LABEL})*\\.?$`);

/**
 * A host name (RFC 1123 labels, `_` tolerated), an IPv4 address or an IPv6
 * address (bare or in brackets): what may be bound to, or written as the host
 * of a Via or a Contact (RFC 3261 §25.1 `host`).
 */
export function hostProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '') return `expected a host name or IP address, got ${describeValue(value)}`;
  const bare = value.startsWith('[') && value.endsWith(']') ? value.slice(1, -1) : value;
  if (isIP(bare) !== 0) return undefined;
  if (bare === value && value.length <= 253 && HOSTNAME.test(value)) return undefined;
  return `expected a host name or IP address, got ${describeValue(value)}`;
}

/** A literal IPv4 or IPv6 address (static host table entries: no name may point at a name). */
export function ipAddressProblem(value: unknown): string | undefined {
  if (typeof value === 'string' && isIP(value) !== 0) return undefined;
  return `expected an IPv4 or IPv6 address, got ${describeValue(value)}`;
}
