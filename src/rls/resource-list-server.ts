import type { QsaSubscriptionHandle, StatusMessage, StatusQueue, StatusQueueOptions, SubscribeRequest } from '../qsa/index.js';
import { RLMI_MEDIA_TYPE } from '../rlmi/index.js';
import { fromHeader, toHeader } from '../sip/codec/from-to.js';
import type { SipRequest } from '../sip/codec/message.js';
import { isSipParseError } from '../sip/codec/parse-error.js';
import { parseSipUri } from '../sip/codec/uri.js';
import { type NotifierCounters, type NotifierDialog, NotifierDialogs } from '../sip/notifier/notifier-dialogs.js';
import type { IncomingRequest } from '../sip/transaction/types.js';
import type { SipUserAgent } from '../sip/ua/types.js';
import type { Random } from '../util/random.js';
import type { TimerScheduler } from '../util/timer-scheduler.js';
import {
  type ListSubscription,
  listNotifyBody,
  newListSubscription,
  recordMemberStatus,
  type ResourceNode,
} from './list-subscription.js';
import { type ResourceListDefinition, ResourceListCatalog, resourceKey } from './resource-list-catalog.js';

/** The event package of the lists served (RFC 4662 with RFC 3856). */
const PRESENCE_PACKAGE = 'presence';
/** RFC 4662 §4.1: the option tag a subscriber announces and a server requires. */
const EVENTLIST = 'eventlist';
/** What a list subscriber must accept (RFC 4662 §5): the multipart body, the RLMI root, the members' PIDF. */
const LIST_ACCEPT = `multipart/related, ${RLMI_MEDIA_TYPE}, application/pidf+xml`;

/** The subscriber side of QSA, where the server makes its internal subscriptions (the daemon's QsaBroker). */
export interface ListMemberBroker {
  subscribe(request: SubscribeRequest): QsaSubscriptionHandle;
  unsubscribe(handle: QsaSubscriptionHandle): boolean;
  createQueue(options?: StatusQueueOptions): StatusQueue;
}

export interface ResourceListServerOptions {
  ua: SipUserAgent;
  broker: ListMemberBroker;
  scheduler: TimerScheduler;
  random: Random;
  lists: readonly ResourceListDefinition[];
  /** At most one state-change NOTIFY per list subscription per this many ms, changes coalesced; default 1000. */
  minNotifyIntervalMs?: number;
  /** Expires below this (other than 0) get 423; default 60. */
  minExpires?: number;
  /** Expires above this are lowered; default 3600. */
  maxExpires?: number;
  /**
   * Where SUBSCRIBEs that are not for a list go (the local presence agent's
   * handleSubscribe); without one they get 404, or 481 in a dialog.
   */
  others?: (incoming: IncomingRequest) => void;
}

/** What `subscriptions()` shows of one list subscription. */
export interface ListSubscriptionSummary {
  list: string;
  watcher: string;
  callId: string;
  /** Resources (nested lists' included), each with one internal subscription. */
  resources: number;
  /** Version of the next RLMI document of the list. */
  version: number;
  /** Seconds left. */
  expiresIn: number;
}

export interface ResourceListServerStats extends NotifierCounters {
  /** Internal (QSA) subscriptions the server holds now. */
  memberSubscriptions: number;
}

function mediaTypeOf(item: string): string {
  const semicolon = item.indexOf(';');
  return (semicolon < 0 ? item : item.slice(0, semicolon)).trim().toLowerCase();
}

/** RFC 4662 §5: the subscriber must accept multipart/related; no Accept header is taken as yes. */
function acceptsLists(request: SipRequest): boolean {
  const accepted = request.headers.values('accept');
  if (accepted.length === 0) return true;
  return accepted.some((item) => {
    const media = mediaTypeOf(item);
    return media === 'multipart/related' || media === 'multipart/*' || media === '*/*';
  });
}

function supportsEventlist(request: SipRequest): boolean {
  return request.headers.values('supported').some((tag) => tag.trim().toLowerCase() === EVENTLIST);
}

/**
 * A resource list server (RFC 4662) built on QSA, the seed's "RLS module
 * doing internal subscriptions": a SUBSCRIBE to a configured list URI
 * (`Event: presence`, `Supported: eventlist`) is answered as the notifier of
 * the list, and each member becomes one internal QSA subscription made as
 * the list's watcher, so that the member's own authorization rules apply.
 * Who answers it is QSA's business: the local presence agent for its
 * domains, the B2BUA (a real SUBSCRIBE) for the others.
 *
 * NOTIFYs are `multipart/related; type="application/rlmi+xml"`: the RLMI
 * document, then one part per member whose state is known. The first NOTIFY
 * and the one after each refresh carry full state; a member's change brings
 * a partial NOTIFY with only what changed, at most one per
 * `minNotifyIntervalMs` per subscription, changes meanwhile coalesced. The
 * subscriber-triggered NOTIFYs (first, refresh, terminated) go at once, as
 * RFC 6665 §4.2.1.2 asks. Nested lists (a member naming another list) are
 * parts of their own with their own RLMI (RFC 4662 §5.3), expanded with the
 * rights of the list subscribed to: only that list's owner is checked.
 * When the subscription ends (unsubscribe, expiry, a NOTIFY answered 481),
 * every internal subscription ends with it.
 */
