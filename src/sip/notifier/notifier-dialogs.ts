import { callIdOf } from '../codec/call-id.js';
import { eventOf } from '../codec/event.js';
import { fromHeader, toHeader } from '../codec/from-to.js';
import type { SipRequest, SipResponse, SipTransportName } from '../codec/message.js';
import { acceptRemoteCSeq, buildInDialogRequest, type DialogState, dialogLookupKey, refreshTarget } from '../dialog/dialog-state.js';
import { createUasDialogResponse, newUasDialogState } from '../dialog/uas-dialog.js';
import type { IncomingRequest } from '../transaction/types.js';
import type { OutgoingRequestHandle, SipUserAgent } from '../ua/types.js';
import type { Random } from '../../util/random.js';
import type { Timer, TimerScheduler } from '../../util/timer-scheduler.js';
import { grantExpires } from './expires-grant.js';

export type HeaderFields = Array<readonly [string, string]>;

/** RFC 3261 §19.3: at least 32 random bits in a tag; 12 of [0-9a-z] give about 62. */
const TAG_LENGTH = 12;

/**
 * The notifier side of one subscription dialog (RFC 6665 §4.2), with the
 * owner's record of what is watched (`resource`). One flat object with at
 * most one timer: a notifier may hold many.
 */
export interface NotifierDialog<T> {
  /** What the subscription is about (the local agent's presentity, the RLS's list subscription, …). */
  readonly resource: T;
  /** Call-ID + our tag: how in-dialog SUBSCRIBEs find the dialog. */
  readonly key: string;
  readonly dialog: DialogState;
  /** The Event `id` parameter to echo in NOTIFY (RFC 6665 §8.2.1). */
  readonly eventId: string | undefined;
  /** User part of our Contact. */
  readonly contactUser: string;
  /** The transport the SUBSCRIBE came over: our Contact names the same one. */
  transport: SipTransportName;
  /** Clock ms when the subscription runs out. */
  expiresAt: number;
  timer: Timer | undefined;
  /** RFC 6665 §4.2.2: at most one NOTIFY per dialog in progress; later ones wait (coalesced). */
  notifyInFlight: boolean;
  notifyHandle: OutgoingRequestHandle | undefined;
  notifyPending: boolean;
  /** Set once the subscription ended: the reason of the `terminated` NOTIFY still to send. */
  terminateReason: string | undefined;
  /** True once the dialog left the tables (its last NOTIFY may still be on its way). */
  removed: boolean;
  /** True once the terminating NOTIFY went out: nothing follows it. */
  terminateSent: boolean;
}

/** What goes into one NOTIFY besides Event, Subscription-State and Contact. */
export interface NotifyContent {
  /** Required with a body. */
  contentType?: string;
  body?: Uint8Array | string;
  headers?: HeaderFields;
}

/** Why a dialog left the tables. */
export type DialogRemoval = 'unsubscribed' | 'expired' | 'notify-failed' | 'terminated';

/** Counters, updated in place (the local agent passes its own stats object). */
export interface NotifierCounters {
  subscribesAccepted: number;
  subscribesRejected: number;
  notifiesSent: number;
  /** NOTIFYs answered with a non-2xx response (or none at all). */
  notifyFailures: number;
  subscriptionsExpired: number;
}

export function emptyNotifierCounters(): NotifierCounters {
  return { subscribesAccepted: 0, subscribesRejected: 0, notifiesSent: 0, notifyFailures: 0, subscriptionsExpired: 0 };
}

export interface NotifierDialogsOptions<T> {
  ua: SipUserAgent;
  scheduler: TimerScheduler;
  random: Random;
  /** The event package served, lower-case (e.g. `presence`); other Events get 489. */
  eventPackage: string;
  /** Expires below this (other than 0) get 423 with Min-Expires. */
  minExpires: number;
  /** Expires above this are lowered to it. */
  maxExpires: number;
  /** Header fields added to every 2xx to SUBSCRIBE and every NOTIFY (RFC 4662 §5: `Require: eventlist`). */
  extraHeaders?: HeaderFields;
  counters?: NotifierCounters;
  /** The body (and more header fields) of the NOTIFY being sent now; also asked for the terminating one. */
  content(dialog: NotifierDialog<T>): NotifyContent;
  /**
   * An in-dialog SUBSCRIBE with Expires > 0 was accepted (RFC 6665 §4.2.1.2:
   * a NOTIFY follows). Default: `notify(dialog)`.
   */
  refreshed?(dialog: NotifierDialog<T>): void;
  /** The dialog left the tables (its terminating NOTIFY, if any, is being sent). */
  removed?(dialog: NotifierDialog<T>, why: DialogRemoval): void;
}

