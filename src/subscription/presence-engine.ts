import { challengesOf } from '../sip/codec/auth.js';
import { callIdOf } from '../sip/codec/call-id.js';
import { contactsOf } from '../sip/codec/contact.js';
import { eventOf, type SipEvent } from '../sip/codec/event.js';
import { cseqOf } from '../sip/codec/cseq.js';
import { expiresOf, minExpiresOf, retryAfterOf } from '../sip/codec/expires.js';
import { fromHeader, toHeader } from '../sip/codec/from-to.js';
import type { SipRequest, SipResponse } from '../sip/codec/message.js';
import { type SubscriptionState, subscriptionStateOf } from '../sip/codec/subscription-state.js';
import type { DigestCredentials } from '../sip/auth/digest-client.js';
import { digestAuthorization, isSupportedChallenge } from '../sip/auth/digest-client.js';
import {
  buildInDialogRequest,
  confirmFromNotify,
  confirmFromResponse,
  type DialogState,
  newDialogState,
  refreshTargetFrom,
} from '../sip/dialog/dialog-state.js';
import { localFailureCause } from '../sip/transaction/client-transaction.js';
import { FixedDelayExpiry } from '../sip/transaction/fixed-delay-expiry.js';
import type { IncomingRequest } from '../sip/transaction/types.js';
import { routeLeadsTo } from '../sip/ua/request-destination.js';
import type { SendRequestOptions, SipUserAgent } from '../sip/ua/types.js';
import type { QsaNotifier, QsaSubscription, StatusSink, StatusUpdate } from '../qsa/index.js';
import { keepsReportedStatus, keptBodiesOf, reportedUpdateOf, SUBSCRIPTION_REVOKED } from '../qsa/qsa-broker.js';
import { compactUpdate, isUsualUpdate, letGoKeptUpdate } from '../qsa/status-message.js';
import type { DialogSnapshotSource, DialogSnapshotWriter } from '../store/dialog-snapshot-writer.js';
import { resumedCSeq } from '../store/resume-cseq.js';
import { dialogIdentity, type StoredDialog } from '../store/stored-dialog.js';
import { PresenceB2BError } from '../util/errors.js';
import type { Random } from '../util/random.js';
import type { Timer, TimerScheduler } from '../util/timer-scheduler.js';
import type { EngineSettings } from './engine-options.js';
import { parseAdditionalHeaders, parseRouteList } from './engine-options.js';
import {
  type FailureStatus,
  failureStatusForResponse,
  LOCAL_FAILURE,
  NO_NOTIFY,
  planAfterTermination,
  STALE_LOOP,
  UNUSABLE_DIALOG,
} from './failure-status.js';
import { type DialogSnapshot, snapshotOf } from './dialog-snapshot.js';
import {
  type EngineNotifyEvent,
  type EngineNotifySourceEvent,
  type EngineStateEvent,
  notifyChannel,
  notifySourceChannel,
  stateChannel,
} from './engine-diagnostics.js';
import { expectedSources, judgeNotifySource, withHop } from './notify-source.js';
import { BUILTIN_EVENT_PACKAGES } from './builtin-packages.js';
import { type EventPackage, opaqueEventPackage } from './event-package.js';
import { EVENTLIST, NotifyReader, requiresEventlist } from './notify-reader.js';
import { statusFromSubscriptionState } from './notify-status.js';
import { delayToRefreshTick, refreshDelaySeconds } from './refresh-delay.js';
import { RestartPacer } from './restart-pacer.js';
import { backoffDelayMs, serverRetryDelayMs } from './retry-backoff.js';
import { SubscribePacer } from './subscribe-pacer.js';
import { SubscriptionDialog, type SubscriptionDialogState } from './subscription-dialog.js';
import { SubscriptionRegistry, type SubscriptionIdentity } from './subscription-registry.js';
import { dialogLookupKey } from '../sip/dialog/dialog-state.js';

/** Fields every SUBSCRIBE carries as they are (read only: one pair for all, issue 11). */
const MAX_FORWARDS_70: readonly [string, string] = Object.freeze(['Max-Forwards', '70'] as const);
const CONTACT_IN_PLACE: readonly [string, string] = Object.freeze(['Contact', ''] as const);

export type { DialogSnapshot, SubscriptionIdentity };

/** Looks up credentials for a subscriber (From URI) challenged in `realm`. */
export type CredentialLookup = (subscriber: string, realm: string) => DigestCredentials | undefined;

export interface PresenceEngineDeps {
  ua: SipUserAgent;
  /** Where status updates go (the QSA broker). */
  broker: StatusSink;
  scheduler: TimerScheduler;
  random: Random;
  settings: EngineSettings;
  credentials?: CredentialLookup;
  /**
   * The event packages subscribed to (each with its Accept and body reader);
   * default presence, reg and dialog. The QSA registration per package is
   * the caller's (attachPresenceEngine); the dialog machinery is shared.
   */
  packages?: readonly EventPackage[];
  /**
   * Records that are resource lists (RFC 4662): subscribed to with
   * `Supported: eventlist` from the first SUBSCRIBE (Kamailio's RLS answers
   * one without it with 404, not 421). Other records become lists when a 421
   * or a 2xx says `Require: eventlist`.
   */
  resourceListRecords?: readonly string[];
  /**
   * Where the dialogs' snapshots go, for in-dialog resume after a restart
   * (issue 10, docs/persistence.md); without one nothing is persisted.
   */
  snapshots?: DialogSnapshotWriter;
  /**
   * The snapshots the previous run left (SubscriptionStore.load): each is
   * resumed when a subscription of its identity comes; those nobody claims
   * within resume_grace are unSUBSCRIBEd.
   */
  stored?: readonly StoredDialog[];
  /**
   * Cluster mode (docs/cluster.md): whether this node still owns the dialog
   * of (package, record, subscriber) right now, asked before each SUBSCRIBE
   * it would send on its own (refresh, resume, new dialog). False: the dialog
   * is handed over without a word (handOver), so that a node that was paused
   * past its lease never refreshes a dialog another node has resumed.
   * `'unconfirmed'`: still held, but not renewed lately enough to act on; the
   * SUBSCRIBE waits (asked again every OWNERSHIP_RECHECK_MS) until the cluster
   * has decided: renewed, it goes; lost, the cluster hands the dialog over.
   * Always true without it. `members`: the ids of the QSA subscriptions it serves
   * (the cluster tracks the API's, not a resource list server's per-node ones).
   */
  holds?: (pkg: string, record: string, subscriber: string, members: readonly string[]) => DialogOwnership;
}

/** PresenceEngineDeps.holds's answer: owned, not owned (handed over), or not known yet (wait). */
export type DialogOwnership = boolean | 'unconfirmed';

/**
 * How often a SUBSCRIBE whose ownership is `'unconfirmed'` asks again. A
 * lease round (a third of the lease) settles it; a second keeps the wait
 * short without a timer storm when many dialogs wait together.
 */
export const OWNERSHIP_RECHECK_MS = 1000;

/** What a restart did (issue 10): for logs, metrics and the resume benchmark. */
export interface RestartStats {
  /** Snapshots loaded at start. */
  stored: number;
  /** Claimed by a subscription of their identity. */
  claimed: number;
  /** Resumed in-dialog: the resuming refresh got its 2xx. */
  resumed: number;
  /** The resuming refresh got a 481 or timed out: a new dialog took its place. */
  fallbacks: number;
  /** Claimed, but expired (or out of CSeq numbers): a new dialog at once. */
  expired: number;
  /**
   * The resume got another error, or the server ended the dialog before the
   * resume was answered: handled as for any refresh (backoff, renewal).
   */
  resumeFailed: number;
  /** Nobody claimed them within resume_grace: unSUBSCRIBEd (Expires: 0 in the stored dialog). */
  unclaimedUnsubscribed: number;
  /** Nobody claimed them, and they had expired: deleted. */
  unclaimedExpired: number;
  /** NOTIFYs answered 200 in a stored dialog not claimed yet. */
  unclaimedNotifies: number;
  /** Stored dialogs taken over at runtime (adopt: shards acquired in cluster mode); also counted in `stored`. */
  adopted: number;
  /**
   * Resumes that moved the target (our Contact not the stored one): each gets
   * one more refresh 64·T1 after its 2xx, to find a subscription the server
   * dropped when a NOTIFY to the old address timed out.
   */
  resumeConfirmations: number;
  /** Of those, the confirming refresh got a 481: the server had dropped it; a new dialog took its place. */
  lostAfterResume: number;
  /** Dialogs (live or stored, unclaimed) handed over to another node without a word on the wire (handOver). */
  handedOver: number;
  /** SUBSCRIBEs that waited because the cluster could not yet confirm the dialog was still ours (`'unconfirmed'`). */
  ownershipWaits: number;
  /** NOTIFYs answered 200 in a dialog handed over (sent before the new owner's refresh moved the target). */
  handedOverNotifies: number;
}

/** A stored dialog not claimed yet, and the highest NOTIFY CSeq seen in it since the start. */
interface UnclaimedDialog {
  readonly stored: StoredDialog;
  remoteCSeq: number | undefined;
}

/** How close() ended: what was still pending on the wire when its bound passed (all 0 when everything ended in time). */
export interface EngineCloseReport {
  /** unSUBSCRIBEs (Expires: 0) sent by close(), or on their way when it was called. */
  unsubscribesSent: number;
  /** Of those, still without a final answer at the bound. */
  unanswered: number;
  /** Answered with a 2xx, but without the terminating NOTIFY at the bound (RFC 6665 §4.1.2.3). */
  awaitingNotify: number;
  /** A SUBSCRIBE sent before close() still without an answer at the bound (its dialog was never unsubscribed). */
  inFlight: number;
}

export interface EngineStats {
  subscribesSent: number;
  /** Of those, unSUBSCRIBEs (Expires: 0): what a node that hands dialogs over must never send for them. */
  unsubscribesSent: number;
  responses: Record<'1xx' | '2xx' | '3xx' | '4xx' | '5xx' | '6xx', number>;
  notifiesAccepted: number;
  notifiesRejected: number;
  notifiesUnmatched: number;
  /**
   * Of the accepted, NOTIFYs other than terminated ones that came after the application's unsubscribe
   * (its unSUBSCRIBE or the server's terminating NOTIFY still to come): answered 200, delivered to nobody.
   */
  notifiesAfterUnsubscribe: number;
  /** NOTIFYs of our dialogs from an address the dialog does not expect (notify_source_check log or reject). */
  notifySourceMismatches: number;
  statusMessages: number;
  failures: number;
  /** In-dialog refreshes sent after an overload period of the transport (overloadEnded()). */
  refreshesAfterOverload: number;
  /**
   * In-dialog refreshes brought forward to 64·T1 + 1 s because our answers may not have reached the server: a
   * NOTIFY came again after we answered it (answerLost()), or the SUBSCRIBE that made the dialog was answered
   * only after two retransmissions (docs/behaviour.md §3.7).
   */
  confirmingRefreshes: number;
}

/** 2 s: the tight SUBSCRIBE/NOTIFY loop guard of reSIProcate (docs/behaviour.md §3.1). */
const MIN_RESUBSCRIBE_GAP_MS = 2000;
/** Answers to stale=true challenges in a row before it counts as a failure. */
const MAX_STALE_ANSWERS = 2;
/**
 * A stored dialog is resumed only with this much of its grant left: the
 * refresh must reach the server while it still holds the subscription (its
 * first retransmissions over UDP take 0.5 + 1 + 2 + 4 s); with less, a new dialog.
 */
