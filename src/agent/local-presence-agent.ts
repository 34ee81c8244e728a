import { buildPidf } from '../presence/pidf-builder.js';
import { parsePidf } from '../presence/pidf-parser.js';
import type { BasicStatus, PresenceDocument } from '../presence/pidf-types.js';
import type {
  NotifierHost,
  NotifierRegistration,
  QsaNotifier,
  QsaSubscription,
  QsaSubscriptionHandle,
  StatusUpdate,
} from '../qsa/index.js';
import type { IncomingRequest } from '../sip/transaction/types.js';
import type { SipUserAgent } from '../sip/ua/types.js';
import type { TimerScheduler } from '../util/timer-scheduler.js';
import { LocalAgentError } from './agent-error.js';
import { type AgentSettings, agentSettings, type LocalPresenceAgentOptions } from './agent-options.js';
import type { Presentity } from './agent-records.js';
import { emptyAgentStats, type LocalPresenceAgentStats } from './agent-stats.js';
import { summaryBasic } from './composed-document.js';
import { PresenceState } from './presence-state.js';
import { LocalDomains } from './presentity-uri.js';
import { PublishHandler } from './publish-handler.js';
import { PIDF_CONTENT_TYPE, PRESENCE_PACKAGE } from './request-checks.js';
import { SubscribeHandler, type SipWatcherSummary } from './subscribe-handler.js';
import { isUpstreamSubscription, UserAgentSources } from './user-agent-sources.js';

/** The tuple id of the in-process publication. */
const API_TUPLE_ID = 'api';

/** An in-process publish (HTTP API `PUT /v1/presentities/:uri`). */
export interface LocalPublishState {
  basic: BasicStatus;
  note?: string;
  /** Seconds (capped at maxPublishExpires); 0 removes the publication; absent: it never expires. */
  expires?: number;
}

export interface PresentitySummary {
  uri: string;
  /** Publications merged into the document (SIP PUBLISHes and the in-process one). */
  publications: number;
  /** open if any tuple is open, closed if every tuple with a status is closed. */
  basic: BasicStatus | undefined;
  tuples: Array<{ id: string; basic?: BasicStatus; note?: string }>;
  /** SIP watchers (subscription dialogs). */
  watchers: number;
  /** QSA subscriptions answered by the agent. */
  internalWatchers: number;
}

export type WatcherSummary = SipWatcherSummary | { kind: 'qsa'; presentity: string; watcher: string; subscriptionId: string };

/**
 * The embedded presence server for the local domains (SER PA with
 * `accept_internal_subscriptions`): an event state compositor for PUBLISH
 * (RFC 3903), a notifier for SUBSCRIBE (RFC 6665, RFC 3856), and a QSA
 * notifier that answers internal subscriptions to local records from the
 * same state without any SIP. Records of other domains are left to the
 * B2BUA (it registers with a lower QSA priority); SIP requests for them get
 * 403, like the Kamailio peer.
 *
 * Authorization: every watcher is accepted and immediately active, as
 * Kamailio's presence module does with `force_active=1`; there is no
 * presence.winfo and no pending state.
 *
 * Presentities that never publish can take their state from their own user
 * agent (`userAgents`): while such a presentity is watched, the agent
 * subscribes to the UA through QSA (the B2BUA answers) and uses what it
 * reports whenever the presentity has no publication.
 */
export class LocalPresenceAgent implements QsaNotifier {
  readonly stats: LocalPresenceAgentStats = emptyAgentStats();

  private readonly ua: SipUserAgent;
  private readonly broker: NotifierHost;
  private readonly scheduler: TimerScheduler;
  private readonly settings: AgentSettings;
  private readonly domains: LocalDomains;
  private readonly state: PresenceState;
  private readonly publishHandler: PublishHandler;
  private readonly subscribeHandler: SubscribeHandler;
  private readonly qsaPresentity = new Map<QsaSubscription, Presentity>();
  private readonly userAgents: UserAgentSources | undefined;
  private registration: NotifierRegistration | undefined;
  private started = false;
  private stopped = false;

  constructor(options: LocalPresenceAgentOptions) {
    this.ua = options.ua;
    this.broker = options.broker;
    this.scheduler = options.scheduler;
    this.settings = agentSettings(options);
    this.domains = new LocalDomains(options.domains);
    this.state = new PresenceState({
      scheduler: options.scheduler,
      random: options.random,
      emptyBody: this.settings.emptyPresentityBody,
      stats: this.stats,
      onChange: (presentity) => this.changed(presentity),
    });
    this.publishHandler = new PublishHandler(this.state, this.domains, this.settings, this.stats);
    this.subscribeHandler = new SubscribeHandler({
      ua: options.ua,
      state: this.state,
      domains: this.domains,
      scheduler: options.scheduler,
      random: options.random,
      settings: this.settings,
      stats: this.stats,
      onWatchersChanged: (presentity) => this.userAgents?.watchersChanged(presentity),
    });
    const sources = options.userAgents ?? {};
    if (Object.keys(sources).length > 0) {
      if (options.upstream === undefined) {
        throw new LocalAgentError('AGENT_ERR_INVALID_ARGUMENT', 'userAgents needs upstream (the QsaBroker whose B2BUA subscribes to them)');
      }
      this.userAgents = new UserAgentSources({
        broker: options.upstream,
        domains: this.domains,
        sources,
        lookup: (key) => this.state.get(key),
        changed: (presentity) => this.changed(presentity),
      });
    }
  }

