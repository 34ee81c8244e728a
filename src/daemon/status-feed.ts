import diagnosticsChannel from 'node:diagnostics_channel';
import type { SubscriptionApi } from '../http/api-types.js';
import type { StatusFeedEvent, StatusFeedSource } from '../http/status-stream.js';
import {
  QSA_CHANNEL_NOTIFY,
  QSA_CHANNEL_SUBSCRIBE,
  QSA_CHANNEL_UNSUBSCRIBE,
  type QsaNotifyEvent,
  type QsaSubscribeEvent,
  type QsaUnsubscribeEvent,
} from '../qsa/index.js';
import { ENGINE_CHANNEL_STATE, type EngineStateEvent } from '../subscription/engine-diagnostics.js';
import type { Timer, TimerScheduler } from '../util/timer-scheduler.js';
import { statusView } from './status-view.js';

type Listener = (event: StatusFeedEvent) => void;

/** Views of changed subscriptions go out at most this often (a page needs no more, a storm costs no more). */
export const STATUS_FEED_VIEW_INTERVAL_MS = 200;

/**
 * The live overview behind the status page: every subscription of the shared
 * broker (API, local agent, resource lists), and what changes them. It reads
 * the broker's and the engine's diagnostics channels, and only while a page
 * listens: with no page open, nothing is subscribed and nothing is paid.
 *
 * A status message goes out at once; the views of the subscriptions it (or a
 * dialog state change) touched go out together every
 * STATUS_FEED_VIEW_INTERVAL_MS at most, from one listing of the
 * subscriptions: a view is never read half-updated (the broker has finished
 * its synchronous work), and a burst of changes costs one pass, not one per change.
 */
export class StatusFeed implements StatusFeedSource {
  private readonly listeners = new Set<Listener>();
  private readonly changed = new Set<string>();
  /** Dialogs whose state changed, as `record subscriber`: their subscriptions are found at the flush. */
  private readonly changedDialogs = new Set<string>();
  private flushTimer: Timer | undefined;

  constructor(
    private readonly subscriptions: SubscriptionApi,
    private readonly scheduler: TimerScheduler,
  ) {}

  snapshot(): { subscriptions: ReturnType<SubscriptionApi['list']> } {
    return { subscriptions: this.subscriptions.list({}) };
  }

  subscribe(listener: Listener): () => void {
    if (this.listeners.size === 0) this.attach();
    this.listeners.add(listener);
    return () => {
      if (!this.listeners.delete(listener)) return;
      if (this.listeners.size === 0) this.detach();
    };
  }

  /** Stops every listener's feed (daemon shutdown). */
  close(): void {
    if (this.listeners.size > 0) this.detach();
    this.listeners.clear();
    this.changed.clear();
    this.changedDialogs.clear();
    this.flushTimer?.cancel();
    this.flushTimer = undefined;
  }

  private attach(): void {
    diagnosticsChannel.subscribe(QSA_CHANNEL_SUBSCRIBE, this.onSubscribe);
    diagnosticsChannel.subscribe(QSA_CHANNEL_UNSUBSCRIBE, this.onUnsubscribe);
    diagnosticsChannel.subscribe(QSA_CHANNEL_NOTIFY, this.onNotify);
    diagnosticsChannel.subscribe(ENGINE_CHANNEL_STATE, this.onDialogState);
  }

  private detach(): void {
    diagnosticsChannel.unsubscribe(QSA_CHANNEL_SUBSCRIBE, this.onSubscribe);
    diagnosticsChannel.unsubscribe(QSA_CHANNEL_UNSUBSCRIBE, this.onUnsubscribe);
    diagnosticsChannel.unsubscribe(QSA_CHANNEL_NOTIFY, this.onNotify);
    diagnosticsChannel.unsubscribe(ENGINE_CHANNEL_STATE, this.onDialogState);
  }

  private emit(event: StatusFeedEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // One broken stream must not starve the others.
      }
    }
  }

  private scheduleFlush(): void {
    if (this.flushTimer === undefined) this.flushTimer = this.scheduler.after(STATUS_FEED_VIEW_INTERVAL_MS, this.flush);
  }

  private readonly flush = (): void => {
    this.flushTimer = undefined;
    const ids = new Set(this.changed);
    const dialogs = new Set(this.changedDialogs);
    this.changed.clear();
    this.changedDialogs.clear();
    if (this.listeners.size === 0) return;
    for (const view of this.subscriptions.list({})) {
      if (!ids.delete(view.id) && !dialogs.has(`${view.record} ${view.subscriber}`)) continue;
      this.emit({ type: 'subscription', subscription: view });
    }
    for (const id of ids) this.emit({ type: 'removed', id });
  };

  private readonly onSubscribe = (message: unknown): void => {
    this.changed.add((message as QsaSubscribeEvent).subscription.id);
    this.scheduleFlush();
  };

  private readonly onUnsubscribe = (message: unknown): void => {
    const id = (message as QsaUnsubscribeEvent).subscription.id;
    this.changed.delete(id);
    this.emit({ type: 'removed', id });
  };

  private readonly onNotify = (message: unknown): void => {
    const event = message as QsaNotifyEvent;
    this.emit({ type: 'status', status: statusView(event.message) });
    this.changed.add(event.subscription.id);
    this.scheduleFlush();
  };

  private readonly onDialogState = (message: unknown): void => {
    const event = message as EngineStateEvent;
    this.changedDialogs.add(`${event.record} ${event.subscriber}`);
    this.scheduleFlush();
  };
}