const RESUME_MIN_LEFT_MS = 10_000;
/**
 * How long a node answers 200 to NOTIFYs in a dialog it handed over: the
 * server sends them to us until the new owner's refresh moves the target
 * (RFC 6665 §4.1.2.2), at most a lease and a resume later; a 481 would make
 * the server end the very dialog the new owner is resuming.
 */
const HANDED_OVER_ANSWER_MS = 120_000;

/** A dialog handed over: its NOTIFYs are answered 200 (from the tag it had) until `until` (clock time). */
interface HandedOverDialog {
  readonly remoteTag: string | undefined;
  readonly until: number;
}

/**
 * The presence B2BUA: a QSA notifier that turns each internal subscription
 * into a SUBSCRIBE/NOTIFY dialog created as the subscriber (From = subscriber,
 * To = Request-URI = record) so that the presence server applies the
 * subscriber's authorization rules. The state machine follows SER's
 * presence_b2b (docs/ser-presence-b2b.md §2.3) with the improvements of docs/behaviour.md: errors reach
 * the subscriber, identical subscriptions share a dialog, 423/401/407/481 and
 * Subscription-State reasons are honoured, Timer N guards the first NOTIFY.
 */
export class PresenceEngine implements QsaNotifier {
  readonly stats: EngineStats = {
    subscribesSent: 0,
    unsubscribesSent: 0,
    responses: { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, '6xx': 0 },
    notifiesAccepted: 0,
    notifiesRejected: 0,
    notifiesUnmatched: 0,
    notifiesAfterUnsubscribe: 0,
    notifySourceMismatches: 0,
    statusMessages: 0,
    failures: 0,
    refreshesAfterOverload: 0,
    confirmingRefreshes: 0,
  };

  private readonly ua: SipUserAgent;
  private readonly broker: StatusSink;
  private readonly scheduler: TimerScheduler;
  private readonly random: Random;
  private readonly settings: EngineSettings;
  /** Dialogs whose 2xx came before their first NOTIFY, for Timer N (64·T1, RFC 6665 §4.1.2.4), oldest first. */
  private readonly timerN: FixedDelayExpiry<SubscriptionDialog>;
  private readonly credentials: CredentialLookup | undefined;
  private readonly packages = new Map<string, EventPackage>();
  /** Each stateless package's NotifyReader shared by its dialogs (null: a stateful package, one per dialog). */
  private readonly sharedReaders = new Map<string, NotifyReader | null>();
  private readonly listRecords: ReadonlySet<string>;
  private readonly extraHeaders: Array<readonly [string, string]>;
  private readonly presenceRoute: string[];
  private readonly pacer: SubscribePacer;
  /** What the UA needs to write our Contact on each SUBSCRIBE. */
  private readonly contact: { user: string };

  /** Every live dialog, found by SIP dialog, identity or QSA subscription. */
  private readonly registry = new SubscriptionRegistry();
  private nextId = 1;
  private closing = false;
  private onAllDestroyed: (() => void) | undefined;
  /** The outcome of close(), once called. */
  private closed: Promise<void> | undefined;
  private readonly closeCounts = { unsubscribesSent: 0, unanswered: 0, awaitingNotify: 0, inFlight: 0 };
  /** How close() ended, once it has. */
  closeReport: EngineCloseReport | undefined;

  // ---- persistence (issue 10, docs/persistence.md)
  /** Where snapshots go; undefined: nothing is persisted (or no longer: abandon()). */
  private snapshots: DialogSnapshotWriter | undefined;
  /** The dialog whose snapshot each key holds: what the writer reads at its flush. */
  private readonly snapshotOwners = new Map<string, SubscriptionDialog>();
  private readonly snapshotSource: DialogSnapshotSource = { storedDialog: (key) => this.storedDialogOf(key) };
  /** Stored dialogs not claimed yet, by identity (until resume_grace ends). */
  private readonly unclaimedByIdentity = new Map<string, UnclaimedDialog[]>();
  /** The same, and unclaimed ones being unSUBSCRIBEd, by SIP dialog: their NOTIFYs are answered 200, not 481. */
  private readonly unclaimedByDialogKey = new Map<string, UnclaimedDialog>();
  private graceTimer: Timer | undefined;
  /** Paces what a restart owes (made at the first use). */
  private restartPacerInstance: RestartPacer | undefined;
  /** Cluster: whether this node still owns a dialog (PresenceEngineDeps.holds). */
  private readonly holds: ((pkg: string, record: string, subscriber: string, members: readonly string[]) => DialogOwnership) | undefined;
  /** Dialogs handed over to another node, by SIP dialog (lookup key): their late NOTIFYs get 200. */
  private readonly handedOverByKey = new Map<string, HandedOverDialog>();
  private handedOverSweep: Timer | undefined;
  /** The refresh of every dialog that follows an overload period (overloadEnded()), while it waits. */
  private overloadSweep: Timer | undefined;
  /** Clock time the last overload period ended: a dialog that sent a SUBSCRIBE since then needs no refresh for it. */
  private overloadEndedAt = Number.NEGATIVE_INFINITY;
  readonly restartStats: RestartStats = {
    stored: 0,
    claimed: 0,
    resumed: 0,
    fallbacks: 0,
    expired: 0,
    resumeFailed: 0,
    unclaimedUnsubscribed: 0,
    unclaimedExpired: 0,
    unclaimedNotifies: 0,
    adopted: 0,
    resumeConfirmations: 0,
    lostAfterResume: 0,
    handedOver: 0,
    ownershipWaits: 0,
    handedOverNotifies: 0,
  };

  constructor(deps: PresenceEngineDeps) {
    this.ua = deps.ua;
    this.broker = deps.broker;
    this.scheduler = deps.scheduler;
    this.random = deps.random;
    this.settings = deps.settings;
    this.timerN = new FixedDelayExpiry<SubscriptionDialog>(deps.scheduler, 64 * deps.settings.t1Ms, (dialog, ticket) => this.onTimerN(dialog, ticket));
    this.credentials = deps.credentials;
    for (const pkg of deps.packages ?? BUILTIN_EVENT_PACKAGES) this.packages.set(pkg.name, pkg);
    this.listRecords = new Set(deps.resourceListRecords ?? []);
    this.extraHeaders = parseAdditionalHeaders(deps.settings.additionalPresenceHeaders);
    this.presenceRoute = parseRouteList(deps.settings.presenceRoute);
    this.pacer = new SubscribePacer(deps.settings.maxSubscribeRate);
    this.contact = { user: deps.settings.contactUser };
    this.snapshots = deps.snapshots;
    this.holds = deps.holds;
    const stored = deps.stored ?? [];
    for (const d of stored) this.addUnclaimed(d);
    this.restartStats.stored = stored.length;
    if (stored.length > 0) this.graceTimer = this.scheduler.after(deps.settings.resumeGrace * 1000, () => this.endGrace());
  }

  private addUnclaimed(d: StoredDialog): void {
    const unclaimed: UnclaimedDialog = { stored: d, remoteCSeq: d.remoteCSeq };
    const identity = dialogIdentity(d.package, d.record, d.subscriber);
    const list = this.unclaimedByIdentity.get(identity);
    if (list === undefined) this.unclaimedByIdentity.set(identity, [unclaimed]);
    else list.push(unclaimed);
    this.unclaimedByDialogKey.set(dialogLookupKey(d.callId, d.localTag), unclaimed);
  }

  // ------------------------------------------------------------------ cluster: adopt and hand over at runtime

  /**
   * Takes over stored dialogs at runtime (cluster mode: the shards this node
   * just acquired, docs/cluster.md §8): each waits, as after a restart, for a
   * subscription of its identity (the caller subscribes the shards' API
   * subscriptions next), which resumes it in-dialog (our Contact, CSeq above
   * the stored mark; 481 or a timeout: a new dialog), paced by
   * max_subscribe_rate together with everything else a restart owes. Those
   * nobody claims within resume_grace (counted from this call) are
   * unSUBSCRIBEd. A dialog that is live here already is skipped. Returns how
   * many were taken.
   */
  adopt(dialogs: readonly StoredDialog[]): number {
    if (this.closing) return 0;
    let taken = 0;
    for (const d of dialogs) {
      const lookup = dialogLookupKey(d.callId, d.localTag);
      this.handedOverByKey.delete(lookup);
      if (this.registry.dialogOfNotify(d.callId, d.localTag) !== undefined || this.unclaimedByDialogKey.has(lookup)) continue;
      this.addUnclaimed(d);
      taken++;
    }
    this.restartStats.stored += taken;
    this.restartStats.adopted += taken;
    if (taken > 0) {
      // The grace runs from the newest adoption: the dialogs adopted earlier wait a little longer.
      this.graceTimer?.cancel();
      this.graceTimer = this.scheduler.after(this.settings.resumeGrace * 1000, () => this.endGrace());
    }
    return taken;
  }

  /**
   * Hands over to another node every dialog whose (package, record,
   * subscriber) `matches` (cluster mode: shards lost or released): forgotten
   * here WITHOUT a word on the wire (no unSUBSCRIBE: the new owner resumes
   * it from its snapshot), its subscribers detached from it, and its snapshot
   * left as the store has it (what is pending for it is discarded, not
   * written: the row is the new owner's). Stored dialogs not claimed yet go
   * the same way. Dialogs being unSUBSCRIBEd (their subscription was deleted)
   * finish here. For a while their NOTIFYs are still answered 200. Flush the
   * snapshots first (a release) for the new owner to resume from the latest
   * state. Returns how many dialogs were handed over.
   */
  handOver(matches: (pkg: string, record: string, subscriber: string) => boolean): number {
    let n = 0;
    for (const dialog of [...this.registry.dialogs()]) {
      if (dialog.state === 'unsubscribing' || dialog.state === 'terminating') continue;
      if (!matches(dialog.pkg, dialog.record, dialog.subscriber)) continue;
      this.handOverDialog(dialog);
      n++;
    }
    for (const [identity, list] of [...this.unclaimedByIdentity]) {
      const first = list[0];
      if (first === undefined || !matches(first.stored.package, first.stored.record, first.stored.subscriber)) continue;
      this.unclaimedByIdentity.delete(identity);
      for (const unclaimed of list) {
        const s = unclaimed.stored;
        const lookup = dialogLookupKey(s.callId, s.localTag);
        if (this.unclaimedByDialogKey.get(lookup) === unclaimed) this.unclaimedByDialogKey.delete(lookup);
        this.rememberHandedOver(lookup, s.remoteTag);
        n++;
      }
    }
    this.restartStats.handedOver += n;
    return n;
  }

  /** One live dialog handed over (see handOver): out of every map, its timers and retransmissions stopped, nothing stored. */
  private handOverDialog(dialog: SubscriptionDialog): void {
    dialog.handedOver = true;
    const state = dialog.dialog;
    if (state !== undefined && dialog.confirmed) this.rememberHandedOver(dialogLookupKey(state.callId, state.localTag), state.remoteTag);
    const key = dialog.storeKey;
    if (key !== undefined) {
      this.snapshots?.discard(key);
      if (this.snapshotOwners.get(key) === dialog) this.snapshotOwners.delete(key);
    }
    dialog.storeKey = undefined;
    dialog.stored = false;
    // dropDialog now deletes nothing (not stored); the generation makes a late answer land in onLateAnswer.
    this.destroy(dialog);
  }