/** What an accepted SUBSCRIBE becomes. */
export interface AcceptOptions<T> {
  resource: T;
  /** Seconds granted (grant() gives it); 0 is a fetch (RFC 6665 §4.4.3). */
  granted: number;
  contactUser: string;
  /** More header fields for this 200 only. */
  headers?: HeaderFields;
}

/**
 * The notifier side of SIP event subscriptions (RFC 6665 §4.2), shared by
 * the local presence agent and the resource list server: the 200 to an
 * initial SUBSCRIBE (with our tag, RFC 3261 §12.1.1), in-dialog refreshes
 * and unsubscribes (481, CSeq order, 489, 423/400 on Expires), one expiry
 * timer per dialog, and NOTIFYs paced as RFC 6665 §4.2.2 asks: one in flight
 * per dialog, later requests coalesced into one NOTIFY whose content is
 * asked for when it is sent. What a SUBSCRIBE is about, who may make it and
 * what a NOTIFY carries is the owner's business (`content`, `removed`).
 */
export class NotifierDialogs<T> {
  readonly counters: NotifierCounters;
  private readonly options: NotifierDialogsOptions<T>;
  private readonly byKey = new Map<string, NotifierDialog<T>>();

  constructor(options: NotifierDialogsOptions<T>) {
    this.options = options;
    this.counters = options.counters ?? emptyNotifierCounters();
  }

  get size(): number {
    return this.byKey.size;
  }

  dialogs(): IterableIterator<NotifierDialog<T>> {
    return this.byKey.values();
  }

  /** True for an in-dialog request (it has a To-tag) of one of our dialogs. */
  owns(request: SipRequest): boolean {
    const toTag = toHeader(request).tag;
    return toTag !== undefined && this.byKey.has(dialogLookupKey(callIdOf(request), toTag));
  }

  /** Answers a SUBSCRIBE with a failure, counted. */
  reject(incoming: IncomingRequest, status: number, reason: string, headers?: HeaderFields): void {
    this.counters.subscribesRejected++;
    incoming.reply(status, reason, headers);
  }

  /** The Event package check: 489 with Allow-Events (RFC 6665 §8.2.2) unless it is ours. Returns the event id when accepted. */
  checkEvent(incoming: IncomingRequest): { id: string | undefined } | undefined {
    const event = eventOf(incoming.request);
    if (event?.package === this.options.eventPackage) return { id: event.id };
    this.reject(incoming, 489, 'Bad Event', [['Allow-Events', this.options.eventPackage]]);
    return undefined;
  }

  /** Expires per RFC 6665 §4.2.1.1, or undefined when the request was answered with 400/423. */
  grant(incoming: IncomingRequest): number | undefined {
    const expires = grantExpires(incoming.request, this.options.minExpires, this.options.maxExpires);
    if ('granted' in expires) return expires.granted;
    if (expires.status === 423) this.reject(incoming, 423, 'Interval Too Brief', [['Min-Expires', String(this.options.minExpires)]]);
    else this.reject(incoming, 400, 'Bad Request - invalid Expires');
    return undefined;
  }

