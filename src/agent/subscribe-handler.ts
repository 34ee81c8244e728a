import { callIdOf } from '../sip/codec/call-id.js';
import { eventOf } from '../sip/codec/event.js';
import { fromHeader, toHeader } from '../sip/codec/from-to.js';
import type { SipRequest, SipResponse } from '../sip/codec/message.js';
import { isSipParseError } from '../sip/codec/parse-error.js';
import { acceptRemoteCSeq, buildInDialogRequest, dialogLookupKey, refreshTarget } from '../sip/dialog/dialog-state.js';
import { createUasDialogResponse, newUasDialogState } from '../sip/dialog/uas-dialog.js';
import type { IncomingRequest } from '../sip/transaction/types.js';
import type { SipUserAgent } from '../sip/ua/types.js';
import type { Random } from '../util/random.js';
import type { TimerScheduler } from '../util/timer-scheduler.js';
import type { AgentSettings } from './agent-options.js';
import type { Presentity, SipWatcher } from './agent-records.js';
import type { LocalPresenceAgentStats } from './agent-stats.js';
import type { PresenceState } from './presence-state.js';
import type { LocalDomains } from './presentity-uri.js';
import { acceptsPidf, grantExpires, PIDF_CONTENT_TYPE, PRESENCE_PACKAGE } from './request-checks.js';

type Headers = Array<readonly [string, string]>;

/** RFC 3261 §19.3: at least 32 random bits in a tag; 12 of [0-9a-z] give about 62. */
const TAG_LENGTH = 12;

/** What `watchers()` shows of a SIP watcher. */
export interface SipWatcherSummary {
  kind: 'sip';
  presentity: string;
  /** From URI of the SUBSCRIBE. */
  watcher: string;
  callId: string;
  localTag: string;
  remoteTag: string | undefined;
  remoteTarget: string;
  /** Seconds left. */
  expiresIn: number;
}

export interface SubscribeHandlerOptions {
  ua: SipUserAgent;
  state: PresenceState;
  domains: LocalDomains;
  scheduler: TimerScheduler;
  random: Random;
  settings: AgentSettings;
  stats: LocalPresenceAgentStats;
}

/**
 * The notifier side of presence subscriptions (RFC 6665 §4.2, RFC 3856 §6):
 * SUBSCRIBE creates, refreshes and ends watcher dialogs; NOTIFYs carry the
 * presentity's composed document. Every watcher is accepted and active at
 * once (Kamailio's `force_active`); one expiry timer per watcher.
 */
export class SubscribeHandler {
  private readonly ua: SipUserAgent;
  private readonly state: PresenceState;
  private readonly domains: LocalDomains;
  private readonly scheduler: TimerScheduler;
  private readonly random: Random;
  private readonly settings: AgentSettings;
  private readonly stats: LocalPresenceAgentStats;
  private readonly byKey = new Map<string, SipWatcher>();

  constructor(options: SubscribeHandlerOptions) {
    this.ua = options.ua;
    this.state = options.state;
    this.domains = options.domains;
    this.scheduler = options.scheduler;
    this.random = options.random;
    this.settings = options.settings;
    this.stats = options.stats;
  }

  get size(): number {
    return this.byKey.size;
  }

  handle(incoming: IncomingRequest): void {
    try {
      this.process(incoming);
    } catch (error) {
      if (!isSipParseError(error)) throw error; // the UA answers 500 and reports it
      this.reject(incoming, 400, 'Bad Request');
    }
  }

  /** The presentity's document changed: a NOTIFY to each of its watchers. */
  presentityChanged(presentity: Presentity): void {
    for (const watcher of presentity.sipWatchers) this.sendNotify(watcher);
  }

  /** Ends every subscription with a terminated NOTIFY carrying `reason`. */
  terminateAll(reason: string): void {
    for (const watcher of [...this.byKey.values()]) this.terminate(watcher, reason);
  }

  list(): SipWatcherSummary[] {
    const now = this.scheduler.clock.now();
    const out: SipWatcherSummary[] = [];
    for (const w of this.byKey.values()) {
      out.push({
        kind: 'sip',
        presentity: w.presentity.uri,
        watcher: w.dialog.remoteUri,
        callId: w.dialog.callId,
        localTag: w.dialog.localTag,
        remoteTag: w.dialog.remoteTag,
        remoteTarget: w.dialog.remoteTarget,
        expiresIn: Math.max(0, Math.ceil((w.expiresAt - now) / 1000)),
      });
    }
    return out;
  }

  // ------------------------------------------------------------------ SUBSCRIBE