  private rememberHandedOver(lookup: string, remoteTag: string | undefined): void {
    this.handedOverByKey.set(lookup, { remoteTag, until: this.scheduler.clock.now() + HANDED_OVER_ANSWER_MS });
    if (this.handedOverSweep === undefined) this.armHandedOverSweep(HANDED_OVER_ANSWER_MS);
  }

  private armHandedOverSweep(delayMs: number): void {
    this.handedOverSweep = this.scheduler.after(delayMs, () => {
      this.handedOverSweep = undefined;
      const now = this.scheduler.clock.now();
      let next = Number.POSITIVE_INFINITY;
      for (const [lookup, entry] of this.handedOverByKey) {
        if (entry.until <= now) this.handedOverByKey.delete(lookup);
        else next = Math.min(next, entry.until);
      }
      if (next !== Number.POSITIVE_INFINITY) this.armHandedOverSweep(next - now);
    });
  }

  /** A NOTIFY in a dialog handed over: 200, nothing delivered (the new owner's refresh brings the state again). */
  private answerHandedOverNotify(incoming: IncomingRequest, lookup: string, entry: HandedOverDialog): 1 | -1 {
    if (entry.remoteTag !== undefined && safe(() => fromHeader(incoming.request).tag) !== entry.remoteTag) return -1;
    incoming.reply(200, 'OK');
    this.restartStats.handedOverNotifies++;
    let terminated = false;
    try {
      terminated = subscriptionStateOf(incoming.request)?.state === 'terminated';
    } catch {
      // Answered all the same: it is not ours to judge any more.
    }
    if (terminated) this.handedOverByKey.delete(lookup);
    return 1;
  }

  /**
   * Before a SUBSCRIBE this node would send on its own: false (and the
   * dialog handed over) when the cluster says it is no longer ours; false
   * too while the cluster cannot say (its lease not renewed lately: a round
   * late under load, or a pause): then `retry` runs OWNERSHIP_RECHECK_MS
   * later and asks again. Handing the dialog over there would leave its
   * subscriptions without a dialog on a node that, one round later, still
   * holds their shard: nobody would ever make them (docs/cluster.md §8).
   */
  private stillOurs(dialog: SubscriptionDialog, retry: (dialog: SubscriptionDialog) => void): boolean {
    if (this.holds === undefined) return true;
    const answer = this.holds(dialog.pkg, dialog.record, dialog.subscriber, dialog.members.map((m) => m.id));
    if (answer === true) return true;
    if (answer === 'unconfirmed') {
      this.restartStats.ownershipWaits++;
      dialog.arm('timer', this.scheduler.afterCall(OWNERSHIP_RECHECK_MS, retry, dialog));
      return false;
    }
    this.restartStats.handedOver++;
    this.handOverDialog(dialog);
    return false;
  }

  /** Live dialog records. */
  get size(): number {
    return this.registry.size;
  }

  /** Names of the event packages this engine subscribes to (each needs its QSA notifier registration). */
  packageNames(): string[] {
    return [...this.packages.keys()];
  }

  // ------------------------------------------------------------------ QSA side

  subscribe(sub: QsaSubscription): void {
    if (this.closing) return;
    const sharing = this.settings.shareIdenticalSubscriptions;
    const shared = sharing ? this.registry.sharedDialog(sub.package, sub.record, sub.subscriber) : undefined;
    if (shared !== undefined) {
      this.registry.join(shared, sub);
      // A subscriber that joins a shared dialog learns the current state at once (a list's: every member's).
      const last = shared.lastStatus;
      if (last !== undefined) for (const update of shared.reader?.joinStatuses(last) ?? [last]) this.deliver(sub, update);
      return;
    }
    // The broker's record and subscriber strings are its own copies already (QsaBroker.subscribe): shared, not copied again.
    const dialog = new SubscriptionDialog(this.nextId++, sub.record, sub.subscriber, sub.package);
    dialog.reader = this.startReader(sub.package, this.listRecords.has(sub.record));
    dialog.requestedExpires = this.settings.defaultExpiration;
    this.registry.add(dialog, sub, sharing);
    // The identity (a stored dialog's key) only where a store is: the dialog does not keep it (issue 11).
    if (this.unclaimedByIdentity.size > 0 || this.snapshots !== undefined) {
      // join() builds one flat string (a template literal is a rope, and ownString's copy a slice of one).
      const identity = dialog.identity;
      const unclaimed = this.claim(identity);
      if (unclaimed !== undefined) {
        this.resume(dialog, unclaimed);
        return;
      }
      if (this.snapshots !== undefined) this.own(dialog, sharing && !this.snapshotOwners.has(identity) ? identity : `${identity}\n${this.random.token(12)}`);
    }
    const maxDelay = this.settings.maxSubscribeDelay;
    if (maxDelay > 0) {
      // SER: the first SUBSCRIBE goes out after a uniform 1..max_subscribe_delay s (docs/ser-presence-b2b.md §2.1).
      const seconds = 1 + Math.floor(this.random.next() * maxDelay);
      this.setState(dialog, 'waiting');
      dialog.arm('timer', this.scheduler.after(seconds * 1000, () => this.startNewSubscription(dialog)));
    } else {
      this.startNewSubscription(dialog);
    }
  }

  unsubscribe(sub: QsaSubscription): void {
    const dialog = this.registry.leave(sub);
    if (dialog !== undefined && dialog.memberCount === 0) this.tearDown(dialog);
  }

  // ------------------------------------------------------------------ NOTIFY

  /**
   * The equivalent of SER's handle_notify(): 1 when the NOTIFY belongs to one
   * of our dialogs (it has then been answered), -1 when it is not ours (no
   * answer was sent; the caller answers 481, RFC 6665 §4.1.2.4 last paragraph).
   * Every check comes before any change: a NOTIFY refused (481, 489, 400, 500)
   * leaves the dialog as it was.
   */
  handleNotify(incoming: IncomingRequest): 1 | -1 {
    const request = incoming.request;
    // Our tag is the To-tag; the Call-ID finds the dialog (no key string per NOTIFY).
    const localTag = toHeader(request).tag;
    // The Call-ID as received is enough to look the dialog up: no copy of it per NOTIFY (callIdOf
    // gives it storage of its own, for keeping; issue 11). A missing or empty one: callIdOf throws, as before.
    const raw = request.headers.getByKey('call-id');
    const callId = localTag === undefined ? undefined : raw === undefined || raw.length === 0 ? callIdOf(request) : raw;
    const dialog = callId === undefined ? undefined : this.registry.dialogOfNotify(callId, localTag!);
    const state = dialog?.dialog;
    if (dialog === undefined || state === undefined) {
      const key = callId === undefined ? undefined : dialogLookupKey(callId, localTag!);
      const unclaimed = key === undefined ? undefined : this.unclaimedByDialogKey.get(key);
      if (unclaimed !== undefined) return this.answerUnclaimedNotify(incoming, unclaimed);
      const handed = key === undefined ? undefined : this.handedOverByKey.get(key);
      if (handed !== undefined && key !== undefined) {
        const answered = this.answerHandedOverNotify(incoming, key, handed);
        if (answered === 1) return 1;
      }
      this.stats.notifiesUnmatched++;
      return -1;
    }
    const fromTag = fromHeader(request).tag;
    if (state.remoteTag !== undefined && fromTag !== state.remoteTag) {
      // A second fork (RFC 6665 §4.1.4/§5.4.9): RFC 3856 does not ask a presence
      // watcher to keep several; keep the first dialog and refuse the others, as pjsip does.
      return this.refuseNotifyStatelessly(incoming, 481, 'Subscription does not exist');
    }
    if (this.settings.notifySourceCheck !== 'off' && judgeNotifySource(incoming.source.remoteAddress, dialog.hops ?? NO_HOPS, state) === 'mismatch') {
      if (this.onUnexpectedSource(dialog, state, incoming)) return this.refuseNotifyStatelessly(incoming, 403, 'Forbidden (unexpected source address)');
    }
    const event = eventOrUndefined(request);
    if (event === undefined || event.package !== dialog.pkg) {
      return this.refuseNotify(incoming, 489, 'Bad Event', [['Allow-Events', dialog.pkg]]);
    }
    // RFC 6665 §4.1.3: a NOTIFY carries one Subscription-State; without a readable one
    // we cannot tell what it says (SER read it as pending), so it changes nothing.
    let subState: SubscriptionState | undefined;
    try {
      subState = subscriptionStateOf(request);
    } catch {
      return this.refuseNotify(incoming, 400, 'Bad Subscription-State');
    }
    if (subState === undefined) return this.refuseNotify(incoming, 400, 'Missing Subscription-State');
    const seq = cseqNumberOrUndefined(request);
    if (seq === undefined) return this.refuseNotify(incoming, 400, 'Bad CSeq');
    if (state.remoteTag === undefined) {
      // NOTIFY before the 2xx creates the dialog (RFC 6665 §4.1.2.4).
      if (confirmFromNotify(state, request) !== undefined) return this.refuseNotify(incoming, 400, 'Bad Contact or Record-Route');
    } else {
      // RFC 3261 §12.2.2: a lower CSeq than the last one is out of order.
      if (state.remoteCSeq !== undefined && seq < state.remoteCSeq) return this.refuseNotify(incoming, 500, 'Out of order CSeq');
      if (refreshTargetFrom(state, request) !== undefined) return this.refuseNotify(incoming, 400, 'Bad Contact');
    }
    state.remoteCSeq = seq;
    incoming.reply(200, 'OK');
    this.stats.notifiesAccepted++;
    dialog.notifyReceived = true;
    this.stopTimerN(dialog);
    const terminated = subState.state === 'terminated';
    if (notifyChannel.hasSubscribers) notifyChannel.publish({ dialog: dialog.id, record: dialog.record, state: subState.state } satisfies EngineNotifyEvent);

    if (dialog.state === 'unsubscribing' || dialog.state === 'terminating' || dialog.memberCount === 0) {
      // After our unsubscribe, NOTIFYs are answered but reach nobody (docs/ser-presence-b2b.md §6 item 31).
      // A terminated NOTIFY ends it at once, even before the 2xx to our Expires: 0
      // (docs/ser-presence-b2b.md §2.7 step 4, §6 item 27); that late 2xx is then ignored (generation).
      if (terminated) this.destroy(dialog);
      else this.stats.notifiesAfterUnsubscribe++;
      return 1;
    }

    const reading = dialog.reader!.read(request, statusFromSubscriptionState(subState), incoming.source.transport === 'udp');
    if (reading.own !== undefined) dialog.reader = reading.own;
    if (terminated) {
      if (dialog.restart !== undefined && dialog.restart !== 'new') this.restartStats.resumeFailed++;
      this.onServerTermination(dialog, reading.updates, subState);
      return 1;
    }
    if (dialog.confirmed) this.succeeded(dialog);
    // Remote CSeq, target, maybe the expiry: read by the snapshot writer at its next tick, not written here.
    this.markDirty(dialog);
    for (const update of reading.updates) this.emit(dialog, update);
    if (subState.expires !== undefined && subState.expires >= 1 && dialog.state === 'active' && dialog.expiresAt !== undefined) {
      // RFC 6665 §4.1.2.1: a NOTIFY may lower the expiry; never raise it from here (pjsip #1491).
      const left = (dialog.expiresAt - this.scheduler.clock.now()) / 1000;
      if (subState.expires < left - 1) this.scheduleRefresh(dialog, subState.expires);
    }
    if (reading.resync && !terminated) this.resync(dialog);
    return 1;
  }

