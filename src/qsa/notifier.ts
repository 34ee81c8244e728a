import type { QsaSubscriptionInfo, StatusUpdate } from './status-message.js';

/**
 * The contract between QSA and the sources of status (the B2BUA engine for
 * remote presence, the local presence agent, …): notifiers depend on this
 * file only, never on the broker class, so that a notifier can be tested
 * against a fake sink and the broker can change behind it.
 */

/** What a notifier is handed: its own view of one subscription. */
export interface QsaSubscription extends QsaSubscriptionInfo {
  /**
   * False after the subscriber unsubscribed, and also after this notifier
   * was unregistered and the subscription went to another one: from then on
   * `notify()` with this object is a no-op returning false.
   */
  readonly active: boolean;
}

/**
 * A status source for one event package. Both callbacks are called
 * synchronously by the broker and must not throw (if they do, the error goes
 * to the broker's `onNotifierError` and the `presence-b2b:qsa:notifier-error`
 * channel, and the broker carries on).
 */
export interface QsaNotifier {
  /** Start answering `sub`: report with `sink.notify(sub, update)`. */
  subscribe(sub: QsaSubscription): void;
  /** The subscriber is gone: `sub.active` is already false, notify() would be ignored. */
  unsubscribe(sub: QsaSubscription): void;
}

/** Where a notifier reports: one status update of a subscription it holds. */
export interface StatusSink {
  /**
   * Queues a status message for `sub`. True if a message was queued; false
   * (and nothing happens) when `sub` is no longer active for this notifier
   * or its queue is closed.
   */
  notify(sub: QsaSubscription, update: StatusUpdate): boolean;
}

export interface NotifierOptions {
  /** Which subscriptions this notifier answers; default: all. */
  accepts?: (sub: QsaSubscriptionInfo) => boolean;
  /** Higher wins; ties go to the earlier registration. Default 0. */
  priority?: number;
  /** For inspection (`handle.notifierName`) and diagnostics. Default `notifier-<n>`. */
  name?: string;
}

export interface NotifierRegistration {
  readonly package: string;
  readonly name: string;
  readonly priority: number;
  /** False once unregistered. */
  readonly active: boolean;
}

/** The broker as a notifier sees it: a sink plus (un)registration per package. */
export interface NotifierHost extends StatusSink {
  registerNotifier(pkg: string, notifier: QsaNotifier, options?: NotifierOptions): NotifierRegistration;
  unregisterNotifier(registration: NotifierRegistration): boolean;
}
