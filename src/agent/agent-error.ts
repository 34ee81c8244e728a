import type { B2BErrorCode } from '../util/error-codes.js';
import { PresenceB2BError } from '../util/errors.js';

/** Stable codes of LocalAgentError (`AGENT_ERR_*`, meanings in src/util/error-codes.ts). */
export type LocalAgentErrorCode = Extract<B2BErrorCode, `AGENT_ERR_${string}`>;

export class LocalAgentError extends PresenceB2BError {
  declare readonly code: LocalAgentErrorCode;

  constructor(code: LocalAgentErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