  /**
   * A NOTIFY of this dialog from an address it does not expect: counted and
   * published (the daemon logs it); true when it is to be refused (reject).
   * 403 rather than silence or 481 (docs/hostile-input.md): a final answer
   * stops the sender's retransmissions at once (RFC 3261 §21.4.4: "SHOULD NOT
   * be repeated"), it goes to the packet's source like any response
   * (§18.2.2), and unlike 481 it does not tell a notifier to drop a
   * subscription that may be its own (RFC 6665 §4.2.2).
   */
  private onUnexpectedSource(dialog: SubscriptionDialog, state: DialogState, incoming: IncomingRequest): boolean {
    this.stats.notifySourceMismatches++;
    const reject = this.settings.notifySourceCheck === 'reject';
    if (notifySourceChannel.hasSubscribers) {
      const source = incoming.source;
      notifySourceChannel.publish({
        dialog: dialog.id,
        record: dialog.record,
        subscriber: dialog.subscriber,
        callId: state.callId,
        source: { transport: source.transport, address: source.remoteAddress, port: source.remotePort },
        expected: expectedSources(dialog.hops ?? NO_HOPS, state),
        action: reject ? 'rejected' : 'accepted',
      } satisfies EngineNotifySourceEvent);
    }
    return reject;
  }

  /**
   * The body reader lost track of the state (a partial document after a gap):
   * ask for full state again. For reg and dialog an in-dialog refresh brings
   * it (RFC 3680 §5.2, RFC 6665 §4.2.1.2: the NOTIFY after a refresh carries
   * full state); a resource list gets a new subscription, since Kamailio 5.6's
   * RLS answers a refresh with 200 and no NOTIFY. Only from `active`: a
   * SUBSCRIBE in flight brings full state anyway. Never two SUBSCRIBEs within
   * 2 s: a server that keeps skipping versions is not answered with a loop
   * (docs/event-packages.md §4).
   */
  private resync(dialog: SubscriptionDialog): void {
    if (dialog.state !== 'active') return;
    if (dialog.reader?.eventlist === true) {
      this.abandonListDialog(dialog);
      this.retryLater(dialog, 0);
      return;
    }
    const refresh = (): void => {
      if (dialog.state !== 'active' || !this.stillOurs(dialog, refresh)) return;
      dialog.intervalRetries = 0;
      this.setState(dialog, 'refreshing');
      this.sendSubscribe(dialog, dialog.requestedExpires);
    };
    const wait = (dialog.lastSubscribeAt ?? Number.NEGATIVE_INFINITY) + MIN_RESUBSCRIBE_GAP_MS - this.scheduler.clock.now();
    if (wait > 0) dialog.arm('timer', this.scheduler.after(wait, refresh));
    else refresh();
  }

  /**
   * Ends the current SIP dialog of a list subscription without waiting for
   * it: Expires: 0 in the dialog, its answer and NOTIFYs ignored (they no
   * longer match), then forgets it. The caller starts a new one.
   */
  private abandonListDialog(dialog: SubscriptionDialog): void {
    const state = dialog.dialog;
    if (state !== undefined) {
      try {
        const request = buildInDialogRequest(state, 'SUBSCRIBE', this.subscribeHeaders(dialog.pkg, 0, dialog.reader));
        this.stats.subscribesSent++;
        this.stats.unsubscribesSent++;
        this.ua.sendRequest(request, { onFinal: (response) => this.countResponse(response.status) }, this.sendOptions(state));
      } catch {
        // Nothing can be sent in this dialog: the server lets it expire.
      }
    }
    this.dropDialog(dialog);
  }

  private refuseNotify(incoming: IncomingRequest, status: number, reason: string, headers?: Array<readonly [string, string]>): 1 {
    this.stats.notifiesRejected++;
    incoming.reply(status, reason, headers);
    return 1;
  }

  /**
   * A refusal that keeps nothing of its own (no dialog, or the wrong source) is not kept for
   * Timer J (RFC 3261 §8.2.7): a flood of such NOTIFYs (the Kamailio flood test's spoofed source,
   * 419,202 of them in 30 s) would otherwise hold each answer for 32 s.
   */
  private refuseNotifyStatelessly(incoming: IncomingRequest, status: number, reason: string): 1 {
    this.stats.notifiesRejected++;
    if (incoming.replyStatelessly !== undefined) incoming.replyStatelessly(status, reason);
    else incoming.reply(status, reason);
    return 1;
  }

  /**
   * The server ended the subscription (RFC 6665 §4.1.3): the dialog is over;
   * the subscribers are told, with `retryAfter` when a new subscription is
   * scheduled (README, "Behaviour on each answer"). `updates`: what the
   * NOTIFY said, the subscription's own status last (a resource list's
   * member updates come before it).
   */
  private onServerTermination(dialog: SubscriptionDialog, updates: StatusUpdate[], subState: SubscriptionState): void {
    const update = updates.at(-1) ?? statusFromSubscriptionState(subState);
    for (const member of updates.slice(0, -1)) this.emit(dialog, member);
    const plan = planAfterTermination(subState.reason, subState.retryAfter);
    const wasEstablished = dialog.established;
    this.dropDialog(dialog);
    if (plan.kind === 'final') {
      this.finish(dialog, update);
      return;
    }
    let wait: number | undefined;
    if (plan.kind === 'renew' && wasEstablished) {
      // A subscription that was running is renewed at once (deactivated: "SHOULD re-subscribe immediately").
      wait = this.retryLater(dialog, plan.retryAfter === undefined ? 0 : serverRetryDelayMs(plan.retryAfter, this.settings));
    } else {
      // probation, giveup, an unknown reason, or one that ended before it ever ran
      // (a server that ends every new subscription at once must not make us loop): a failure.
      dialog.failures++;
      wait = this.retryLater(dialog, this.failureDelayMs(dialog, plan.retryAfter));
    }
    if (wait !== undefined) update.retryAfter = Math.ceil(wait / 1000);
    this.emit(dialog, update);
  }

  // ------------------------------------------------------------------ sending

  /**
   * A new subscription (new Call-ID) to `target`, by default the record, when
   * max_subscribe_rate allows (state `waiting` until then): the first one,
   * each retry and each redirect.
   */
  private startNewSubscription(dialog: SubscriptionDialog, target: string = dialog.record): void {
    const wave = this.restartPacerInstance;
    if (wave !== undefined && wave.waiting > 0) {
      // A restart wave is leaving (issue 10): a new SUBSCRIBE takes a turn in it, so that resumes and
      // new subscriptions together stay within max_subscribe_rate; two pacers side by side would send twice that.
      this.setState(dialog, 'waiting');
      wave.push(() => {
        if (dialog.state !== 'waiting') return false;
        this.sendInitial(dialog, target);
        return true;
      });
      return;
    }
    const delay = this.pacer.reserve(this.scheduler.clock.now());
    if (delay <= 0) {
      this.sendInitial(dialog, target);
      return;
    }
    this.setState(dialog, 'waiting');
    dialog.arm('timer', this.scheduler.after(delay, () => this.sendInitial(dialog, target)));
  }

  private sendInitial(dialog: SubscriptionDialog, targetUri: string): void {
    if (dialog.memberCount === 0) {
      this.destroy(dialog);
      return;
    }
    if (!this.stillOurs(dialog, (d) => this.sendInitial(d, targetUri))) return;
    this.dropDialog(dialog);
    dialog.reader?.reset();
    this.registry.setSipDialog(
      dialog,
      newDialogState({
        callId: [this.random.token(20), '@presence-b2b'].join(''),
        localTag: this.random.token(12),
        localUri: dialog.subscriber,
        remoteUri: targetUri,
        routeSet: [...this.presenceRoute],
      }),
    );
    dialog.authAttempts = 0;
    dialog.staleAnswers = 0;
    dialog.auth = undefined;
    dialog.notifyReceived = false;
    dialog.confirmed = false;
    dialog.established = false;
    this.setState(dialog, 'subscribing');
    this.sendSubscribe(dialog, dialog.requestedExpires);
  }

  /**
   * A new dialog's NotifyReader: its package's shared one (a stateless package,
   * not a resource list), else one of its own (issue 11: one object less per
   * held subscription).
   */
  private startReader(name: string, eventlist: boolean): NotifyReader {
    const pkg = this.packages.get(name);
    if (eventlist || pkg === undefined) return new NotifyReader(pkg ?? opaqueEventPackage(name), eventlist);
    let shared = this.sharedReaders.get(name);
    if (shared === undefined) {
      shared = NotifyReader.sharedFor(pkg) ?? null;
      this.sharedReaders.set(name, shared);
    }
    return shared ?? new NotifyReader(pkg, false);
  }

  private subscribeHeaders(pkg: string, expires: number, reader?: NotifyReader): Array<readonly [string, string]> {
    const headers: Array<readonly [string, string]> = [MAX_FORWARDS_70, ['Event', pkg]];
    const accept = reader?.accept() ?? (this.packages.get(pkg)?.accept ?? []).join(', ');
    if (accept !== '') headers.push(['Accept', accept]);
    // RFC 4662 §4.1: a subscriber to a resource list says it supports them.
    if (reader?.eventlist === true) headers.push(['Supported', EVENTLIST]);
    headers.push(
      ['Expires', String(expires)],
      // Our Contact, in its place: the UA writes it for the transport it sends on (SendRequestOptions.contact).
      CONTACT_IN_PLACE,
    );
    for (const h of this.extraHeaders) headers.push(h);
    return headers;
  }

  /**
   * How a SUBSCRIBE in `state` is sent: our Contact, and presence_outbound_proxy
   * as the next hop (the seed sends every presence SUBSCRIBE through it), unless
   * the route set already starts there.
   */
  private sendOptions(state: DialogState, dialog?: SubscriptionDialog, handOver = false): SendRequestOptions {
    const proxy = this.settings.presenceOutboundProxy;
    const options: SendRequestOptions = { contact: this.contact };
    if (handOver) options.handOver = true;
    if (proxy && !routeLeadsTo(state.routeSet[0], proxy)) options.outboundProxy = proxy;
    if (dialog !== undefined && this.settings.notifySourceCheck !== 'off') {
      // The first hop as resolved: where this dialog's NOTIFYs are expected from (notify-source.ts).
      options.onTarget = (destination) => {
        if (dialog.dialog !== state) return;
        dialog.hops = withHop(dialog.hops, destination.host);
      };
    }
    return options;
  }

  private sendSubscribe(dialog: SubscriptionDialog, expires: number): void {
    const state = dialog.dialog!;
    let request: SipRequest;
    try {
      request = buildInDialogRequest(state, 'SUBSCRIBE', this.subscribeHeaders(dialog.pkg, expires, dialog.reader));
    } catch (error) {
      this.fail(dialog, LOCAL_FAILURE, String(error));
      return;
    }
    if (dialog.auth !== undefined && dialog.subscriberCredentials !== undefined) {
      request.headers.append(dialog.auth.headerName, digestAuthorization(dialog.auth, dialog.subscriberCredentials, 'SUBSCRIBE', request.uri, this.random));
    }
    // Whole milliseconds: a small integer is kept in the field itself, a fraction in a 16-byte box per dialog.
    dialog.lastSubscribeAt = Math.floor(this.scheduler.clock.now());
    dialog.lastRequestedExpires = expires;
    // Our CSeq went up (in a confirmed dialog): the stored high-water mark follows.
    this.markDirty(dialog);
    const generation = ++dialog.generation;
    this.stats.subscribesSent++;
    if (expires === 0) this.stats.unsubscribesSent++;
    dialog.inflight = this.ua.sendRequest(
      request,
      {
        onFinal: (response, locallyGenerated) => {
          if (generation !== dialog.generation) {
            if (dialog.handedOver) {
              // Another node owns the dialog now: its answer is none of our business (no unSUBSCRIBE).
              this.countResponse(response.status);
              return;
            }
            // The dialog was dropped while this was in flight (docs/ser-presence-b2b.md §6 item 33).
            this.onLateAnswer(dialog.pkg, state, expires, response);
            return;
          }
          dialog.inflight = undefined;
          this.countResponse(response.status);
          this.onSubscribeResponse(dialog, response, locallyGenerated);
        },
      },
      // Built above for this send alone: the UA need not copy it (issue 11, one header copy less per SUBSCRIBE).
      this.sendOptions(state, dialog, true),
    );
  }

