import { channel } from 'node:diagnostics_channel';
import type { SubscriptionDialogState } from './subscription-dialog.js';

/**
 * The engine's `node:diagnostics_channel` channels. Subscribe with
 * `diagnostics_channel.subscribe(name, fn)`; the engine publishes only while
 * somebody listens, so an unobserved engine pays one boolean check.
 */

/** Each change of a dialog's engine state: `EngineStateEvent`. */
export const ENGINE_CHANNEL_STATE = 'presence-b2b:subscription:state';
/** Each NOTIFY the engine accepts (answered 200, in one of its dialogs): `EngineNotifyEvent`. */
export const ENGINE_CHANNEL_NOTIFY = 'presence-b2b:subscription:notify';

/**
 * Each NOTIFY of one of our dialogs that came from an address the dialog
 * does not expect (notify_source_check `log` or `reject`): `EngineNotifySourceEvent`.
 */
export const ENGINE_CHANNEL_NOTIFY_SOURCE = 'presence-b2b:subscription:notify-source';

export interface EngineStateEvent {
  /** The dialog's id (as in `engine.list()`). */
  dialog: string;
  record: string;
  subscriber: string;
  from: SubscriptionDialogState;
  to: SubscriptionDialogState;
}

export interface EngineNotifyEvent {
  dialog: string;
  record: string;
  /** The Subscription-State value of the NOTIFY, when it could be read. */
  state: string | undefined;
}

export interface EngineNotifySourceEvent {
  dialog: string;
  record: string;
  subscriber: string;
  callId: string;
  /** Where the NOTIFY came from. */
  source: { transport: string; address: string; port: number };
  /** The addresses the dialog expected it from. */
  expected: string[];
  /** `accepted` (notify_source_check: log) or `rejected` (reject: answered 403). */
  action: 'accepted' | 'rejected';
}

export const stateChannel = channel(ENGINE_CHANNEL_STATE);
export const notifySourceChannel = channel(ENGINE_CHANNEL_NOTIFY_SOURCE);
export const notifyChannel = channel(ENGINE_CHANNEL_NOTIFY);
