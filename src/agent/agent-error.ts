import { PresenceB2BError } from '../util/errors.js';

/**
 * Stable codes of LocalAgentError:
 * - `AGENT_ERR_NOT_LOCAL`        the URI is not a sip/sips URI of a domain the agent serves
 * - `AGENT_ERR_INVALID_ARGUMENT` an in-process publish with an unusable state
 * - `AGENT_ERR_STOPPED`          the agent was stopped
 */
export type LocalAgentErrorCode = 'AGENT_ERR_NOT_LOCAL' | 'AGENT_ERR_INVALID_ARGUMENT' | 'AGENT_ERR_STOPPED';

export class LocalAgentError extends PresenceB2BError {
  declare readonly code: LocalAgentErrorCode;

  constructor(code: LocalAgentErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