  /**
   * Accepts an initial SUBSCRIBE whose Event was checked (`eventId`) and
   * Expires granted: answers 200 and, unless it is a fetch, enters the
   * dialog in the tables with its expiry timer. Send the first NOTIFY with
   * `notify()` (RFC 6665 §4.2.1.2: at once). A fetch (granted 0) comes back
   * already ended: its one NOTIFY says `terminated;reason=timeout`. Returns
   * undefined after answering 400 when the request has no From tag or Contact.
   */
  accept(incoming: IncomingRequest, eventId: string | undefined, options: AcceptOptions<T>): NotifierDialog<T> | undefined {
    const request = incoming.request;
    const localTag = this.options.random.token(TAG_LENGTH);
    const dialog = newUasDialogState(request, localTag);
    if (dialog === undefined) {
      // RFC 6665 §4.1.2.1: a SUBSCRIBE carries a From tag and a Contact.
      this.reject(incoming, 400, 'Bad Request - missing Contact or From tag');
      return undefined;
    }
    const granted = options.granted;
    const entry: NotifierDialog<T> = {
      resource: options.resource,
      key: dialogLookupKey(dialog.callId, localTag),
      dialog,
      eventId,
      contactUser: options.contactUser,
      transport: incoming.source.transport,
      expiresAt: this.now() + granted * 1000,
      timer: undefined,
      notifyInFlight: false,
      notifyHandle: undefined,
      notifyPending: false,
      terminateReason: undefined,
      removed: false,
      terminateSent: false,
    };
    this.counters.subscribesAccepted++;
    incoming.respond(this.okResponse(request, entry, granted, options.headers));
    if (granted === 0) {
      entry.removed = true;
      entry.terminateReason = 'timeout';
      return entry;
    }
    this.byKey.set(entry.key, entry);
    this.armTimer(entry);
    return entry;
  }

  /** An in-dialog SUBSCRIBE (it has a To-tag): refresh or unsubscribe (RFC 6665 §4.2.1.2, §4.2.1.4); 481 when not ours. */
  handleInDialog(incoming: IncomingRequest): void {
    const request = incoming.request;
    const toTag = toHeader(request).tag;
    const entry = toTag === undefined ? undefined : this.byKey.get(dialogLookupKey(callIdOf(request), toTag));
    if (entry === undefined || fromHeader(request).tag !== entry.dialog.remoteTag) {
      this.reject(incoming, 481, 'Subscription does not exist');
      return;
    }
    // RFC 3261 §12.2.2: a lower CSeq than the last one is out of order.
    if (!acceptRemoteCSeq(entry.dialog, request)) {
      this.reject(incoming, 500, 'Out of order CSeq');
      return;
    }
    if (this.checkEvent(incoming) === undefined) return;
    const granted = this.grant(incoming);
    if (granted === undefined) return;
    // RFC 6665 §3.1: SUBSCRIBE is a target-refresh request.
    refreshTarget(entry.dialog, request);
    entry.transport = incoming.source.transport;
    this.counters.subscribesAccepted++;
    incoming.respond(this.okResponse(request, entry, granted));
    if (granted === 0) {
      // Unsubscribe (RFC 6665 §4.2.1.4): a last NOTIFY, terminated.
      this.terminate(entry, 'timeout', 'unsubscribed');
      return;
    }
    entry.expiresAt = this.now() + granted * 1000;
    this.armTimer(entry);
    if (this.options.refreshed !== undefined) this.options.refreshed(entry);
    else this.notify(entry);
  }

  /** Ends the subscription with a terminated NOTIFY carrying `reason` (RFC 6665 §4.2.2). */
  terminate(entry: NotifierDialog<T>, reason: string, why: DialogRemoval = 'terminated'): void {
    if (entry.terminateReason !== undefined) return;
    entry.terminateReason = reason;
    this.remove(entry, why);
    this.notify(entry);
  }

  /** Ends every subscription with a terminated NOTIFY carrying `reason`. */
  terminateAll(reason: string): void {
    for (const entry of [...this.byKey.values()]) this.terminate(entry, reason);
  }

  /** Seconds left of a subscription. */
  expiresIn(entry: NotifierDialog<T>): number {
    return Math.max(0, Math.ceil((entry.expiresAt - this.now()) / 1000));
  }

