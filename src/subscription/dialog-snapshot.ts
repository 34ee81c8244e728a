import type { StatusUpdate } from '../qsa/index.js';
import { withDocument } from '../qsa/status-message.js';
import type { SubscriptionDialog, SubscriptionDialogState } from './subscription-dialog.js';

/** What inspection shows of one dialog: the view Kamailio users keep asking for (docs/behaviour.md §3.5). */
export interface DialogSnapshot {
  id: string;
  record: string;
  subscriber: string;
  package: string;
  state: SubscriptionDialogState;
  /** QSA subscription ids served by this dialog. */
  members: string[];
  callId?: string;
  localTag?: string;
  remoteTag?: string;
  remoteTarget?: string;
  /** Seconds left of the granted subscription, when active. */
  expiresIn?: number;
  lastStatus?: StatusUpdate;
}

/** A plain-object copy of one dialog's state at clock time `now`. */
export function snapshotOf(d: SubscriptionDialog, now: number): DialogSnapshot {
  const snap: DialogSnapshot = {
    id: d.id,
    record: d.record,
    subscriber: d.subscriber,
    package: d.pkg,
    state: d.state,
    members: d.members.map((m) => m.id),
  };
  if (d.dialog !== undefined) {
    snap.callId = d.dialog.callId;
    snap.localTag = d.dialog.localTag;
    if (d.dialog.remoteTag !== undefined) snap.remoteTag = d.dialog.remoteTag;
    snap.remoteTarget = d.dialog.remoteTarget;
  }
  if (d.expiresAt !== undefined) snap.expiresIn = Math.max(0, Math.round((d.expiresAt - now) / 1000));
  if (d.lastStatus !== undefined) snap.lastStatus = withDocument(d.lastStatus);
  return snap;
}