  /**
   * A final answer to a SUBSCRIBE of a dialog we dropped meanwhile. A 2xx
   * made (or kept) a subscription at the server that nobody wants: end it
   * with an unSUBSCRIBE (Expires: 0, RFC 6665 §4.1.2.3) in the dialog that
   * 2xx makes, so that the server keeps no orphan until it expires. Nothing
   * waits for the answer.
   */
  private onLateAnswer(pkg: string, state: DialogState, expires: number, response: SipResponse): void {
    this.countResponse(response.status);
    if (expires === 0 || response.status < 200 || response.status >= 300 || expiresOf(response) === 0) return;
    const tag = safe(() => toHeader(response).tag);
    if (tag === undefined) return;
    // The 2xx of another fork than the one the dialog had made a dialog of its own (RFC 6665 §4.1.2.4).
    const target: DialogState =
      state.remoteTag === undefined || tag === state.remoteTag
        ? state
        : newDialogState({ callId: state.callId, localTag: state.localTag, localUri: state.localUri, remoteUri: state.remoteUri });
    if (target !== state) target.localCSeq = state.localCSeq;
    if (confirmFromResponse(target, response) !== undefined) return;
    try {
      const request = buildInDialogRequest(target, 'SUBSCRIBE', this.subscribeHeaders(pkg, 0));
      this.stats.subscribesSent++;
      this.stats.unsubscribesSent++;
      this.ua.sendRequest(request, { onFinal: (answer) => this.countResponse(answer.status) }, this.sendOptions(target));
    } catch {
      // Best effort: the UA may be closing. The server's subscription then expires on its own.
    }
  }

  private countResponse(status: number): void {
    const cls = `${Math.min(6, Math.max(1, Math.floor(status / 100)))}xx` as keyof EngineStats['responses'];
    this.stats.responses[cls]++;
  }

  // ------------------------------------------------------------------ responses

  private onSubscribeResponse(dialog: SubscriptionDialog, response: SipResponse, locallyGenerated: boolean): void {
    const status = response.status;
    const state = dialog.state;
    if (state === 'unsubscribing') {
      if (status >= 200 && status < 300) {
        this.setState(dialog, 'terminating');
        dialog.arm('timer', this.scheduler.after(this.settings.waitForTermNotify * 1000, () => this.destroy(dialog)));
      } else if (status === 401 || status === 407) {
        if (this.tryAuthenticate(dialog, response) !== 'sent') this.destroy(dialog);
      } else {
        this.destroy(dialog);
      }
      return;
    }
    if (state !== 'subscribing' && state !== 'refreshing') return;
    const initial = state === 'subscribing';

    if (status >= 200 && status < 300) {
      // RFC 4662 §4.1: the record is a resource list; refreshes say so too.
      if (dialog.reader !== undefined && requiresEventlist(response)) dialog.reader = dialog.reader.asEventlist();
      this.onSubscribeAccepted(dialog, response);
      return;
    }
    if (status < 200) return;

    if (dialog.memberCount === 0) {
      this.destroy(dialog);
      return;
    }
    if (dialog.restart === 'resuming') {
      if (status === 481 || status === 408) {
        // The server no longer knows the stored dialog, or does not answer in it: a new dialog (issue 10).
        this.fallBack(dialog);
        return;
      }
      // Anything else is what it would be to any refresh (below); counted once, not for each challenge.
      if (status !== 401 && status !== 407 && status !== 423) this.restartStats.resumeFailed++;
    }
    if (status === 401 || status === 407) {
      const outcome = this.tryAuthenticate(dialog, response);
      if (outcome === 'sent') return;
      if (outcome === 'stale-loop') {
        this.fail(dialog, STALE_LOOP, `${status} ${response.reason}: stale=true ${dialog.staleAnswers} times in a row`);
        return;
      }
    }
    dialog.staleAnswers = 0;
    if (status === 423) {
      // RFC 6665 §4.1.2.1 / RFC 3261 §21.4.17: retry at once with the Min-Expires named.
      const minExpires = minExpiresOf(response);
      if (minExpires !== undefined && minExpires > dialog.lastRequestedExpires && dialog.intervalRetries < 3) {
        dialog.intervalRetries++;
        dialog.requestedExpires = minExpires;
        this.sendSubscribe(dialog, minExpires);
        return;
      }
    }
    if (initial && status === 421 && dialog.reader?.eventlist === false && requiresEventlist(response)) {
      // RFC 4662 §4.1: the record is a resource list and the notifier wants `Supported: eventlist`.
      dialog.reader = dialog.reader.asEventlist();
      this.sendInitial(dialog, dialog.dialog!.remoteUri);
      return;
    }
    if (status >= 300 && status < 400) {
      // A redirect, to the first SUBSCRIBE or to a refresh: a new dialog to the best Contact.
      const contacts = safe(() => contactsOf(response));
      const target = contacts === undefined || contacts === '*' ? undefined : [...contacts].sort((a, b) => (b.q ?? 1) - (a.q ?? 1))[0];
      if (target !== undefined && dialog.redirects < this.settings.maxRedirects) {
        // SER followed the first Contact as both To and Request-URI (docs/ser-presence-b2b.md §2.3); we cap the chain.
        dialog.redirects++;
        this.dropDialog(dialog);
        this.startNewSubscription(dialog, target.uri);
        return;
      }
    }
    if (!initial && status === 481) {
      if (dialog.confirmingResume) this.restartStats.lostAfterResume++;
      dialog.confirmingResume = false;
      // The server forgot the dialog (restart, expiry): start a new one soon (pjsua: 500 ms).
      this.dropDialog(dialog);
      const wait = this.retryLater(dialog, 0);
      this.emit(dialog, { state: 'pending', reason: 'resubscribing', ...(wait !== undefined ? { retryAfter: Math.ceil(wait / 1000) } : {}) });
      return;
    }
    const cause = locallyGenerated ? localFailureCause(response) : undefined;
    const failure = failureStatusForResponse(status, locallyGenerated, cause instanceof PresenceB2BError ? cause.code : undefined);
    const message = cause === undefined ? `${status} ${response.reason}` : `${status} ${response.reason}: ${cause.message}`;
    if (failure.final) this.finishWithError(dialog, failure, message);
    else this.fail(dialog, failure, message, locallyGenerated ? undefined : retryAfterOf(response)?.seconds);
  }

  private onSubscribeAccepted(dialog: SubscriptionDialog, response: SipResponse): void {
    const status = response.status;
    const problem = confirmFromResponse(dialog.dialog!, response);
    dialog.authAttempts = 0;
    dialog.staleAnswers = 0;
    if (problem !== undefined) {
      // Nothing can be sent in a dialog we cannot make: not even an unSUBSCRIBE.
      if (dialog.memberCount === 0) this.destroy(dialog);
      else this.fail(dialog, UNUSABLE_DIALOG, `${status} ${response.reason}: ${problem}`);
      return;
    }
    if (dialog.memberCount === 0) {
      this.sendUnsubscribe(dialog);
      return;
    }
    const granted = Math.min(dialog.lastRequestedExpires, expiresOf(response) ?? dialog.lastRequestedExpires);
    if (granted <= 0) {
      // A 2xx with Expires: 0 grants nothing: treat like an error.
      this.fail(dialog, failureStatusForResponse(500, false), `${status} ${response.reason} with Expires: 0`);
      return;
    }
    // The SUBSCRIBE that makes a dialog, answered only after two retransmissions (4·T1, RFC 3261 §17.1.2.2):
    // datagrams to or from the server were lost or queued, so the first NOTIFY it sent meanwhile, and our 200
    // to it, may be lost too; the server then drops the subscription at that NOTIFY's Timer F (RFC 6665 §4.2.2).
    // Confirmed like a NOTIFY that came again (answerLost). Never for a refresh, so a slow server is not refreshed in a loop.
    if (dialog.state === 'subscribing' && dialog.restart === undefined && this.scheduler.clock.now() - (dialog.lastSubscribeAt ?? Number.POSITIVE_INFINITY) >= 4 * this.settings.t1Ms) {
      dialog.confirmingAnswer = true;
    }
    dialog.confirmed = true;
    dialog.redirects = 0;
    let confirmWithinMs: number | undefined;
    if (dialog.restart === 'resuming') {
      dialog.restart = undefined;
      this.restartStats.resumed++;
      if (dialog.targetMoved) {
        // The resume moved the target away from an address that may be gone for good (another node's, a
        // dead one's): a NOTIFY the server sent there before it can still time out, up to Timer F (64·T1,
        // RFC 3261 §17.1.2.2) later, and a server may then drop the subscription without a word to the
        // new target (Kamailio: timeout_rm_subs). One more refresh after that finds it out (481: a new dialog).
        confirmWithinMs = this.confirmAfterMs;
        dialog.confirmingResume = true;
        this.restartStats.resumeConfirmations++;
      }
      dialog.targetMoved = false;
    } else if (dialog.confirmingResume) {
      // The confirming refresh found the subscription there: an ordinary dialog from now on.
      dialog.confirmingResume = false;
    }
    // A NOTIFY came again after we answered it (answerLost), or the answer above came late: confirm within 64·T1 + 1 s.
    if (dialog.confirmingAnswer) confirmWithinMs = Math.min(confirmWithinMs ?? Number.POSITIVE_INFINITY, this.confirmAfterMs);
    this.setState(dialog, 'active');
    this.scheduleRefresh(dialog, granted, confirmWithinMs);
    // Confirmed (remote tag, route set, target) with its grant: what a restart needs.
    this.markDirty(dialog);
    if (dialog.notifyReceived) {
      this.succeeded(dialog);
      return;
    }
    // Timer N (RFC 6665 §4.1.2.4): the NOTIFY must follow within 64·T1.
    this.stopTimerN(dialog);
    dialog.timerNTicket = this.timerN.add(dialog);
  }

  /** Cancels the dialog's Timer N, if it runs. */
  private stopTimerN(dialog: SubscriptionDialog): void {
    if (dialog.timerNTicket < 0) return;
    this.timerN.cancel(dialog.timerNTicket, dialog);
    dialog.timerNTicket = -1;
  }

  /** Both timers of the dialog (its slot and Timer N). */
  private clearTimers(dialog: SubscriptionDialog): void {
    this.stopTimerN(dialog);
    dialog.clearTimers();
  }

  /** Timer N ran out (the engine's Timer N queue); only the dialog's current Timer N counts. */
  private onTimerN(dialog: SubscriptionDialog, ticket: number): void {
    if (dialog.timerNTicket !== ticket) return;
    dialog.timerNTicket = -1;
    if (!dialog.notifyReceived && dialog.state === 'active') {
      this.fail(dialog, NO_NOTIFY, 'no NOTIFY within Timer N after the 2xx');
    }
  }

