export { QsaBroker } from './qsa-broker.js';
export type { QsaBrokerOptions, SubscribeRequest } from './qsa-broker.js';
export type {
  NotifierHost,
  NotifierOptions,
  NotifierRegistration,
  QsaNotifier,
  QsaSubscription,
  StatusSink,
} from './notifier.js';
export { QsaError } from './qsa-error.js';
export type { QsaErrorCode } from './qsa-error.js';
export { DEFAULT_QUEUE_CAPACITY, StatusQueue } from './status-queue.js';
export type { StatusQueueOptions, StatusQueueStats } from './status-queue.js';
export type {
  QsaSubscriptionHandle,
  QsaSubscriptionInfo,
  StatusError,
  StatusMessage,
  StatusUpdate,
  SubscriptionState,
} from './status-message.js';
export {
  QSA_CHANNEL_NOTIFIER_ERROR,
  QSA_CHANNEL_NOTIFY,
  QSA_CHANNEL_SUBSCRIBE,
  QSA_CHANNEL_UNSUBSCRIBE,
} from './qsa-diagnostics.js';
export type {
  QsaNotifierErrorEvent,
  QsaNotifyEvent,
  QsaSubscribeEvent,
  QsaUnsubscribeEvent,
} from './qsa-diagnostics.js';
