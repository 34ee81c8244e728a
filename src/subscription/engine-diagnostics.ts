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

export const stateChannel = channel(ENGINE_CHANNEL_STATE);
export const notifyChannel = channel(ENGINE_CHANNEL_NOTIFY);