  /**
   * Answers a 401/407 with digest credentials (RFC 3261 §22.2): 'sent' when it
   * did; 'stale-loop' after the third stale=true challenge in a row (RFC 7616
   * §3.3: a stale nonce is not a wrong password, but a server that never takes
   * our answer must not get a SUBSCRIBE per round trip forever); 'refused'
   * when we have no credentials, or they were refused.
   */
  private tryAuthenticate(dialog: SubscriptionDialog, response: SipResponse): 'sent' | 'stale-loop' | 'refused' {
    if (this.credentials === undefined) return 'refused';
    const proxy = response.status === 407;
    const challenges = safe(() => challengesOf(response, proxy ? 'proxy-authenticate' : 'www-authenticate')) ?? [];
    const challenge = challenges.find(isSupportedChallenge);
    if (challenge === undefined) return 'refused';
    if (challenge.stale) {
      if (++dialog.staleAnswers > MAX_STALE_ANSWERS) return 'stale-loop';
    } else {
      dialog.staleAnswers = 0;
      if (++dialog.authAttempts > 1) return 'refused';
    }
    const credentials = this.credentials(dialog.subscriber, challenge.realm ?? '');
    if (credentials === undefined) return 'refused';
    dialog.subscriberCredentials = credentials;
    dialog.auth = { challenge, headerName: proxy ? 'Proxy-Authorization' : 'Authorization', nonceCount: 0 };
    this.sendSubscribe(dialog, dialog.state === 'unsubscribing' ? 0 : dialog.lastRequestedExpires);
    return 'sent';
  }

  // ------------------------------------------------------------------ timers and transitions

  private scheduleRefresh(dialog: SubscriptionDialog, grantedSeconds: number, withinMs?: number): void {
    const now = this.scheduler.clock.now();
    dialog.expiresAt = Math.ceil(now + grantedSeconds * 1000); // whole ms: no number box per dialog
    const delayMs = delayToRefreshTick(now, refreshDelaySeconds(grantedSeconds, this.settings, this.random) * 1000);
    // One function for every dialog's refresh timer: a held subscription's timer costs no closure.
    dialog.arm('timer', this.scheduler.afterCall(withinMs === undefined ? delayMs : Math.min(delayMs, withinMs), this.refreshDue, dialog));
  }

  /** A refresh timer fired (scheduleRefresh). */
  private readonly refreshDue = (dialog: SubscriptionDialog): void => {
    if (dialog.state !== 'active') return;
    if (dialog.memberCount === 0) {
      this.tearDown(dialog);
      return;
    }
    if (!this.stillOurs(dialog, this.refreshDue)) return;
    dialog.intervalRetries = 0;
    if (dialog.confirmingAnswer) {
      dialog.confirmingAnswer = false;
      this.stats.confirmingRefreshes++;
    }
    // A resumed dialog whose refresh came before its turn: this refresh is the resume.
    if (dialog.restart === 'resume') dialog.restart = 'resuming';
    this.setState(dialog, 'refreshing');
    this.sendSubscribe(dialog, dialog.requestedExpires);
  };

  /** The current SIP dialog works (a 2xx and a NOTIFY that did not end it): the backoff starts over. */
  private succeeded(dialog: SubscriptionDialog): void {
    dialog.established = true;
    dialog.failures = 0;
  }

  /** How long the current failure waits: the server's delay when it gave one (capped), else the backoff. */
  private failureDelayMs(dialog: SubscriptionDialog, serverRetryAfter: number | undefined): number {
    return serverRetryAfter !== undefined
      ? serverRetryDelayMs(serverRetryAfter, this.settings)
      : backoffDelayMs(dialog.failures, this.settings, this.random);
  }

  /**
   * A failure that may pass: tell the subscribers when we try again, forget the
   * dialog, and retry after the server's Retry-After (capped) or the backoff.
   */
  private fail(dialog: SubscriptionDialog, failure: FailureStatus, message: string, serverRetryAfter?: number): void {
    this.stats.failures++;
    dialog.failures++;
    this.dropDialog(dialog);
    const wait = this.retryLater(dialog, this.failureDelayMs(dialog, serverRetryAfter));
    this.emit(dialog, {
      state: failure.state,
      reason: failure.reason,
      ...(wait !== undefined ? { retryAfter: Math.ceil(wait / 1000) } : {}),
      error: { code: failure.code, message },
    });
  }

  /** A final answer to a SUBSCRIBE: see finish(). */
  private finishWithError(dialog: SubscriptionDialog, failure: FailureStatus, message: string): void {
    this.stats.failures++;
    this.dropDialog(dialog);
    this.finish(dialog, { state: failure.state, reason: failure.reason, error: { code: failure.code, message } });
  }

  /**
   * A final outcome (rejected, noresource, invariant, …): reported once to
   * every subscriber, then no automatic retry (state `final`) unless
   * final_retry_time is set. The dialog stops taking identical subscriptions:
   * subscribing again starts afresh.
   */
  private finish(dialog: SubscriptionDialog, update: StatusUpdate): void {
    this.registry.stopSharing(dialog);
    this.release(dialog);
    if (this.settings.finalRetryTime > 0) {
      const wait = this.retryLater(dialog, this.settings.finalRetryTime * 1000);
      if (wait !== undefined) update.retryAfter = Math.ceil(wait / 1000);
    } else if (dialog.memberCount === 0 || this.closing) {
      this.destroy(dialog);
    } else {
      this.setState(dialog, 'final');
    }
    this.emit(dialog, update);
  }

  /**
   * Waits (state `waiting`), then starts a new subscription to the original
   * record (SER: docs/ser-presence-b2b.md §2.3, waiting row). 0 means "at once": after 0.5–1 s.
   * Never sooner than 2 s after the last SUBSCRIBE. Returns the wait in ms, or
   * undefined when the dialog was destroyed instead (nobody left, or closing).
   */
  private retryLater(dialog: SubscriptionDialog, delayMs: number): number | undefined {
    if (dialog.memberCount === 0 || this.closing) {
      this.destroy(dialog);
      return undefined;
    }
    const now = this.scheduler.clock.now();
    // Whatever the server says, never start SUBSCRIBE/NOTIFY loops faster than one per 2 s.
    const earliest = (dialog.lastSubscribeAt ?? Number.NEGATIVE_INFINITY) + MIN_RESUBSCRIBE_GAP_MS;
    const wait = Math.max(delayMs, earliest - now, 0) + (delayMs === 0 ? 500 + this.random.next() * 500 : 0);
    this.setState(dialog, 'waiting');
    dialog.redirects = 0;
    dialog.arm('timer', this.scheduler.after(wait, () => this.startNewSubscription(dialog)));
    return wait;
  }

  /** The last subscriber left: end the SIP side according to where the dialog is (docs/ser-presence-b2b.md §2.3, destroy column). */
  private tearDown(dialog: SubscriptionDialog): void {
    this.registry.stopSharing(dialog);
    this.release(dialog);
    switch (dialog.state) {
      case 'waiting':
      case 'final':
        this.destroy(dialog); // nothing on the wire (docs/ser-presence-b2b.md §6 item 30)
        break;
      case 'subscribing':
      case 'refreshing':
        // Wait for the answer, then unsubscribe (items 28, 29): handled in onSubscribeResponse.
        break;
      case 'active':
        this.sendUnsubscribe(dialog);
        break;
      default:
        break;
    }
  }

  private sendUnsubscribe(dialog: SubscriptionDialog): void {
    if (this.closing) this.closeCounts.unsubscribesSent++;
    this.registry.stopSharing(dialog);
    this.release(dialog);
    this.clearTimers(dialog);
    this.setState(dialog, 'unsubscribing');
    this.sendSubscribe(dialog, 0);
  }

  /**
   * Forgets the SIP dialog (not the subscription): no NOTIFY matches it any
   * more, its SUBSCRIBE in flight stops retransmitting (and a late answer is
   * handled by onLateAnswer: generation), and no timer of the dialog runs.
   */
  private dropDialog(dialog: SubscriptionDialog): void {
    this.forgetSnapshot(dialog);
    dialog.restart = undefined;
    dialog.confirmingResume = false;
    dialog.confirmingAnswer = false;
    this.registry.setSipDialog(dialog, undefined);
    dialog.hops = undefined;
    dialog.generation++;
    dialog.inflight?.stopRetransmitting();
    dialog.inflight = undefined;
    this.clearTimers(dialog);
    dialog.expiresAt = undefined;
  }

  /** The end of a dialog, whatever the reason: the one way out of the registry. */
  private destroy(dialog: SubscriptionDialog): void {
    if (dialog.state === 'destroyed') return;
    this.dropDialog(dialog);
    this.release(dialog);
    // Its last status's body leaves the broker's store of kept bodies (the record stays readable).
    letGoKeptUpdate(ownKept(dialog));
    this.setState(dialog, 'destroyed');
    this.registry.remove(dialog);
    if (this.registry.size === 0) this.onAllDestroyed?.();
  }

  private setState(dialog: SubscriptionDialog, next: SubscriptionDialogState): void {
    const previous = dialog.state;
    dialog.state = next;
    if (stateChannel.hasSubscribers && previous !== next) {
      stateChannel.publish({ dialog: dialog.id, record: dialog.record, subscriber: dialog.subscriber, from: previous, to: next } satisfies EngineStateEvent);
    }
  }

  private emit(dialog: SubscriptionDialog, update: StatusUpdate): void {
    const previous = ownKept(dialog);
    dialog.kept = update;
    const first = dialog.firstMember;
    let firstTold = false;
    for (let i = 0; i < dialog.memberCount; i++) {
      const member = dialog.memberAt(i);
      if (member === undefined) continue;
      const told = this.deliver(member, update);
      if (member === first) firstTold = told;
    }
    if (firstTold && isUsualUpdate(update) && keepsReportedStatus(first)) {
      // The first member's broker record holds this status now (its last report): read back from
      // there, not kept a second time here (issue 11: −64 B and an object per held dialog).
      letGoKeptUpdate(previous);
      dialog.kept = first;
      return;
    }
    // Kept without a document that can be read again from the body (a joining subscriber's message
    // reads it), written over the previous one: no object per NOTIFY lives until the next (issue 11).
    // Its body in the broker's store of kept bodies, the same slot as the broker's last status.
    dialog.kept = compactUpdate(update, previous, keptBodiesOf(first));
  }

  /** True if a message was queued for `member`. */
  private deliver(member: QsaSubscription, update: StatusUpdate): boolean {
    if (!this.broker.notify(member, update)) return false;
    this.stats.statusMessages++;
    return true;
  }

  /**
   * The broker took `sub` from this engine (its registration withdrawn): if a
   * dialog reads its last status from `sub`'s record, it keeps a copy of its
   * own now, before another notifier reports for that record.
   */
  [SUBSCRIPTION_REVOKED](sub: QsaSubscription): void {
    const dialog = this.registry.dialogOfMember(sub);
    if (dialog === undefined || dialog.kept !== sub) return;
    const update = reportedUpdateOf(sub);
    dialog.kept = update === undefined ? undefined : compactUpdate(update, undefined, keptBodiesOf(sub));
  }

  // ------------------------------------------------------------------ persistence and restart (issue 10)

  /** `dialog` persists its snapshots under `key` from now on. */
  private own(dialog: SubscriptionDialog, key: string): void {
    dialog.storeKey = key;
    this.snapshotOwners.set(key, dialog);
  }

