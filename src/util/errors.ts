/**
 * The root of presence-b2b's errors. Every error carries a stable `code`
 * string (documented in README.md) so that callers can branch on it without
 * matching messages; codes never change meaning once released.
 */
export class PresenceB2BError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}
