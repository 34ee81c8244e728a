/** Whether a To value already carries a tag (RFC 3261 §8.2.6.2): createResponse adds ours only when not. */
import { parseNameAddr } from './name-addr.js';
import { skipWs } from './syntax.js';

/** True when the To value has a tag parameter (also for an unparseable To, textually). */
export function hasTag(to: string): boolean {
  try {
    return parseNameAddr(to, 'To').params.has('tag');
  } catch {
    // Unparseable To: look for the parameter textually rather than fail the response.
    const lower = to.toLowerCase();
    for (let i = lower.indexOf(';'); i >= 0; i = lower.indexOf(';', i + 1)) {
      if (lower.startsWith('tag', skipWs(lower, i + 1))) return true;
    }
    return false;
  }
}