export class ResourceListServer {
  private readonly ua: SipUserAgent;
  private readonly broker: ListMemberBroker;
  private readonly scheduler: TimerScheduler;
  private readonly random: Random;
  private readonly catalog: ResourceListCatalog;
  private readonly minNotifyIntervalMs: number;
  private readonly others: ((incoming: IncomingRequest) => void) | undefined;
  private readonly dialogs: NotifierDialogs<ListSubscription>;
  private readonly queue: StatusQueue;
  private memberCount = 0;
  private started = false;
  private stopped = false;

  constructor(options: ResourceListServerOptions) {
    this.ua = options.ua;
    this.broker = options.broker;
    this.scheduler = options.scheduler;
    this.random = options.random;
    this.catalog = new ResourceListCatalog(options.lists);
    this.minNotifyIntervalMs = Math.max(0, options.minNotifyIntervalMs ?? 1000);
    this.others = options.others;
    const minExpires = options.minExpires ?? 60;
    this.dialogs = new NotifierDialogs<ListSubscription>({
      ua: options.ua,
      scheduler: options.scheduler,
      random: options.random,
      eventPackage: PRESENCE_PACKAGE,
      minExpires,
      maxExpires: Math.max(minExpires, options.maxExpires ?? 3600),
      // RFC 4662 §4.1: the 200 and every NOTIFY of a list subscription require eventlist.
      extraHeaders: [['Require', EVENTLIST]],
      content: (dialog) => this.content(dialog),
      refreshed: (dialog) => {
        // RFC 4662 §5.2: full state after a refresh.
        dialog.resource.fullStatePending = true;
        this.notifyNow(dialog.resource);
      },
      removed: (dialog) => this.end(dialog.resource),
    });
    this.queue = options.broker.createQueue();
  }

  /** Counters, plus the internal subscriptions held now. */
  get stats(): ResourceListServerStats {
    return { ...this.dialogs.counters, memberSubscriptions: this.memberCount };
  }

  /** List subscriptions now running. */
  get size(): number {
    return this.dialogs.size;
  }

  /** The configured lists' URIs. */
  listUris(): string[] {
    return [...this.catalog.lists()].map((l) => l.uri);
  }

