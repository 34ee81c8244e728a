import { toHeader } from '../sip/codec/from-to.js';
import { isSipParseError } from '../sip/codec/parse-error.js';
import { NotifierDialogs } from '../sip/notifier/notifier-dialogs.js';
import type { IncomingRequest } from '../sip/transaction/types.js';
import type { SipUserAgent } from '../sip/ua/types.js';
import type { Random } from '../util/random.js';
import type { TimerScheduler } from '../util/timer-scheduler.js';
import type { AgentSettings } from './agent-options.js';
import type { Presentity, SipWatcher } from './agent-records.js';
import type { LocalPresenceAgentStats } from './agent-stats.js';
import type { PresenceState } from './presence-state.js';
import type { LocalDomains } from './presentity-uri.js';
import { acceptsPidf, PIDF_CONTENT_TYPE, PRESENCE_PACKAGE } from './request-checks.js';

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
  /** A presentity gained or lost a SIP watcher. */
  onWatchersChanged?: (presentity: Presentity) => void;
}

/**
 * The presence notifier for SIP watchers (RFC 6665 §4.2, RFC 3856 §6) on the
 * shared notifier dialog machinery: SUBSCRIBE creates, refreshes and ends
 * watcher dialogs; NOTIFYs carry the presentity's composed document. Every
 * watcher is accepted and active at once (Kamailio's `force_active`).
 */
export class SubscribeHandler {
  private readonly state: PresenceState;
  private readonly domains: LocalDomains;
  private readonly dialogs: NotifierDialogs<Presentity>;
  private readonly onWatchersChanged: ((presentity: Presentity) => void) | undefined;

  constructor(options: SubscribeHandlerOptions) {
    this.state = options.state;
    this.domains = options.domains;
    this.onWatchersChanged = options.onWatchersChanged;
    this.dialogs = new NotifierDialogs<Presentity>({
      ua: options.ua,
      scheduler: options.scheduler,
      random: options.random,
      eventPackage: PRESENCE_PACKAGE,
      minExpires: options.settings.minExpires,
      maxExpires: options.settings.maxSubscribeExpires,
      counters: options.stats,
      content: (watcher) => {
        const composed = this.state.documentOf(watcher.resource);
        return composed.body === undefined ? {} : { contentType: PIDF_CONTENT_TYPE, body: composed.body };
      },
      removed: (watcher) => {
        const presentity = watcher.resource;
        presentity.sipWatchers.delete(watcher);
        this.onWatchersChanged?.(presentity);
        this.state.dropIfUnused(presentity);
      },
    });
  }

  get size(): number {
    return this.dialogs.size;
  }

  handle(incoming: IncomingRequest): void {
    try {
      this.process(incoming);
    } catch (error) {
      if (!isSipParseError(error)) throw error; // the UA answers 500 and reports it
      this.dialogs.reject(incoming, 400, 'Bad Request');
    }
  }

  /** The presentity's document changed: a NOTIFY to each of its watchers. */
  presentityChanged(presentity: Presentity): void {
    for (const watcher of presentity.sipWatchers) this.dialogs.notify(watcher);
  }

  /** Ends every subscription with a terminated NOTIFY carrying `reason`. */
  terminateAll(reason: string): void {
    this.dialogs.terminateAll(reason);
  }

  list(): SipWatcherSummary[] {
    const out: SipWatcherSummary[] = [];
    for (const w of this.dialogs.dialogs()) {
      out.push({
        kind: 'sip',
        presentity: w.resource.uri,
        watcher: w.dialog.remoteUri,
        callId: w.dialog.callId,
        localTag: w.dialog.localTag,
        remoteTag: w.dialog.remoteTag,
        remoteTarget: w.dialog.remoteTarget,
        expiresIn: this.dialogs.expiresIn(w),
      });
    }
    return out;
  }

  private process(incoming: IncomingRequest): void {
    const request = incoming.request;
    if (toHeader(request).tag !== undefined) {
      this.dialogs.handleInDialog(incoming);
      return;
    }
    const target = this.domains.presentityOf(request.uri);
    if (target === undefined) {
      this.dialogs.reject(incoming, 403, 'Forbidden - domain not served');
      return;
    }
    const event = this.dialogs.checkEvent(incoming);
    if (event === undefined) return;
    if (!acceptsPidf(request)) {
      this.dialogs.reject(incoming, 406, 'Not Acceptable', [['Accept', PIDF_CONTENT_TYPE]]);
      return;
    }
    const granted = this.dialogs.grant(incoming);
    if (granted === undefined) return;
    const presentity = this.state.presentityFor(target.key, target.user);
    const watcher: SipWatcher | undefined = this.dialogs.accept(incoming, event.id, {
      resource: presentity,
      granted,
      contactUser: presentity.user ?? PRESENCE_PACKAGE,
    });
    if (watcher === undefined || watcher.removed) {
      // Refused (400), or a fetch (RFC 6665 §4.4.3): one NOTIFY with the state, and the subscription is over.
      if (watcher !== undefined) this.dialogs.notify(watcher);
      this.state.dropIfUnused(presentity);
      return;
    }
    presentity.sipWatchers.add(watcher);
    this.onWatchersChanged?.(presentity);
    // RFC 6665 §4.2.1.2: a NOTIFY at once, with the current state.
    this.dialogs.notify(watcher);
  }
}
