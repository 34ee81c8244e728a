import diagnosticsChannel from 'node:diagnostics_channel';
import type { QsaSubscriptionHandle, StatusMessage } from './status-message.js';

/**
 * Observability without a logger dependency: subscribe to these channels
 * with `diagnostics_channel.subscribe(name, fn)`. Messages are published only
 * while somebody listens, so an unobserved broker pays one boolean check.
 */
export const QSA_CHANNEL_SUBSCRIBE = 'presence-b2b:qsa:subscribe';
export const QSA_CHANNEL_UNSUBSCRIBE = 'presence-b2b:qsa:unsubscribe';
export const QSA_CHANNEL_NOTIFY = 'presence-b2b:qsa:notify';
/** A notifier callback (subscribe, unsubscribe, accepts) threw; the broker carried on. */
export const QSA_CHANNEL_NOTIFIER_ERROR = 'presence-b2b:qsa:notifier-error';

export interface QsaSubscribeEvent {
  subscription: QsaSubscriptionHandle;
  /** Name of the notifier it was handed to, if any. */
  notifier: string | undefined;
}

export interface QsaUnsubscribeEvent {
  subscription: QsaSubscriptionHandle;
  /** Queued messages removed for it. */
  purged: number;
}

export interface QsaNotifyEvent {
  subscription: QsaSubscriptionHandle;
  /** The message as queued (published only for messages a queue accepted). */
  message: StatusMessage;
}

export interface QsaNotifierErrorEvent {
  notifier: string;
  callback: 'subscribe' | 'unsubscribe' | 'accepts';
  subscriptionId: string;
  /** The subscription's package, record and subscriber: the context to log the error with. */
  package: string;
  record: string;
  subscriber: string;
  error: unknown;
}

export const subscribeChannel = diagnosticsChannel.channel(QSA_CHANNEL_SUBSCRIBE);
export const unsubscribeChannel = diagnosticsChannel.channel(QSA_CHANNEL_UNSUBSCRIBE);
export const notifyChannel = diagnosticsChannel.channel(QSA_CHANNEL_NOTIFY);
export const notifierErrorChannel = diagnosticsChannel.channel(QSA_CHANNEL_NOTIFIER_ERROR);