  /** Takes SUBSCRIBE on the user agent (the others go to `options.others`) and starts reading member status. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.ua.onRequest('SUBSCRIBE', (incoming) => this.handleSubscribe(incoming));
    void (async () => {
      for await (const message of this.queue) this.apply(message);
    })();
  }

  /**
   * Stops serving: every list subscription gets `terminated;reason=deactivated`
   * and its internal subscriptions end; later SUBSCRIBEs to a list get 503.
   */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.dialogs.terminateAll('deactivated');
    this.queue.close();
  }

  /** True when `request` is a SUBSCRIBE this server answers: to a list URI, or in one of its dialogs. */
  handles(request: SipRequest): boolean {
    if (toHeader(request).tag !== undefined) return this.dialogs.owns(request);
    return this.catalog.get(request.uri) !== undefined;
  }

  /** Answers a SUBSCRIBE: a list's own, or hands it to `others`. */
  handleSubscribe(incoming: IncomingRequest): void {
    let ours: boolean;
    try {
      ours = this.handles(incoming.request);
    } catch (error) {
      if (!isSipParseError(error)) throw error;
      ours = false; // malformed To: whoever takes the rest answers it
    }
    if (!ours) {
      if (this.others !== undefined) this.others(incoming);
      else if (toHeader(incoming.request).tag !== undefined) incoming.reply(481, 'Subscription does not exist');
      else incoming.reply(404, 'Not Found');
      return;
    }
    try {
      this.process(incoming);
    } catch (error) {
      if (!isSipParseError(error)) throw error; // the UA answers 500 and reports it
      this.dialogs.reject(incoming, 400, 'Bad Request');
    }
  }

  subscriptions(): ListSubscriptionSummary[] {
    const out: ListSubscriptionSummary[] = [];
    for (const d of this.dialogs.dialogs()) {
      const s = d.resource;
      out.push({
        list: s.list,
        watcher: s.watcher,
        callId: d.dialog.callId,
        resources: s.resources.length,
        version: s.root.version,
        expiresIn: this.dialogs.expiresIn(d),
      });
    }
    return out;
  }

  // ------------------------------------------------------------------ SUBSCRIBE

  private process(incoming: IncomingRequest): void {
    const request = incoming.request;
    if (toHeader(request).tag !== undefined) {
      this.dialogs.handleInDialog(incoming);
      return;
    }
    const list = this.catalog.get(request.uri);
    if (list === undefined) return; // handles() said otherwise; not reached
    if (this.stopped) {
      this.dialogs.reject(incoming, 503, 'Service Unavailable');
      return;
    }
    const event = this.dialogs.checkEvent(incoming);
    if (event === undefined) return;
    // RFC 4662 §4.1: a list is only served to a subscriber that supports eventlist.
    if (!supportsEventlist(request)) {
      this.dialogs.reject(incoming, 421, 'Extension Required', [['Require', EVENTLIST]]);
      return;
    }
    const watcher = fromHeader(request).uri;
    if (list.ownerKey !== undefined && resourceKey(watcher) !== list.ownerKey) {
      this.dialogs.reject(incoming, 403, 'Forbidden');
      return;
    }
    if (!acceptsLists(request)) {
      this.dialogs.reject(incoming, 406, 'Not Acceptable', [['Accept', LIST_ACCEPT]]);
      return;
    }
    const granted = this.dialogs.grant(incoming);
    if (granted === undefined) return;
    const subscription = newListSubscription(this.catalog, list.uri, watcher, this.random);
    const dialog = this.dialogs.accept(incoming, event.id, { resource: subscription, granted, contactUser: contactUserOf(list.uri) });
    if (dialog === undefined) return;
    for (const resource of subscription.resources) {
      resource.handle = this.broker.subscribe({ record: resource.uri, subscriber: watcher, queue: this.queue, data: resource });
      this.memberCount++;
    }
    // The states known at once (the local agent answers synchronously) go into the first, full, NOTIFY.
    this.drain();
    subscription.dialog = dialog;
    this.notifyNow(subscription);
    // A fetch (RFC 6665 §4.4.3): that one NOTIFY was all.
    if (dialog.removed) this.end(subscription);
  }

  // ------------------------------------------------------------------ member status

  private drain(): void {
    for (let message = this.queue.poll(); message !== undefined; message = this.queue.poll()) this.apply(message);
  }

  private apply(message: StatusMessage): void {
    const node = message.subscription.data as ResourceNode;
    const subscription = node.owner;
    if (subscription.ended || node.handle !== message.subscription) return;
    const changed = recordMemberStatus(
      node,
      { state: message.state, reason: message.reason, contentType: message.contentType, body: message.body },
      this.random,
    );
    if (changed) this.schedule(subscription);
  }

  // ------------------------------------------------------------------ NOTIFY

  /** A member changed: a partial NOTIFY now, or once `minNotifyIntervalMs` after the last one. */
  private schedule(subscription: ListSubscription): void {
    if (subscription.ended || subscription.dialog === undefined || subscription.throttle !== undefined) return;
    const now = this.scheduler.clock.now();
    const due = subscription.lastNotifyAt === undefined ? now : subscription.lastNotifyAt + this.minNotifyIntervalMs;
    if (due <= now) {
      this.notifyNow(subscription);
      return;
    }
    subscription.throttle = this.scheduler.after(due - now, () => {
      subscription.throttle = undefined;
      this.notifyNow(subscription);
    });
  }

  private notifyNow(subscription: ListSubscription): void {
    const dialog = subscription.dialog;
    if (dialog === undefined) return;
    subscription.throttle?.cancel();
    subscription.throttle = undefined;
    subscription.lastNotifyAt = this.scheduler.clock.now();
    this.dialogs.notify(dialog);
  }

  /** The body of the NOTIFY going out now (built at send time: coalesced changes are all in it). */
  private content(dialog: NotifierDialog<ListSubscription>): { contentType?: string; body?: Uint8Array } {
    const subscription = dialog.resource;
    // The terminating NOTIFY of an ended subscription carries no state (RFC 4662 leaves it optional).
    if (subscription.ended) return {};
    const full = subscription.fullStatePending;
    subscription.fullStatePending = false;
    return listNotifyBody(subscription, full, this.random);
  }

  /** The list subscription is over: every internal subscription ends, no timer is left. */
  private end(subscription: ListSubscription): void {
    if (subscription.ended) return;
    subscription.ended = true;
    subscription.throttle?.cancel();
    subscription.throttle = undefined;
    for (const resource of subscription.resources) {
      const handle = resource.handle;
      if (handle === undefined) continue;
      resource.handle = undefined;
      this.memberCount--;
      this.broker.unsubscribe(handle);
    }
  }
}

/** Our Contact's user part in a list's dialogs: the list's own. */
function contactUserOf(uri: string): string {
  try {
    return parseSipUri(uri).user ?? 'rls';
  } catch {
    return 'rls';
  }
}