  private reject(incoming: IncomingRequest, status: number, reason: string, headers?: Headers): void {
    this.stats.subscribesRejected++;
    incoming.reply(status, reason, headers);
  }

  /** Expires per RFC 6665 §4.2.1.1, or undefined when the request was answered with 400/423. */
  private grant(incoming: IncomingRequest): number | undefined {
    const expires = grantExpires(incoming.request, this.settings.minExpires, this.settings.maxSubscribeExpires);
    if ('granted' in expires) return expires.granted;
    if (expires.status === 423) this.reject(incoming, 423, 'Interval Too Brief', [['Min-Expires', String(this.settings.minExpires)]]);
    else this.reject(incoming, 400, 'Bad Request - invalid Expires');
    return undefined;
  }

  private process(incoming: IncomingRequest): void {
    const request = incoming.request;
    const toTag = toHeader(request).tag;
    if (toTag !== undefined) {
      this.processInDialog(incoming, toTag);
      return;
    }
    const target = this.domains.presentityOf(request.uri);
    if (target === undefined) {
      this.reject(incoming, 403, 'Forbidden - domain not served');
      return;
    }
    const event = eventOf(request);
    if (event?.package !== PRESENCE_PACKAGE) {
      this.reject(incoming, 489, 'Bad Event', [['Allow-Events', PRESENCE_PACKAGE]]);
      return;
    }
    if (!acceptsPidf(request)) {
      this.reject(incoming, 406, 'Not Acceptable', [['Accept', PIDF_CONTENT_TYPE]]);
      return;
    }
    const granted = this.grant(incoming);
    if (granted === undefined) return;
    const localTag = this.random.token(TAG_LENGTH);
    const dialog = newUasDialogState(request, localTag);
    if (dialog === undefined) {
      // RFC 6665 §4.1.2.1: a SUBSCRIBE carries a From tag and a Contact.
      this.reject(incoming, 400, 'Bad Request - missing Contact or From tag');
      return;
    }
    const presentity = this.state.presentityFor(target.key, target.user);
    const watcher: SipWatcher = {
      presentity,
      key: dialogLookupKey(dialog.callId, localTag),
      dialog,
      eventId: event.id,
      transport: incoming.source.transport,
      expiresAt: this.scheduler.clock.now() + granted * 1000,
      timer: undefined,
      notifyInFlight: false,
      notifyHandle: undefined,
      notifyPending: false,
      terminateReason: undefined,
      removed: false,
    };
    this.stats.subscribesAccepted++;
    incoming.respond(this.okResponse(request, watcher, granted));
    if (granted === 0) {
      // A fetch (RFC 6665 §4.4.3): one NOTIFY with the state, and the subscription is over.
      watcher.removed = true;
      watcher.terminateReason = 'timeout';
      this.sendNotify(watcher);
      this.state.dropIfUnused(presentity);
      return;
    }
    this.byKey.set(watcher.key, watcher);
    presentity.sipWatchers.add(watcher);
    this.armTimer(watcher);
    // RFC 6665 §4.2.1.2: a NOTIFY at once, with the current state.
    this.sendNotify(watcher);
  }

  private processInDialog(incoming: IncomingRequest, toTag: string): void {
    const request = incoming.request;
    const watcher = this.byKey.get(dialogLookupKey(callIdOf(request), toTag));
    if (watcher === undefined || fromHeader(request).tag !== watcher.dialog.remoteTag) {
      this.reject(incoming, 481, 'Subscription does not exist');
      return;
    }
    // RFC 3261 §12.2.2: a lower CSeq than the last one is out of order.
    if (!acceptRemoteCSeq(watcher.dialog, request)) {
      this.reject(incoming, 500, 'Out of order CSeq');
      return;
    }
    if (eventOf(request)?.package !== PRESENCE_PACKAGE) {
      this.reject(incoming, 489, 'Bad Event', [['Allow-Events', PRESENCE_PACKAGE]]);
      return;
    }
    const granted = this.grant(incoming);
    if (granted === undefined) return;
    // RFC 6665 §3.1: SUBSCRIBE is a target-refresh request.
    refreshTarget(watcher.dialog, request);
    watcher.transport = incoming.source.transport;
    this.stats.subscribesAccepted++;
    incoming.respond(this.okResponse(request, watcher, granted));
    if (granted === 0) {
      // Unsubscribe (RFC 6665 §4.2.1.4): a last NOTIFY, terminated.
      this.terminate(watcher, 'timeout');
      return;
    }
    watcher.expiresAt = this.scheduler.clock.now() + granted * 1000;
    this.armTimer(watcher);
    this.sendNotify(watcher);
  }