  /**
   * The current SIP dialog changed in what a restart needs (our CSeq, the
   * remote CSeq, route set, target, grant): the writer reads it at its next
   * tick. One map write; nothing is copied or written here, so that the
   * NOTIFY path stays free of store work. Only confirmed dialogs are stored.
   */
  private markDirty(dialog: SubscriptionDialog): void {
    const key = dialog.storeKey;
    if (key === undefined || this.snapshots === undefined || !dialog.confirmed) return;
    dialog.stored = true;
    this.snapshots.markDirty(key, this.snapshotSource);
  }

  /** The current SIP dialog is gone: its snapshot is deleted at the next tick. */
  private forgetSnapshot(dialog: SubscriptionDialog): void {
    if (!dialog.stored) return;
    dialog.stored = false;
    if (dialog.storeKey !== undefined) this.snapshots?.delete(dialog.storeKey);
  }

  /** The subscription is ending (unsubscribed, final, destroyed): no snapshot any more, nor later. */
  private release(dialog: SubscriptionDialog): void {
    this.forgetSnapshot(dialog);
    const key = dialog.storeKey;
    if (key === undefined) return;
    dialog.storeKey = undefined;
    if (this.snapshotOwners.get(key) === dialog) this.snapshotOwners.delete(key);
  }

  /** What the writer stores under `key` (DialogSnapshotSource): the owner's dialog as it is now, or undefined (deleted). */
  private storedDialogOf(key: string): StoredDialog | undefined {
    const d = this.snapshotOwners.get(key);
    const s = d?.dialog;
    if (d === undefined || s === undefined || !d.confirmed || !d.stored || s.remoteTag === undefined || d.expiresAt === undefined) return undefined;
    const clock = this.scheduler.clock;
    return {
      key,
      package: d.pkg,
      record: d.record,
      subscriber: d.subscriber,
      callId: s.callId,
      localTag: s.localTag,
      remoteTag: s.remoteTag,
      localUri: s.localUri,
      remoteUri: s.remoteUri,
      localCSeq: s.localCSeq,
      remoteCSeq: s.remoteCSeq,
      routeSet: s.routeSet,
      remoteTarget: s.remoteTarget,
      contact: this.contactFor(s),
      // Wall time: monotonic time means nothing to the next process.
      expiresAt: Math.max(0, Math.round(clock.wallTime() + (d.expiresAt - clock.now()))),
    };
  }

  /**
   * Our Contact in `state` as the UA writes it for the transport the first
   * hop asks for (informational: a resume always sends the current one).
   */
  private contactFor(state: DialogState): string {
    const hop = (state.routeSet[0] ?? state.remoteTarget).toLowerCase();
    const transport = hop.includes(';transport=tcp') ? 'tcp' : hop.includes(';transport=tls') || hop.includes('sips:') ? 'tls' : 'udp';
    try {
      return `<${this.ua.contactUri(this.contact.user, transport)}>`;
    } catch {
      // No socket for that transport (the UA would pick another): the UDP one says enough.
      return `<${this.ua.contactUri(this.contact.user, 'udp')}>`;
    }
  }

  /** Takes a stored dialog of this identity, if one is waiting to be claimed. */
  private claim(identity: string): UnclaimedDialog | undefined {
    const list = this.unclaimedByIdentity.get(identity);
    const unclaimed = list?.shift();
    if (list !== undefined && list.length === 0) this.unclaimedByIdentity.delete(identity);
    if (unclaimed === undefined) return undefined;
    const s = unclaimed.stored;
    // From now on the registry matches its NOTIFYs.
    this.unclaimedByDialogKey.delete(dialogLookupKey(s.callId, s.localTag));
    this.restartStats.claimed++;
    return unclaimed;
  }

  /**
   * A subscription met its stored dialog (by identity): rebuild the SIP dialog
   * (CSeq RESUME_CSEQ_MARGIN above the stored mark: the last second's
   * numbers may be missing from the store) and queue its in-dialog refresh
   * (RFC 6665 §4.1.2.2; a target refresh, RFC 6665 §3.1, that carries our
   * current Contact). Meanwhile it is `active`: a NOTIFY in it reaches the
   * subscriber, and an unsubscribe ends it in the dialog. Expired, or out of
   * CSeq numbers: a new dialog, queued all the same.
   */
  private resume(dialog: SubscriptionDialog, unclaimed: UnclaimedDialog): void {
    const s = unclaimed.stored;
    if (this.snapshots !== undefined) this.own(dialog, this.snapshotOwners.has(s.key) ? `${s.key}\n${this.random.token(12)}` : s.key);
    const left = s.expiresAt - this.scheduler.clock.wallTime();
    const cseq = resumedCSeq(s.localCSeq);
    if (left < RESUME_MIN_LEFT_MS || cseq === undefined) {
      this.restartStats.expired++;
      // The stored one is of no use any more.
      if (dialog.storeKey === s.key) this.snapshots?.delete(s.key);
      this.queueNewDialog(dialog);
      return;
    }
    const remoteCSeq = unclaimed.remoteCSeq === undefined || s.remoteCSeq === undefined ? (unclaimed.remoteCSeq ?? s.remoteCSeq) : Math.max(unclaimed.remoteCSeq, s.remoteCSeq);
    this.registry.setSipDialog(dialog, {
      callId: s.callId,
      localTag: s.localTag,
      remoteTag: s.remoteTag,
      localUri: s.localUri,
      remoteUri: s.remoteUri,
      // buildInDialogRequest counts up first: the resume carries resumedCSeq().
      localCSeq: cseq - 1,
      remoteCSeq,
      routeSet: [...s.routeSet],
      remoteTarget: s.remoteTarget,
    });
    // The stored snapshot is this dialog's until it says otherwise (a drop deletes it).
    dialog.stored = dialog.storeKey === s.key;
    dialog.confirmed = true;
    dialog.expiresAt = Math.ceil(this.scheduler.clock.now() + left);
    dialog.restart = 'resume';
    // Our Contact is not the one stored: the resume is a target refresh away from an address that may be gone.
    dialog.targetMoved = s.contact !== this.contactFor(dialog.dialog!);
    this.setState(dialog, 'active');
    this.restartPacer().push(() => this.restartTurn(dialog));
  }

  /** A new dialog for `dialog`, when the restart pacer gives it a turn (state `waiting` until then). */
  private queueNewDialog(dialog: SubscriptionDialog): void {
    dialog.restart = 'new';
    this.setState(dialog, 'waiting');
    this.restartPacer().push(() => this.restartTurn(dialog));
  }

  /** A restart turn that had to wait for its ownership to be confirmed: a turn again, behind the others. */
  private readonly queueTurnAgain = (dialog: SubscriptionDialog): void => {
    if (dialog.state !== 'destroyed') this.restartPacer().push(() => this.restartTurn(dialog));
  };

  /** The resuming refresh got a 481 or a timeout: the stored dialog is dropped (and deleted), a new one queued. */
  private fallBack(dialog: SubscriptionDialog): void {
    this.restartStats.fallbacks++;
    this.dropDialog(dialog);
    dialog.confirmed = false;
    this.queueNewDialog(dialog);
  }

  /** A turn of the restart pacer: what the dialog is still owed, if anything; true when something was sent. */
  private restartTurn(dialog: SubscriptionDialog): boolean {
    if (dialog.state === 'destroyed' || !this.stillOurs(dialog, this.queueTurnAgain)) return false;
    if (dialog.restart === 'resume' && dialog.state === 'active') {
      if (dialog.expiresAt === undefined || dialog.expiresAt - this.scheduler.clock.now() < RESUME_MIN_LEFT_MS) {
        // It lapsed while waiting for its turn.
        this.fallBack(dialog);
        return false;
      }
      dialog.restart = 'resuming';
      dialog.intervalRetries = 0;
      this.setState(dialog, 'refreshing');
      this.sendSubscribe(dialog, dialog.requestedExpires);
      return true;
    }
    if (dialog.restart === 'new' && dialog.state === 'waiting') {
      dialog.restart = undefined;
      this.sendInitial(dialog, dialog.record);
      return true;
    }
    return false;
  }

  // ------------------------------------------------------------------ after an overload

  /**
   * The transport started shedding (docs/hostile-input.md, "Floods"): a
   * refresh still waiting for the end of an earlier overload period waits for
   * the end of this one instead.
   */
  overloadStarted(): void {
    this.overloadSweep?.cancel();
    this.overloadSweep = undefined;
  }

  /**
   * The transport stopped shedding. While it shed, NOTIFYs of our dialogs were
   * answered 503 or, when even the kernel's receive buffer was full, not at
   * all. A 503 leaves the subscription at its server but loses the state
   * that NOTIFY carried; a NOTIFY that times out may end the subscription at
   * its server without a word to us (RFC 6665 §4.2.2 allows it; Kamailio's
   * timeout_rm_subs does it), so we would hold a dialog the server no longer
   * has until its next refresh, up to an hour later. So every active dialog
   * is refreshed once, paced like a restart (max_subscribe_rate): the server
   * answers with a NOTIFY of its current state (RFC 6665 §4.2.1.2), or 481
   * for a subscription it dropped, and then a new one is made at once.
   *
   * The refreshes start T2 (8·T1) and a second after the end: a NOTIFY that
   * the server last retransmitted during the overload times out within T2 of
   * that retransmission (RFC 3261 §17.1.2.2), so by then the server has
   * dropped whatever it will drop. A dialog that sent a SUBSCRIBE since the end
   * is skipped; a new overload period before the refreshes start postpones them.
   */
  overloadEnded(): void {
    if (this.closing) return;
    this.overloadSweep?.cancel();
    this.overloadEndedAt = this.scheduler.clock.now();
    this.overloadSweep = this.scheduler.after(8 * this.settings.t1Ms + 1000, () => {
      this.overloadSweep = undefined;
      if (this.closing) return;
      const pacer = this.restartPacer();
      for (const dialog of this.registry.dialogs()) if (dialog.state === 'active') pacer.push(() => this.overloadRefreshTurn(dialog));
    });
  }

  /**
   * A NOTIFY came again after we answered it (the UA's answered retransmission,
   * RFC 3261 §17.2.2): our final did not reach the server. If no later copy of
   * it gets through before the server's Timer F (64·T1, §17.1.2.2), the server
   * ends the subscription without a word to us (RFC 6665 §4.2.2: a NOTIFY that
   * times out; Kamailio's timeout_rm_subs), while the dialog here stays
   * active until its next refresh, up to an hour later, and every change in
   * between is missed. So the refresh is brought forward to 64·T1 + 1 s from
   * now, once per dialog until it is sent: a 481 to it makes a new dialog, a 2xx
   * and its NOTIFY bring the current state. The cost is one SUBSCRIBE per
   * dialog whose answers were lost, nothing on the NOTIFY path.
   */
  answerLost(request: SipRequest): void {
    if (this.closing || request.method !== 'NOTIFY') return;
    const localTag = safe(() => toHeader(request).tag);
    const callId = localTag === undefined ? undefined : safe(() => callIdOf(request));
    const dialog = callId === undefined ? undefined : this.registry.dialogOfNotify(callId, localTag!);
    const state = dialog?.dialog;
    if (dialog === undefined || state === undefined || dialog.restart !== undefined || dialog.confirmingAnswer) return;
    const phase = dialog.state;
    if (phase !== 'active' && phase !== 'subscribing' && phase !== 'refreshing') return;
    if (state.remoteTag !== undefined && safe(() => fromHeader(request).tag) !== state.remoteTag) return;
    dialog.confirmingAnswer = true;
    // A NOTIFY before the 2xx (a busy server sends both at once): the 2xx brings the refresh forward (onSubscribeAccepted).
    if (phase !== 'active') return;
    const at = this.scheduler.clock.now() + this.confirmAfterMs;
    // Only ever earlier: a refresh already due before then answers the question too.
    if (dialog.timerDueAt('timer') <= at) return;
    dialog.arm('timer', this.scheduler.afterCall(this.confirmAfterMs, this.refreshDue, dialog));
  }

