/** Helpers for comma-separated list headers (RFC 3261 §7.3.1). */
import { DQUOTE, BACKSLASH, COMMA, LAQUOT, RAQUOT } from './syntax.js';

/** The first element of a list header value: up to the first comma outside quotes and <…>. */
export function firstListElement(value: string): string {
  let inQuotes = false;
  let inAngle = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (inQuotes) {
      if (c === BACKSLASH) i++;
      else if (c === DQUOTE) inQuotes = false;
    } else if (c === DQUOTE) inQuotes = true;
    else if (c === LAQUOT) inAngle = true;
    else if (c === RAQUOT) inAngle = false;
    else if (c === COMMA && !inAngle) return value.slice(0, i);
  }
  return value;
}
