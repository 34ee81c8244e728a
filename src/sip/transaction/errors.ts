import { PresenceB2BError } from '../../util/errors.js';

/**
 * Misuse of the transaction layer by its user (a request without our Via
 * branch, a branch already in use). Codes:
 * - `SIP_ERR_TRANSACTION_NO_BRANCH`: the request carries no top Via with a `z9hG4bK` branch;
 * - `SIP_ERR_TRANSACTION_DUPLICATE`: a client transaction with this branch and method exists.
 */
export class TransactionError extends PresenceB2BError {}