  /**
   * Sends a NOTIFY with the content of this moment. RFC 6665 §4.2.2: no new
   * NOTIFY in a dialog before the previous one has its final response;
   * requests meanwhile are coalesced into one NOTIFY, built when it is sent
   * (which also keeps the subscriber from seeing CSeqs out of order).
   */
  notify(entry: NotifierDialog<T>): void {
    if (entry.notifyInFlight) {
      entry.notifyPending = true;
      return;
    }
    // A dialog that left the tables sends its terminating NOTIFY, once, and nothing else.
    if (entry.removed && (entry.terminateReason === undefined || entry.terminateSent)) return;
    entry.notifyPending = false;
    if (entry.terminateReason !== undefined) entry.terminateSent = true;
    const state =
      entry.terminateReason !== undefined
        ? `terminated;reason=${entry.terminateReason}`
        : `active;expires=${Math.max(1, this.expiresIn(entry))}`;
    const content = this.options.content(entry);
    const headers: HeaderFields = [
      ['Event', entry.eventId === undefined ? this.options.eventPackage : `${this.options.eventPackage};id=${entry.eventId}`],
      ['Subscription-State', state],
      // Our Contact, in its place: the UA writes it for the transport the NOTIFY goes out on.
      ['Contact', ''],
    ];
    for (const h of this.options.extraHeaders ?? []) headers.push(h);
    for (const h of content.headers ?? []) headers.push(h);
    if (content.body !== undefined && content.contentType !== undefined) headers.push(['Content-Type', content.contentType]);
    const request = buildInDialogRequest(entry.dialog, 'NOTIFY', headers, content.body);
    entry.notifyInFlight = true;
    this.counters.notifiesSent++;
    const handle = this.options.ua.sendRequest(
      request,
      { onFinal: (response, locallyGenerated) => this.onNotifyFinal(entry, response, locallyGenerated) },
      { contact: { user: entry.contactUser } },
    );
    // onFinal may already have run (a synchronous failure).
    if (entry.notifyInFlight) entry.notifyHandle = handle;
  }

  // ------------------------------------------------------------------ internals

  private now(): number {
    return this.options.scheduler.clock.now();
  }

  private okResponse(request: SipRequest, entry: NotifierDialog<T>, granted: number, more?: HeaderFields): SipResponse {
    const headers: HeaderFields = [
      ['Expires', String(granted)],
      ['Contact', this.contactOf(entry)],
    ];
    for (const h of this.options.extraHeaders ?? []) headers.push(h);
    for (const h of more ?? []) headers.push(h);
    return createUasDialogResponse(request, 200, entry.dialog.localTag, headers);
  }

  /** The Contact of our 2xx: on the transport the SUBSCRIBE came on, where the response goes. */
  private contactOf(entry: NotifierDialog<T>): string {
    return `<${this.options.ua.contactUri(entry.contactUser, entry.transport)}>`;
  }

  private armTimer(entry: NotifierDialog<T>): void {
    entry.timer?.cancel();
    entry.timer = this.options.scheduler.after(entry.expiresAt - this.now(), () => {
      entry.timer = undefined;
      this.counters.subscriptionsExpired++;
      // RFC 6665 §4.2.2: the subscription ran out without a refresh.
      this.terminate(entry, 'timeout', 'expired');
    });
  }

  /** Takes the dialog out of the tables; its last NOTIFY may still be on its way. */
  private remove(entry: NotifierDialog<T>, why: DialogRemoval): void {
    if (entry.removed) return;
    entry.removed = true;
    entry.timer?.cancel();
    entry.timer = undefined;
    this.byKey.delete(entry.key);
    this.options.removed?.(entry, why);
  }

  /**
   * RFC 6665 §4.2.2: a NOTIFY answered with 481, or timing out (408, also a
   * transport failure reported as a local 503) means the subscriber is gone:
   * the subscription is removed without another NOTIFY. Other failures keep
   * it; the next change or refresh tries again.
   */
  private onNotifyFinal(entry: NotifierDialog<T>, response: SipResponse, locallyGenerated: boolean): void {
    entry.notifyInFlight = false;
    entry.notifyHandle = undefined;
    const status = response.status;
    if (status >= 300) {
      this.counters.notifyFailures++;
      if (status === 481 || status === 408 || locallyGenerated) {
        entry.notifyPending = false;
        this.remove(entry, 'notify-failed');
        return;
      }
    }
    if (entry.notifyPending) this.notify(entry);
  }
}
