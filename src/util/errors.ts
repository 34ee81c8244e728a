import type { B2BErrorCode } from './error-codes.js';

/**
 * The root of presence-b2b's errors. Every error carries a stable `code`
 * from the registry in error-codes.ts (documented in README.md's Errors
 * table) so that callers can branch on it without matching messages; codes
 * never change meaning once released. Subclasses narrow `code` to their family.
 */
export class PresenceB2BError extends Error {
  readonly code: B2BErrorCode;

  constructor(code: B2BErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}