  /**
   * When a confirming refresh goes (a moved resume, an answer that may be lost): after the server's Timer F
   * for a NOTIFY it sent before (64·T1, RFC 3261 §17.1.2.2) and a second more, it has dropped what it will drop.
   */
  private get confirmAfterMs(): number {
    return 64 * this.settings.t1Ms + 1000;
  }

  /** A turn of the refresh after an overload: true when it sent a SUBSCRIBE. */
  private overloadRefreshTurn(dialog: SubscriptionDialog): boolean {
    if (this.closing || dialog.state !== 'active' || dialog.restart !== undefined) return false;
    if ((dialog.lastSubscribeAt ?? Number.NEGATIVE_INFINITY) > this.overloadEndedAt) return false;
    const sent = this.stats.subscribesSent;
    this.refreshDue(dialog);
    if (this.stats.subscribesSent === sent) return false;
    this.stats.refreshesAfterOverload++;
    return true;
  }

  private restartPacer(): RestartPacer {
    this.restartPacerInstance ??= new RestartPacer(this.settings.maxSubscribeRate, this.scheduler, this.random);
    return this.restartPacerInstance;
  }

  /**
   * A NOTIFY in a stored dialog that no subscription has claimed yet: 200
   * (a 481 would make the server end a subscription that may be claimed in a
   * moment), nothing delivered. A terminated one ends it: forgotten, deleted.
   */
  private answerUnclaimedNotify(incoming: IncomingRequest, unclaimed: UnclaimedDialog): 1 | -1 {
    const request = incoming.request;
    const s = unclaimed.stored;
    if (safe(() => fromHeader(request).tag) !== s.remoteTag) return -1;
    let subState: SubscriptionState | undefined;
    try {
      subState = subscriptionStateOf(request);
    } catch {
      return this.refuseNotify(incoming, 400, 'Bad Subscription-State');
    }
    const seq = safe(() => cseqOf(request).seq);
    if (seq === undefined || subState === undefined) return this.refuseNotify(incoming, 400, seq === undefined ? 'Bad CSeq' : 'Missing Subscription-State');
    incoming.reply(200, 'OK');
    this.restartStats.unclaimedNotifies++;
    if (unclaimed.remoteCSeq === undefined || seq > unclaimed.remoteCSeq) unclaimed.remoteCSeq = seq;
    if (subState.state === 'terminated') this.dropUnclaimed(unclaimed);
    return 1;
  }

  /** Forgets a stored dialog nobody will claim; its snapshot is deleted unless a live dialog took its key. */
  private dropUnclaimed(unclaimed: UnclaimedDialog): void {
    const s = unclaimed.stored;
    const identity = dialogIdentity(s.package, s.record, s.subscriber);
    const list = this.unclaimedByIdentity.get(identity);
    if (list !== undefined) {
      const at = list.indexOf(unclaimed);
      if (at >= 0) list.splice(at, 1);
      if (list.length === 0) this.unclaimedByIdentity.delete(identity);
    }
    const lookup = dialogLookupKey(s.callId, s.localTag);
    if (this.unclaimedByDialogKey.get(lookup) === unclaimed) this.unclaimedByDialogKey.delete(lookup);
    if (!this.snapshotOwners.has(s.key)) this.snapshots?.delete(s.key);
  }

  /**
   * resume_grace is over: the stored dialogs nobody claimed (their API
   * subscription was deleted, or the application stopped asking) are ended
   * at their servers with an unSUBSCRIBE, paced as the resumes; left alone
   * they would stay there, NOTIFYing us, until they expire. Expired ones are
   * just deleted. A subscription that comes later starts a new dialog.
   */
  private endGrace(): void {
    this.graceTimer = undefined;
    const now = this.scheduler.clock.wallTime();
    for (const list of this.unclaimedByIdentity.values()) {
      for (const unclaimed of list) {
        const s = unclaimed.stored;
        if (s.expiresAt - now < RESUME_MIN_LEFT_MS || resumedCSeq(s.localCSeq) === undefined) {
          this.restartStats.unclaimedExpired++;
          const lookup = dialogLookupKey(s.callId, s.localTag);
          if (this.unclaimedByDialogKey.get(lookup) === unclaimed) this.unclaimedByDialogKey.delete(lookup);
          if (!this.snapshotOwners.has(s.key)) this.snapshots?.delete(s.key);
          continue;
        }
        this.restartPacer().push(() => this.unsubscribeUnclaimed(unclaimed));
      }
    }
    this.unclaimedByIdentity.clear();
  }

  /**
   * Expires: 0 in a stored dialog nobody claimed (RFC 6665 §4.1.2.3). Its
   * NOTIFYs are still answered 200 until wait_for_term_notify after the
   * answer; the snapshot is deleted once the answer (any) is in.
   */
  private unsubscribeUnclaimed(unclaimed: UnclaimedDialog): boolean {
    if (this.closing) return false;
    const s = unclaimed.stored;
    const lookup = dialogLookupKey(s.callId, s.localTag);
    const cseq = resumedCSeq(s.localCSeq);
    const forget = (): void => {
      if (this.unclaimedByDialogKey.get(lookup) === unclaimed) this.unclaimedByDialogKey.delete(lookup);
    };
    const done = (): void => {
      if (!this.snapshotOwners.has(s.key)) this.snapshots?.delete(s.key);
      if (this.closing) forget();
      else this.scheduler.after(this.settings.waitForTermNotify * 1000, forget);
    };
    if (cseq === undefined) {
      done();
      return false;
    }
    const state: DialogState = {
      callId: s.callId,
      localTag: s.localTag,
      remoteTag: s.remoteTag,
      localUri: s.localUri,
      remoteUri: s.remoteUri,
      localCSeq: cseq - 1,
      remoteCSeq: unclaimed.remoteCSeq,
      routeSet: [...s.routeSet],
      remoteTarget: s.remoteTarget,
    };
    let request: SipRequest;
    try {
      request = buildInDialogRequest(state, 'SUBSCRIBE', this.subscribeHeaders(s.package, 0));
    } catch {
      // A stored route or target we cannot build on: nothing can be sent in that dialog.
      done();
      return false;
    }
    this.restartStats.unclaimedUnsubscribed++;
    this.stats.subscribesSent++;
    this.stats.unsubscribesSent++;
    this.ua.sendRequest(
      request,
      {
        onFinal: (answer) => {
          this.countResponse(answer.status);
          done();
        },
      },
      this.sendOptions(state),
    );
    return true;
  }

  /**
   * No more restart work: the grace timer and the turns waiting are dropped (shutdown).
   * Nor Timer N: no dialog stays active from here on (close() tears every one down, abandon() forgets them).
   */
  private stopRestart(): void {
    this.timerN.clear();
    this.overloadSweep?.cancel();
    this.overloadSweep = undefined;
    this.graceTimer?.cancel();
    this.graceTimer = undefined;
    this.handedOverSweep?.cancel();
    this.handedOverSweep = undefined;
    this.restartPacerInstance?.close();
  }

  /**
   * Stops without a word on the wire (the daemon's shutdown mode `leave`):
   * every dialog is forgotten here but stays at its server until it expires,
   * and its snapshot stays in the store, so that the next start resumes it.
   * Flush and close the snapshot writer first: nothing is persisted from here on.
   */
  abandon(): void {
    this.snapshots = undefined;
    this.closing = true;
    this.stopRestart();
    // destroy() stops the retransmissions of what is in flight; a late 2xx then finds the UA closed.
    for (const dialog of [...this.registry.dialogs()]) this.destroy(dialog);
  }

  // ------------------------------------------------------------------ inspection and shutdown

  list(): DialogSnapshot[] {
    const now = this.scheduler.clock.now();
    const out: DialogSnapshot[] = [];
    for (const d of this.registry.dialogs()) out.push(snapshotOf(d, now));
    return out;
  }

  /** How many dialogs are in each state, without copying them (for metrics scrapes). */
  countByState(): Partial<Record<SubscriptionDialogState, number>> {
    const counts: Partial<Record<SubscriptionDialogState, number>> = {};
    for (const d of this.registry.dialogs()) counts[d.state] = (counts[d.state] ?? 0) + 1;
    return counts;
  }

  /**
   * The dialog serving one QSA subscription, for inspection: given its handle
   * (or any object with its id, package, record and subscriber) it is a
   * lookup; given only its id, a pass over the dialogs.
   */
  dialogOf(subscription: string | SubscriptionIdentity): DialogSnapshot | undefined {
    const d = typeof subscription === 'string' ? this.registry.dialogOfMemberId(subscription) : this.registry.dialogOfMember(subscription);
    return d === undefined ? undefined : snapshotOf(d, this.scheduler.clock.now());
  }

  /**
   * Unsubscribes everything (Expires: 0 on every dialog) and resolves when every
   * dialog is gone or when `boundMs` has passed, whichever comes first; what
   * is left then is forgotten (SER sent no unSUBSCRIBE at all, docs/ser-presence-b2b.md §5 item 13).
   */
  close(boundMs = 5000): Promise<void> {
    // A second call shares the first one's outcome (it used to replace its resolver, so the first never resolved).
    if (this.closed !== undefined) return this.closed;
    this.closing = true;
    // unSUBSCRIBEs already on their way (their subscribers left just before) count as close()'s own.
    for (const dialog of this.registry.dialogs()) if (dialog.state === 'unsubscribing' || dialog.state === 'terminating') this.closeCounts.unsubscribesSent++;
    this.stopRestart();
    for (const dialog of [...this.registry.dialogs()]) {
      this.registry.dropMembers(dialog);
      this.tearDown(dialog);
    }
    if (this.registry.size === 0) {
      this.closeReport = { ...this.closeCounts };
      this.closed = Promise.resolve();
      return this.closed;
    }
    this.closed = new Promise((resolve) => {
      const bound = this.scheduler.after(boundMs, () => {
        // What the servers were not heard from about: the shutdown log says it (no silent "0 left").
        for (const d of [...this.registry.dialogs()]) {
          if (d.state === 'unsubscribing') this.closeCounts.unanswered++;
          else if (d.state === 'terminating') this.closeCounts.awaitingNotify++;
          else if (d.state === 'subscribing' || d.state === 'refreshing') this.closeCounts.inFlight++;
          this.destroy(d);
        }
      });
      this.onAllDestroyed = () => {
        bound.cancel();
        this.onAllDestroyed = undefined;
        this.closeReport = { ...this.closeCounts };
        resolve();
      };
    });
    return this.closed;
  }
}

const NO_HOPS: readonly string[] = [];

/** `safe(() => eventOf(request))` without a closure per NOTIFY. */
function eventOrUndefined(request: SipRequest): SipEvent | undefined {
  try {
    return eventOf(request);
  } catch {
    return undefined;
  }
}

/** `safe(() => cseqOf(request).seq)` without a closure per NOTIFY. */
function cseqNumberOrUndefined(request: SipRequest): number | undefined {
  try {
    return cseqOf(request).seq;
  } catch {
    return undefined;
  }
}

function safe<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

/** The update a dialog keeps itself, if it does (not when it reads its last status back from a member's record). */
function ownKept(dialog: SubscriptionDialog): StatusUpdate | undefined {
  const kept = dialog.kept;
  return kept === undefined || 'state' in kept ? kept : undefined;
}
