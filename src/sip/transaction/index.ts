export { hasMagicCookie, MAGIC_COOKIE, newBranch } from './branch.js';
export { type ClientTransactionState, NonInviteClientTransaction } from './client-transaction.js';
export { TransactionError } from './errors.js';
export { NonInviteServerTransaction, type ServerTransactionState } from './server-transaction.js';
export { clientTransactionKey, serverTransactionKey } from './transaction-keys.js';
export { type NewRequestListener, TransactionLayer, type TransactionLayerOptions } from './transaction-layer.js';
export { emptyTransactionStats, type TransactionStats } from './transaction-stats.js';
export { type ClientTransactionUser, DEFAULT_TIMER_SETTINGS, type IncomingRequest, type TransactionTimerSettings } from './types.js';
