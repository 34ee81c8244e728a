import { dialogIdentity } from '../store/stored-dialog.js';
import type { QsaSubscription, QsaSubscriptionInfo } from '../qsa/index.js';
import type { DialogState } from '../sip/dialog/dialog-state.js';
import type { SubscriptionDialog } from './subscription-dialog.js';

/** What finds a QSA subscription's dialog without a pass over them all: a handle (or Assignment) has it. */
export type SubscriptionIdentity = Pick<QsaSubscriptionInfo, 'id' | 'package' | 'record' | 'subscriber'>;

/**
 * Every live SubscriptionDialog of the engine, and the three ways to find one:
 * - by SIP dialog (Call-ID, then our tag): which dialog a NOTIFY belongs to;
 *   the Call-IDs are ours (random, one per SIP dialog we start, RFC 3261
 *   §8.1.1.4), so the Call-ID alone is the key and the tag is checked: no
 *   key string per dialog (issue 11);
 * - by identity (package + record + subscriber): an identical subscription
 *   joins the dialog already there (share_identical_subscriptions). Found by
 *   its record (a string the dialog holds already), then package and
 *   subscriber compared: no identity string per held dialog (issue 11). A
 *   record with several shared dialogs (other subscribers or packages) gets a
 *   Map of its own, keyed by identity, so that finding one stays a lookup;
 * - by QSA subscription: the dialog serving a subscriber. A subscriber of a
 *   shared dialog is found as that dialog is, by its identity, and then
 *   among its members by id: no Map entry per held subscription (37 B at
 *   100,000, issue 11, docs/establishment.md §17). Only the members of a
 *   dialog that cannot be found so (not shared, or no longer: ending, or
 *   replaced by a newer one of the same identity) are in `unshared`, by id.
 *
 * The maps change only here, together with what they index: `dialog.dialog`
 * is set through setSipDialog() and the dialog's members through join()/leave(),
 * so that no map can point at a dialog that moved on, and remove() is the one
 * way out of all of them.
 */
export class SubscriptionRegistry {
  private readonly all = new Set<SubscriptionDialog>();
  private readonly byCallId = new Map<string, SubscriptionDialog>();
  /** Shared dialogs by record: the one dialog of that record, or those of a record that has several, by identity. */
  private readonly byRecord = new Map<string, SubscriptionDialog | Map<string, SubscriptionDialog>>();
  /** Members of dialogs that sharedDialog() does not find (see above), by QSA subscription id. */
  private readonly unshared = new Map<string, SubscriptionDialog>();

  /** Live dialogs. */
  get size(): number {
    return this.all.size;
  }

  /** The live dialogs, in the order they were added (a live view: copy it before removing). */
  dialogs(): IterableIterator<SubscriptionDialog> {
    return this.all.values();
  }

  /** A new dialog serving `first`; with `shared`, identical subscriptions find it by its identity. */
  add(dialog: SubscriptionDialog, first: QsaSubscription, shared: boolean): void {
    this.all.add(dialog);
    if (shared) this.share(dialog);
    this.join(dialog, first);
  }

  /** The dialog identical subscriptions share, if there is one still taking subscribers. */
  sharedDialog(pkg: string, record: string, subscriber: string): SubscriptionDialog | undefined {
    const entry = this.byRecord.get(record);
    if (entry === undefined) return undefined;
    if (!(entry instanceof Map)) return entry.pkg === pkg && entry.subscriber === subscriber ? entry : undefined;
    return entry.get(dialogIdentity(pkg, record, subscriber));
  }

  /** Identical subscriptions find `dialog` from now on (it replaces one of the same identity). */
  private share(dialog: SubscriptionDialog): void {
    const entry = this.byRecord.get(dialog.record);
    if (entry === undefined || (!(entry instanceof Map) && entry.pkg === dialog.pkg && entry.subscriber === dialog.subscriber)) {
      if (entry !== undefined && entry !== dialog) this.unshareMembers(entry);
      this.byRecord.set(dialog.record, dialog);
    } else if (entry instanceof Map) {
      const identity = dialog.identity;
      const replaced = entry.get(identity);
      if (replaced !== undefined && replaced !== dialog) this.unshareMembers(replaced);
      entry.set(identity, dialog);
    } else {
      this.byRecord.set(
        dialog.record,
        new Map([
          [entry.identity, entry],
          [dialog.identity, dialog],
        ]),
      );
    }
  }

