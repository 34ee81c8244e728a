import { PresenceB2BError } from '../util/errors.js';

/**
 * Stable codes of QsaError:
 * - `QSA_ERR_INVALID_ARGUMENT`     a malformed request (empty record, unknown state, bad capacity, …)
 * - `QSA_ERR_UNKNOWN_SUBSCRIPTION` a handle or subscription that this broker did not create
 * - `QSA_ERR_UNKNOWN_NOTIFIER`     a notifier registration that this broker did not create
 * - `QSA_ERR_QUEUE_CLOSED`         subscribing into a queue that has been closed
 * - `QSA_ERR_DUPLICATE_QUEUE`      a queue name that is already in use
 * - `QSA_ERR_DUPLICATE_SUBSCRIPTION` subscribing with an id that is already in use
 */
export type QsaErrorCode =
  | 'QSA_ERR_INVALID_ARGUMENT'
  | 'QSA_ERR_UNKNOWN_SUBSCRIPTION'
  | 'QSA_ERR_UNKNOWN_NOTIFIER'
  | 'QSA_ERR_QUEUE_CLOSED'
  | 'QSA_ERR_DUPLICATE_QUEUE'
  | 'QSA_ERR_DUPLICATE_SUBSCRIPTION';

export class QsaError extends PresenceB2BError {
  declare readonly code: QsaErrorCode;

  constructor(code: QsaErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