  /** Takes PUBLISH and SUBSCRIBE on the user agent and registers as the QSA notifier of local presence. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.ua.onRequest('PUBLISH', (incoming) => {
      if (this.refuseWhenStopped(incoming)) this.stats.publishesRejected++;
      else this.publishHandler.handle(incoming);
    });
    this.ua.onRequest('SUBSCRIBE', (incoming) => this.handleSubscribe(incoming));
    this.registration = this.broker.registerNotifier(PRESENCE_PACKAGE, this, {
      // Not the agent's own subscriptions to its users' UAs: those go to the B2BUA.
      accepts: (sub) => this.isLocal(sub.record) && !isUpstreamSubscription(sub),
      priority: this.settings.qsaPriority,
      name: 'local-presence-agent',
    });
  }

  /**
   * Stops serving: the QSA subscriptions go to the next notifier, SIP watchers
   * get `terminated;reason=deactivated` (RFC 6665 §4.1.3: subscribe again,
   * maybe elsewhere), every timer is cancelled; later PUBLISH and SUBSCRIBE
   * requests get 503 (the UA has no way to take a handler back).
   */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.userAgents?.stop();
    if (this.registration !== undefined) this.broker.unregisterNotifier(this.registration);
    this.registration = undefined;
    this.subscribeHandler.terminateAll('deactivated');
    for (const presentity of this.qsaPresentity.values()) presentity.qsaWatchers.clear();
    this.qsaPresentity.clear();
    this.state.clear();
  }

  /**
   * Answers a SUBSCRIBE as the agent (what start() registers on the UA):
   * for a component that takes SUBSCRIBE first, e.g. the resource list
   * server, and hands the others on.
   */
  handleSubscribe(incoming: IncomingRequest): void {
    if (this.refuseWhenStopped(incoming)) this.stats.subscribesRejected++;
    else this.subscribeHandler.handle(incoming);
  }

  /** The running QSA subscription to a presentity's own user agent (`userAgents`), if any. */
  userAgentSubscription(uri: string): QsaSubscriptionHandle | undefined {
    const target = this.domains.presentityOf(uri);
    return target === undefined ? undefined : this.userAgents?.subscriptionOf(target.key);
  }

  /** True for a sip/sips URI whose host is one of the configured domains. */
  isLocal(uri: string): boolean {
    return this.domains.isLocal(uri);
  }

  /** The served domains, lower-cased. */
  servedDomains(): string[] {
    return this.domains.list();
  }

  // ------------------------------------------------------------------ in-process publication

  /**
   * Publishes `state` for a local presentity, as a SIP PUBLISH from one fixed
   * source would: a second call modifies the same publication, which is
   * merged with the SIP ones. Throws LocalAgentError AGENT_ERR_NOT_LOCAL for
   * a URI outside the served domains, AGENT_ERR_INVALID_ARGUMENT for a bad
   * state, AGENT_ERR_STOPPED after stop().
   */
  publish(uri: string, state: LocalPublishState): void {
    // Counted like a SIP PUBLISH: an in-process publication is one too (HTTP PUT /v1/presentities).
    try {
      this.publishInProcess(uri, state);
    } catch (error) {
      this.stats.publishesRejected++;
      throw error;
    }
    this.stats.publishesAccepted++;
  }

  private publishInProcess(uri: string, state: LocalPublishState): void {
    if (this.stopped) throw new LocalAgentError('AGENT_ERR_STOPPED', 'the local presence agent is stopped');
    if (state === null || typeof state !== 'object' || (state.basic !== 'open' && state.basic !== 'closed')) {
      throw new LocalAgentError('AGENT_ERR_INVALID_ARGUMENT', 'basic must be "open" or "closed"');
    }
    if (state.note !== undefined && typeof state.note !== 'string') {
      throw new LocalAgentError('AGENT_ERR_INVALID_ARGUMENT', 'note must be a string');
    }
    const expires = state.expires;
    if (expires !== undefined && !(typeof expires === 'number' && Number.isFinite(expires) && expires >= 0)) {
      throw new LocalAgentError('AGENT_ERR_INVALID_ARGUMENT', 'expires must be a number of seconds >= 0');
    }
    const target = this.domains.presentityOf(uri);
    if (target === undefined) throw new LocalAgentError('AGENT_ERR_NOT_LOCAL', `${uri} is not in a domain served here`);
    const existing = this.state.apiPublication(target.key);
    if (expires === 0) {
      if (existing !== undefined) this.state.remove(existing);
      return;
    }
    const body = buildPidf({
      entity: target.key,
      tuples: [
        {
          id: API_TUPLE_ID,
          basic: state.basic,
          ...(state.note !== undefined ? { note: state.note } : {}),
          timestamp: new Date(this.scheduler.clock.wallTime()),
        },
      ],
    });
    const document = parsePidf(body);
    const expiresAt = expires === undefined ? undefined : this.state.now() + Math.min(expires, this.settings.maxPublishExpires) * 1000;
    if (existing !== undefined) this.state.modify(existing, body, document, expiresAt);
    else this.state.create(this.state.presentityFor(target.key, target.user), 'api', body, document, expiresAt);
  }

  /** Removes the in-process publication of `uri`; false if there was none. */
  unpublish(uri: string): boolean {
    const target = this.domains.presentityOf(uri);
    const existing = target === undefined ? undefined : this.state.apiPublication(target.key);
    if (existing === undefined) return false;
    this.state.remove(existing);
    return true;
  }

  // ------------------------------------------------------------------ inspection

  /** Presentities with publications or watchers. */
  presentities(): PresentitySummary[] {
    const out: PresentitySummary[] = [];
    for (const presentity of this.state.presentities()) {
      const document = this.state.documentOf(presentity).presence;
      out.push({
        uri: presentity.uri,
        publications: presentity.publications.length,
        basic: summaryBasic(document),
        tuples: (document?.tuples ?? []).map((t) => ({
          id: t.id,
          ...(t.basic !== undefined ? { basic: t.basic } : {}),
          ...(t.notes.length > 0 ? { note: t.notes[0]!.text } : {}),
        })),
        watchers: presentity.sipWatchers.size,
        internalWatchers: presentity.qsaWatchers.size,
      });
    }
    return out;
  }

  /** The current document of a local presentity (undefined: no publication, or not local). */
  presenceOf(uri: string): PresenceDocument | undefined {
    const target = this.domains.presentityOf(uri);
    const presentity = target === undefined ? undefined : this.state.get(target.key);
    return presentity === undefined ? undefined : this.state.documentOf(presentity).presence;
  }

  /** SIP watchers, then internal (QSA) ones. */
  watchers(): WatcherSummary[] {
    const out: WatcherSummary[] = this.subscribeHandler.list();
    for (const [sub, presentity] of this.qsaPresentity) {
      out.push({ kind: 'qsa', presentity: presentity.uri, watcher: sub.subscriber, subscriptionId: sub.id });
    }
    return out;
  }

  // ------------------------------------------------------------------ QSA notifier

  subscribe(sub: QsaSubscription): void {
    const target = this.domains.presentityOf(sub.record);
    if (this.stopped || target === undefined) {
      // Not reachable through `accepts`; answer rather than leave the subscriber waiting.
      this.broker.notify(sub, { state: 'terminated', reason: 'noresource' });
      return;
    }
    const presentity = this.state.presentityFor(target.key, target.user);
    presentity.qsaWatchers.add(sub);
    this.qsaPresentity.set(sub, presentity);
    this.broker.notify(sub, this.qsaUpdate(presentity));
    this.userAgents?.watchersChanged(presentity);
  }

  unsubscribe(sub: QsaSubscription): void {
    const presentity = this.qsaPresentity.get(sub);
    if (presentity === undefined) return;
    this.qsaPresentity.delete(sub);
    presentity.qsaWatchers.delete(sub);
    this.userAgents?.watchersChanged(presentity);
    this.state.dropIfUnused(presentity);
  }

  // ------------------------------------------------------------------ internals

  private refuseWhenStopped(incoming: IncomingRequest): boolean {
    if (!this.stopped) return false;
    incoming.reply(503, 'Service Unavailable');
    return true;
  }

  /** Status for internal watchers: the document, or state only when there is none. */
  private qsaUpdate(presentity: Presentity): StatusUpdate {
    const composed = this.state.documentOf(presentity);
    if (composed.body === undefined) return { state: 'active' };
    const update: StatusUpdate = { state: 'active', contentType: PIDF_CONTENT_TYPE, body: composed.body };
    if (composed.presence !== undefined) update.document = composed.presence;
    return update;
  }

  /** The presentity's document changed: every watcher, SIP and internal, hears of it. */
  private changed(presentity: Presentity): void {
    this.subscribeHandler.presentityChanged(presentity);
    if (presentity.qsaWatchers.size > 0) {
      const update = this.qsaUpdate(presentity);
      for (const sub of presentity.qsaWatchers) this.broker.notify(sub, update);
    }
  }
}