  private okResponse(request: SipRequest, watcher: SipWatcher, granted: number): SipResponse {
    return createUasDialogResponse(request, 200, watcher.dialog.localTag, [
      ['Expires', String(granted)],
      ['Contact', this.contactOf(watcher)],
    ]);
  }

  /** The Contact of our 2xx: on the transport the SUBSCRIBE came on, where the response goes. */
  private contactOf(watcher: SipWatcher): string {
    return `<${this.ua.contactUri(contactUserOf(watcher), watcher.transport)}>`;
  }

  private armTimer(watcher: SipWatcher): void {
    watcher.timer?.cancel();
    watcher.timer = this.scheduler.after(watcher.expiresAt - this.scheduler.clock.now(), () => {
      watcher.timer = undefined;
      this.stats.subscriptionsExpired++;
      // RFC 6665 §4.2.2: the subscription ran out without a refresh.
      this.terminate(watcher, 'timeout');
    });
  }

  /** Takes the watcher out of the tables; its last NOTIFY may still be on its way. */
  private remove(watcher: SipWatcher): void {
    if (watcher.removed) return;
    watcher.removed = true;
    watcher.timer?.cancel();
    watcher.timer = undefined;
    this.byKey.delete(watcher.key);
    watcher.presentity.sipWatchers.delete(watcher);
    this.state.dropIfUnused(watcher.presentity);
  }

  private terminate(watcher: SipWatcher, reason: string): void {
    if (watcher.terminateReason !== undefined) return;
    this.remove(watcher);
    watcher.terminateReason = reason;
    this.sendNotify(watcher);
  }

  // ------------------------------------------------------------------ NOTIFY

  /**
   * Sends the current state to a watcher. RFC 6665 §4.2.2: no new NOTIFY in a
   * dialog before the previous one has its final response; changes meanwhile
   * are coalesced into one NOTIFY with the latest state, which also keeps the
   * watcher from seeing CSeqs out of order.
   */
  private sendNotify(watcher: SipWatcher): void {
    if (watcher.notifyInFlight) {
      watcher.notifyPending = true;
      return;
    }
    watcher.notifyPending = false;
    const state =
      watcher.terminateReason !== undefined
        ? `terminated;reason=${watcher.terminateReason}`
        : `active;expires=${Math.max(1, Math.ceil((watcher.expiresAt - this.scheduler.clock.now()) / 1000))}`;
    const composed = this.state.documentOf(watcher.presentity);
    const headers: Headers = [
      ['Event', watcher.eventId === undefined ? PRESENCE_PACKAGE : `${PRESENCE_PACKAGE};id=${watcher.eventId}`],
      ['Subscription-State', state],
      // Our Contact, in its place: the UA writes it for the transport the NOTIFY goes out on.
      ['Contact', ''],
    ];
    if (composed.body !== undefined) headers.push(['Content-Type', PIDF_CONTENT_TYPE]);
    const notify = buildInDialogRequest(watcher.dialog, 'NOTIFY', headers, composed.body);
    watcher.notifyInFlight = true;
    this.stats.notifiesSent++;
    const handle = this.ua.sendRequest(
      notify,
      { onFinal: (response, locallyGenerated) => this.onNotifyFinal(watcher, response, locallyGenerated) },
      { contact: { user: contactUserOf(watcher) } },
    );
    // onFinal may already have run (a synchronous failure).
    if (watcher.notifyInFlight) watcher.notifyHandle = handle;
  }

  /**
   * RFC 6665 §4.2.2: a NOTIFY answered with 481, or timing out (408, also a
   * transport failure reported as a local 503) means the watcher is gone:
   * the subscription is removed without another NOTIFY. Other failures keep
   * it; the next change or refresh tries again.
   */
  private onNotifyFinal(watcher: SipWatcher, response: SipResponse, locallyGenerated: boolean): void {
    watcher.notifyInFlight = false;
    watcher.notifyHandle = undefined;
    const status = response.status;
    if (status >= 300) {
      this.stats.notifyFailures++;
      if (status === 481 || status === 408 || locallyGenerated) {
        watcher.notifyPending = false;
        this.remove(watcher);
        return;
      }
    }
    if (watcher.notifyPending) this.sendNotify(watcher);
  }
}

/** The user part of our Contact for a watcher: the presentity's. */
function contactUserOf(watcher: SipWatcher): string {
  return watcher.presentity.user ?? PRESENCE_PACKAGE;
}
