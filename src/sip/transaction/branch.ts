import type { Random } from '../../util/random.js';

/** RFC 3261 §8.1.1.7: branches made by RFC 3261 elements start with this magic cookie. */
export const MAGIC_COOKIE = 'z9hG4bK';

/** Random characters after the cookie: 16 of [0-9a-z] ≈ 82 bits, unique in space and time. */
const BRANCH_TOKEN_LENGTH = 16;

/** A fresh branch for a new client transaction (RFC 3261 §8.1.1.7). */
export function newBranch(random: Random): string {
  return MAGIC_COOKIE + random.token(BRANCH_TOKEN_LENGTH);
}

/** True for branches that let us match by branch alone (RFC 3261 §17.2.3). */
export function hasMagicCookie(branch: string | undefined): branch is string {
  return branch?.startsWith(MAGIC_COOKIE) === true;
}