  /** `sub` is served by `dialog` from now on. */
  join(dialog: SubscriptionDialog, sub: QsaSubscription): void {
    dialog.addMember(sub);
    if (this.sharedDialog(sub.package, sub.record, sub.subscriber) !== dialog) this.unshared.set(sub.id, dialog);
  }

  /** `sub` is no longer served; returns the dialog that served it (maybe left without members). */
  leave(sub: QsaSubscription): SubscriptionDialog | undefined {
    const dialog = this.dialogOfMember(sub);
    if (dialog === undefined) return undefined;
    if (this.unshared.get(sub.id) === dialog) this.unshared.delete(sub.id);
    dialog.removeMember(sub);
    return dialog;
  }

  /** Every member of `dialog` leaves at once (shutdown). */
  dropMembers(dialog: SubscriptionDialog): void {
    for (let i = 0, count = dialog.memberCount; i < count; i++) {
      const member = dialog.memberAt(i)!;
      if (this.unshared.get(member.id) === dialog) this.unshared.delete(member.id);
    }
    dialog.clearMembers();
  }

  /** The dialog serving QSA subscription `sub` (its id, package, record and subscriber). */
  dialogOfMember(sub: SubscriptionIdentity): SubscriptionDialog | undefined {
    const shared = this.sharedDialog(sub.package, sub.record, sub.subscriber);
    if (shared?.hasMember(sub.id) === true) return shared;
    return this.unshared.get(sub.id);
  }

  /** The dialog serving QSA subscription `id`, given only its id: a pass over the dialogs (inspection, tests). */
  dialogOfMemberId(id: string): SubscriptionDialog | undefined {
    const unshared = this.unshared.get(id);
    if (unshared !== undefined) return unshared;
    for (const dialog of this.all) if (dialog.hasMember(id)) return dialog;
    return undefined;
  }

  /** `dialog` is no longer found by its identity: its members are found by id from now on. */
  private unshareMembers(dialog: SubscriptionDialog): void {
    for (let i = 0, count = dialog.memberCount; i < count; i++) this.unshared.set(dialog.memberAt(i)!.id, dialog);
  }

  /** The dialog a NOTIFY with this Call-ID and To-tag (our tag) belongs to. */
  dialogOfNotify(callId: string, localTag: string): SubscriptionDialog | undefined {
    const dialog = this.byCallId.get(callId);
    return dialog?.dialog?.localTag === localTag ? dialog : undefined;
  }

  /**
   * Gives `dialog` a new SIP dialog (NOTIFYs for it match from now on), or
   * none: the previous one stops matching either way.
   */
  setSipDialog(dialog: SubscriptionDialog, state: DialogState | undefined): void {
    const previous = dialog.dialog;
    if (previous !== undefined && this.byCallId.get(previous.callId) === dialog) this.byCallId.delete(previous.callId);
    dialog.dialog = state;
    if (state !== undefined) this.byCallId.set(state.callId, dialog);
  }

  /** New identical subscriptions stop joining `dialog` (it is ending); they get a dialog of their own. */
  stopSharing(dialog: SubscriptionDialog): void {
    const entry = this.byRecord.get(dialog.record);
    if (entry === dialog) {
      this.byRecord.delete(dialog.record);
      this.unshareMembers(dialog);
    } else if (entry instanceof Map) {
      const identity = dialog.identity;
      if (entry.get(identity) !== dialog) return;
      entry.delete(identity);
      this.unshareMembers(dialog);
      // Back to the dialog itself once one is left (its identity string goes with the Map).
      if (entry.size === 1) this.byRecord.set(dialog.record, entry.values().next().value as SubscriptionDialog);
    }
  }

  /** Takes `dialog` out of every map (the one removal path); false if it was not here. */
  remove(dialog: SubscriptionDialog): boolean {
    if (!this.all.delete(dialog)) return false;
    this.setSipDialog(dialog, undefined);
    // Its members first, so that stopSharing() has none to index by id.
    this.dropMembers(dialog);
    this.stopSharing(dialog);
    return true;
  }
}

