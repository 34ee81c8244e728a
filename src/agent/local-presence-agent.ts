import { buildPidf } from '../presence/pidf-builder.js';
import { PidfError } from '../presence/pidf-error.js';
import { parsePidf } from '../presence/pidf-parser.js';
import type { BasicStatus, PresenceDocument } from '../presence/pidf-types.js';
import type { NotifierRegistration, QsaBroker, QsaNotifier, QsaSubscription, StatusUpdate } from '../qsa/index.js';
import { callIdOf } from '../sip/codec/call-id.js';
import { contentTypeOf } from '../sip/codec/content-type.js';
import { eventOf } from '../sip/codec/event.js';
import { expiresOf } from '../sip/codec/expires.js';
import { fromHeader, toHeader } from '../sip/codec/from-to.js';
import type { SipRequest, SipResponse } from '../sip/codec/message.js';
import { isSipParseError } from '../sip/codec/parse-error.js';
import { acceptRemoteCSeq, buildInDialogRequest, dialogLookupKey, refreshTarget } from '../sip/dialog/dialog-state.js';
import { createUasDialogResponse, newUasDialogState } from '../sip/dialog/uas-dialog.js';
import type { IncomingRequest } from '../sip/transaction/types.js';
import type { SipUserAgent } from '../sip/ua/types.js';
import type { Random } from '../util/random.js';
import type { TimerScheduler } from '../util/timer-scheduler.js';
import { LocalAgentError } from './agent-error.js';
import { type AgentSettings, agentSettings, DEFAULT_REQUESTED_EXPIRES, type LocalPresenceAgentOptions } from './agent-options.js';
import { type ComposedDocument, isUnused, newPresentity, type Presentity, type Publication, type SipWatcher } from './agent-records.js';
import { composeDocument, PIDF_CONTENT_TYPE, summaryBasic } from './composed-document.js';
import { LocalDomains } from './presentity-uri.js';

/** The one event package served (RFC 3856). */
const PRESENCE = 'presence';
/** RFC 3261 §19.3: tags and entity-tags with about 62 random bits. */
const TAG_LENGTH = 12;
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

export type WatcherSummary =
  | {
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
  | { kind: 'qsa'; presentity: string; watcher: string; subscriptionId: string };

export interface LocalPresenceAgentStats {
  publishesAccepted: number;
  publishesRejected: number;
  subscribesAccepted: number;
  subscribesRejected: number;
  notifiesSent: number;
  /** NOTIFYs answered with a non-2xx response (or none at all). */
  notifyFailures: number;
  publicationsExpired: number;
  subscriptionsExpired: number;
}

type ExpiresValue = number | undefined | 'invalid';

/**
 * The embedded presence server for the local domains (SER PA with
 * `accept_internal_subscriptions`): an event state compositor for PUBLISH
 * (RFC 3903), a notifier for SUBSCRIBE (RFC 6665, RFC 3856), and a QSA
 * notifier that answers internal subscriptions to local records from the
 * same state without any SIP. Records of other domains are left to the
 * B2BUA (lower QSA priority); SIP requests for them get 403.
 *
 * Authorization: every watcher is accepted and immediately active, as
 * Kamailio's presence module does with `force_active=1`; there is no
 * presence.winfo and no pending state.
 */
export class LocalPresenceAgent implements QsaNotifier {
  readonly stats: LocalPresenceAgentStats = {
    publishesAccepted: 0,
    publishesRejected: 0,
    subscribesAccepted: 0,
    subscribesRejected: 0,
    notifiesSent: 0,
    notifyFailures: 0,
    publicationsExpired: 0,
    subscriptionsExpired: 0,
  };

  private readonly ua: SipUserAgent;
  private readonly broker: QsaBroker;
  private readonly scheduler: TimerScheduler;
  private readonly random: Random;
  private readonly settings: AgentSettings;
  private readonly domains: LocalDomains;

  private readonly presentitiesByUri = new Map<string, Presentity>();
  /** SIP publications by their current entity-tag (the in-process one is not reachable by SIP-If-Match). */
  private readonly publicationsByEtag = new Map<string, Publication>();
  private readonly watchersByKey = new Map<string, SipWatcher>();
  private readonly qsaPresentity = new Map<QsaSubscription, Presentity>();
  private registration: NotifierRegistration | undefined;
  private changeSeq = 0;
  private started = false;
  private stopped = false;

  constructor(options: LocalPresenceAgentOptions) {
    this.ua = options.ua;
    this.broker = options.broker;
    this.scheduler = options.scheduler;
    this.random = options.random;
    this.settings = agentSettings(options);
    this.domains = new LocalDomains(options.domains);
  }

  /** Takes PUBLISH and SUBSCRIBE on the user agent and registers as the QSA notifier of local presence. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.ua.onRequest('PUBLISH', (incoming) => this.handlePublish(incoming));
    this.ua.onRequest('SUBSCRIBE', (incoming) => this.handleSubscribe(incoming));
    this.registration = this.broker.registerNotifier(PRESENCE, this, {
      accepts: (sub) => this.isLocal(sub.record),
      priority: this.settings.qsaPriority,
      name: 'local-presence-agent',
    });
  }

  /**
   * Stops serving: the QSA subscriptions go to the next notifier, SIP watchers
   * get `terminated;reason=deactivated` (RFC 6665 §4.1.3: subscribe again,
   * maybe elsewhere), every timer is cancelled; later PUBLISH and SUBSCRIBE
   * requests get 503.
   */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.registration !== undefined) this.broker.unregisterNotifier(this.registration);
    this.registration = undefined;
    for (const watcher of [...this.watchersByKey.values()]) this.terminateWatcher(watcher, 'deactivated');
    for (const presentity of this.presentitiesByUri.values()) {
      for (const publication of presentity.publications) publication.timer?.cancel();
      presentity.qsaWatchers.clear();
    }
    this.qsaPresentity.clear();
    this.publicationsByEtag.clear();
    this.presentitiesByUri.clear();
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
   * a URI outside the served domains, AGENT_ERR_INVALID_ARGUMENT for a bad state.
   */
  publish(uri: string, state: LocalPublishState): void {
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
    const existing = this.presentitiesByUri.get(target.key)?.publications.find((p) => p.origin === 'api');
    if (expires === 0) {
      if (existing !== undefined) this.removePublication(existing);
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
    const expiresAt = expires === undefined ? undefined : this.scheduler.clock.now() + Math.min(expires, this.settings.maxPublishExpires) * 1000;
    if (existing !== undefined) {
      existing.etag = this.random.token(TAG_LENGTH);
      this.modifyPublication(existing, body, document, expiresAt);
    } else {
      this.createPublication(this.presentityFor(target.key, target.user), 'api', body, document, expiresAt);
    }
  }

  /** Removes the in-process publication of `uri`; false if there was none. */
  unpublish(uri: string): boolean {
    const target = this.domains.presentityOf(uri);
    if (target === undefined) return false;
    const existing = this.presentitiesByUri.get(target.key)?.publications.find((p) => p.origin === 'api');
    if (existing === undefined) return false;
    this.removePublication(existing);
    return true;
  }

  // ------------------------------------------------------------------ inspection

  presentities(): PresentitySummary[] {
    const out: PresentitySummary[] = [];
    for (const presentity of this.presentitiesByUri.values()) {
      const document = this.documentOf(presentity).presence;
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

  /** The current document of a local presentity (undefined: no publication or not local). */
  presenceOf(uri: string): PresenceDocument | undefined {
    const target = this.domains.presentityOf(uri);
    const presentity = target === undefined ? undefined : this.presentitiesByUri.get(target.key);
    return presentity === undefined ? undefined : this.documentOf(presentity).presence;
  }

  watchers(): WatcherSummary[] {
    const out: WatcherSummary[] = [];
    const now = this.scheduler.clock.now();
    for (const w of this.watchersByKey.values()) {
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
    const presentity = this.presentityFor(target.key, target.user);
    presentity.qsaWatchers.add(sub);
    this.qsaPresentity.set(sub, presentity);
    this.broker.notify(sub, this.qsaUpdate(presentity));
  }

  unsubscribe(sub: QsaSubscription): void {
    const presentity = this.qsaPresentity.get(sub);
    if (presentity === undefined) return;
    this.qsaPresentity.delete(sub);
    presentity.qsaWatchers.delete(sub);
    this.dropIfUnused(presentity);
  }

  private qsaUpdate(presentity: Presentity): StatusUpdate {
    const composed = this.documentOf(presentity);
    if (composed.body === undefined) return { state: 'active' };
    const update: StatusUpdate = { state: 'active', contentType: PIDF_CONTENT_TYPE, body: composed.body };
    if (composed.presence !== undefined) update.presence = composed.presence;
    return update;
  }

  // ------------------------------------------------------------------ PUBLISH (RFC 3903 §6)

  private handlePublish(incoming: IncomingRequest): void {
    try {
      this.processPublish(incoming);
    } catch (error) {
      if (!isSipParseError(error)) throw error; // the UA answers 500 and reports it
      this.stats.publishesRejected++;
      incoming.reply(400, 'Bad Request');
    }
  }

  private rejectPublish(incoming: IncomingRequest, status: number, reason: string, headers?: Array<readonly [string, string]>): void {
    this.stats.publishesRejected++;
    incoming.reply(status, reason, headers);
  }

  private processPublish(incoming: IncomingRequest): void {
    const request = incoming.request;
    if (this.stopped) {
      this.rejectPublish(incoming, 503, 'Service Unavailable');
      return;
    }
    const target = this.domains.presentityOf(request.uri);
    if (target === undefined) {
      this.rejectPublish(incoming, 403, 'Forbidden - domain not served');
      return;
    }
    // Step 2: the event package.
    if (eventOf(request)?.package !== PRESENCE) {
      this.rejectPublish(incoming, 489, 'Bad Event', [['Allow-Events', PRESENCE]]);
      return;
    }
    // Step 3: SIP-If-Match names a publication of this presentity, or the request fails.
    const ifMatch = request.headers.get('sip-if-match')?.trim();
    let existing: Publication | undefined;
    if (ifMatch !== undefined) {
      existing = this.publicationsByEtag.get(ifMatch);
      if (existing === undefined || existing.presentity.uri !== target.key) {
        this.rejectPublish(incoming, 412, 'Conditional Request Failed');
        return;
      }
    }
    // Step 4: Expires within bounds.
    const requested = requestedExpires(request);
    if (requested === 'invalid') {
      this.rejectPublish(incoming, 400, 'Bad Request - invalid Expires');
      return;
    }
    let granted = requested ?? DEFAULT_REQUESTED_EXPIRES;
    if (granted !== 0 && granted < this.settings.minExpires) {
      this.rejectPublish(incoming, 423, 'Interval Too Brief', [['Min-Expires', String(this.settings.minExpires)]]);
      return;
    }
    granted = Math.min(granted, this.settings.maxPublishExpires);
    const hasBody = request.body.length > 0;

    if (existing !== undefined) {
      const publication = existing;
      if (granted === 0) {
        // Removal (RFC 3903 §4.5).
        this.stats.publishesAccepted++;
        incoming.reply(200, 'OK', [
          ['SIP-ETag', publication.etag],
          ['Expires', '0'],
        ]);
        this.removePublication(publication);
        return;
      }
      let content: { text: string; document: PresenceDocument } | undefined;
      if (hasBody) {
        content = this.readPidf(incoming);
        if (content === undefined) return;
      }
      // A new entity-tag for every successful PUBLISH, refresh included (RFC 3903 §4.1).
      this.publicationsByEtag.delete(publication.etag);
      publication.etag = this.newEtag();
      this.publicationsByEtag.set(publication.etag, publication);
      const expiresAt = this.scheduler.clock.now() + granted * 1000;
      this.stats.publishesAccepted++;
      incoming.reply(200, 'OK', [
        ['SIP-ETag', publication.etag],
        ['Expires', String(granted)],
      ]);
      if (content === undefined) {
        // Refresh (RFC 3903 §4.3): the state is unchanged, watchers hear nothing.
        publication.expiresAt = expiresAt;
        this.armPublicationTimer(publication);
      } else {
        this.modifyPublication(publication, content.text, content.document, expiresAt);
      }
      return;
    }

    // Initial publication (RFC 3903 §4.2): it must carry the state.
    if (!hasBody) {
      this.rejectPublish(incoming, 400, 'Bad Request - missing body');
      return;
    }
    const content = this.readPidf(incoming);
    if (content === undefined) return;
    const etag = this.newEtag();
    this.stats.publishesAccepted++;
    incoming.reply(200, 'OK', [
      ['SIP-ETag', etag],
      ['Expires', String(granted)],
    ]);
    // An initial PUBLISH with Expires: 0 creates state that expires at once: nothing is kept.
    if (granted === 0) return;
    const publication = this.createPublication(
      this.presentityFor(target.key, target.user),
      'sip',
      content.text,
      content.document,
      this.scheduler.clock.now() + granted * 1000,
      etag,
    );
    this.publicationsByEtag.set(publication.etag, publication);
  }

  /** Step 5: the body must be PIDF (415 otherwise) and readable (400 otherwise). */
  private readPidf(incoming: IncomingRequest): { text: string; document: PresenceDocument } | undefined {
    const request = incoming.request;
    const contentType = contentTypeOf(request);
    if (contentType === undefined) {
      this.rejectPublish(incoming, 400, 'Bad Request - missing Content-Type');
      return undefined;
    }
    if (contentType.mediaType !== PIDF_CONTENT_TYPE) {
      this.rejectPublish(incoming, 415, 'Unsupported Media Type', [['Accept', PIDF_CONTENT_TYPE]]);
      return undefined;
    }
    const body = request.body;
    let document: PresenceDocument;
    try {
      document = parsePidf(body);
    } catch (error) {
      if (!(error instanceof PidfError)) throw error;
      this.rejectPublish(incoming, 400, 'Bad Request - invalid PIDF');
      return undefined;
    }
    // toString makes a string of its own: nothing of the packet stays referenced.
    const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
    return { text, document };
  }

  private newEtag(): string {
    for (;;) {
      const etag = this.random.token(TAG_LENGTH);
      if (!this.publicationsByEtag.has(etag)) return etag;
    }
  }

  private createPublication(
    presentity: Presentity,
    origin: Publication['origin'],
    body: string,
    document: PresenceDocument,
    expiresAt: number | undefined,
    etag: string = this.random.token(TAG_LENGTH),
  ): Publication {
    const publication: Publication = {
      presentity,
      origin,
      etag,
      body,
      document,
      expiresAt,
      timer: undefined,
      changeSeq: ++this.changeSeq,
    };
    presentity.publications.push(publication);
    this.armPublicationTimer(publication);
    this.changed(presentity);
    return publication;
  }

  private modifyPublication(publication: Publication, body: string, document: PresenceDocument, expiresAt: number | undefined): void {
    publication.body = body;
    publication.document = document;
    publication.expiresAt = expiresAt;
    publication.changeSeq = ++this.changeSeq;
    this.armPublicationTimer(publication);
    this.changed(publication.presentity);
  }

  private removePublication(publication: Publication): void {
    publication.timer?.cancel();
    publication.timer = undefined;
    const presentity = publication.presentity;
    const index = presentity.publications.indexOf(publication);
    if (index < 0) return;
    presentity.publications.splice(index, 1);
    if (this.publicationsByEtag.get(publication.etag) === publication) this.publicationsByEtag.delete(publication.etag);
    this.changed(presentity);
    this.dropIfUnused(presentity);
  }

  /** One heap entry per publication, replaced on refresh (cancellation is O(1) and lazy). */
  private armPublicationTimer(publication: Publication): void {
    publication.timer?.cancel();
    publication.timer = undefined;
    if (publication.expiresAt === undefined) return;
    publication.timer = this.scheduler.after(publication.expiresAt - this.scheduler.clock.now(), () => {
      publication.timer = undefined;
      this.stats.publicationsExpired++;
      this.removePublication(publication);
    });
  }

  // ------------------------------------------------------------------ SUBSCRIBE (RFC 6665 §4.2.1, RFC 3856 §6)

  private handleSubscribe(incoming: IncomingRequest): void {
    try {
      this.processSubscribe(incoming);
    } catch (error) {
      if (!isSipParseError(error)) throw error;
      this.stats.subscribesRejected++;
      incoming.reply(400, 'Bad Request');
    }
  }

  private rejectSubscribe(incoming: IncomingRequest, status: number, reason: string, headers?: Array<readonly [string, string]>): void {
    this.stats.subscribesRejected++;
    incoming.reply(status, reason, headers);
  }

  private processSubscribe(incoming: IncomingRequest): void {
    const request = incoming.request;
    if (this.stopped) {
      this.rejectSubscribe(incoming, 503, 'Service Unavailable');
      return;
    }
    const toTag = toHeader(request).tag;
    if (toTag !== undefined) {
      this.processInDialogSubscribe(incoming, toTag);
      return;
    }

    const target = this.domains.presentityOf(request.uri);
    if (target === undefined) {
      this.rejectSubscribe(incoming, 403, 'Forbidden - domain not served');
      return;
    }
    const event = eventOf(request);
    if (event?.package !== PRESENCE) {
      this.rejectSubscribe(incoming, 489, 'Bad Event', [['Allow-Events', PRESENCE]]);
      return;
    }
    if (!acceptsPidf(request)) {
      this.rejectSubscribe(incoming, 406, 'Not Acceptable', [['Accept', PIDF_CONTENT_TYPE]]);
      return;
    }
    const requested = requestedExpires(request);
    if (requested === 'invalid') {
      this.rejectSubscribe(incoming, 400, 'Bad Request - invalid Expires');
      return;
    }
    let granted = requested ?? DEFAULT_REQUESTED_EXPIRES;
    if (granted !== 0 && granted < this.settings.minExpires) {
      this.rejectSubscribe(incoming, 423, 'Interval Too Brief', [['Min-Expires', String(this.settings.minExpires)]]);
      return;
    }
    granted = Math.min(granted, this.settings.maxSubscribeExpires);
    const localTag = this.random.token(TAG_LENGTH);
    const dialog = newUasDialogState(request, localTag);
    // RFC 6665 §4.1.2.1: a SUBSCRIBE carries a From tag and a Contact.
    if (dialog === undefined) {
      this.rejectSubscribe(incoming, 400, 'Bad Request - missing Contact or From tag');
      return;
    }

    const presentity = this.presentityFor(target.key, target.user);
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
    incoming.respond(this.subscribeResponse(request, watcher, granted));
    if (granted === 0) {
      // A fetch (RFC 6665 §4.4.3): one NOTIFY with the state, and the subscription is over.
      watcher.removed = true;
      watcher.terminateReason = 'timeout';
      this.sendNotify(watcher);
      this.dropIfUnused(presentity);
      return;
    }
    this.watchersByKey.set(watcher.key, watcher);
    presentity.sipWatchers.add(watcher);
    this.armWatcherTimer(watcher);
    // RFC 6665 §4.2.1.2: the notifier sends a NOTIFY at once, with the current state.
    this.sendNotify(watcher);
  }

  private processInDialogSubscribe(incoming: IncomingRequest, toTag: string): void {
    const request = incoming.request;
    const watcher = this.watchersByKey.get(dialogLookupKey(callIdOf(request), toTag));
    if (watcher === undefined || fromHeader(request).tag !== watcher.dialog.remoteTag) {
      this.rejectSubscribe(incoming, 481, 'Subscription does not exist');
      return;
    }
    // RFC 3261 §12.2.2: a lower CSeq than the last one is out of order.
    if (!acceptRemoteCSeq(watcher.dialog, request)) {
      this.rejectSubscribe(incoming, 500, 'Out of order CSeq');
      return;
    }
    if (eventOf(request)?.package !== PRESENCE) {
      this.rejectSubscribe(incoming, 489, 'Bad Event', [['Allow-Events', PRESENCE]]);
      return;
    }
    const requested = requestedExpires(request);
    if (requested === 'invalid') {
      this.rejectSubscribe(incoming, 400, 'Bad Request - invalid Expires');
      return;
    }
    let granted = requested ?? DEFAULT_REQUESTED_EXPIRES;
    if (granted !== 0 && granted < this.settings.minExpires) {
      this.rejectSubscribe(incoming, 423, 'Interval Too Brief', [['Min-Expires', String(this.settings.minExpires)]]);
      return;
    }
    granted = Math.min(granted, this.settings.maxSubscribeExpires);
    // RFC 6665 §3.1: SUBSCRIBE is a target-refresh request.
    refreshTarget(watcher.dialog, request);
    watcher.transport = incoming.source.transport;
    this.stats.subscribesAccepted++;
    incoming.respond(this.subscribeResponse(request, watcher, granted));
    if (granted === 0) {
      // Unsubscribe (RFC 6665 §4.2.1.4): a last NOTIFY, terminated.
      this.terminateWatcher(watcher, 'timeout');
      return;
    }
    watcher.expiresAt = this.scheduler.clock.now() + granted * 1000;
    this.armWatcherTimer(watcher);
    this.sendNotify(watcher);
  }

  private subscribeResponse(request: SipRequest, watcher: SipWatcher, granted: number): SipResponse {
    return createUasDialogResponse(request, 200, watcher.dialog.localTag, [
      ['Expires', String(granted)],
      ['Contact', this.contactOf(watcher)],
    ]);
  }

  private contactOf(watcher: SipWatcher): string {
    return `<${this.ua.contactUri(watcher.presentity.user ?? PRESENCE, watcher.transport)}>`;
  }

  private armWatcherTimer(watcher: SipWatcher): void {
    watcher.timer?.cancel();
    watcher.timer = this.scheduler.after(watcher.expiresAt - this.scheduler.clock.now(), () => {
      watcher.timer = undefined;
      this.stats.subscriptionsExpired++;
      // RFC 6665 §4.2.2: the subscription ran out without a refresh.
      this.terminateWatcher(watcher, 'timeout');
    });
  }

  /** Takes the watcher out of the tables; its last NOTIFY may still be on its way. */
  private removeWatcher(watcher: SipWatcher): void {
    if (watcher.removed) return;
    watcher.removed = true;
    watcher.timer?.cancel();
    watcher.timer = undefined;
    this.watchersByKey.delete(watcher.key);
    watcher.presentity.sipWatchers.delete(watcher);
    this.dropIfUnused(watcher.presentity);
  }

  private terminateWatcher(watcher: SipWatcher, reason: string): void {
    if (watcher.terminateReason !== undefined) return;
    this.removeWatcher(watcher);
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
    const terminated = watcher.terminateReason !== undefined;
    const state = terminated
      ? `terminated;reason=${watcher.terminateReason}`
      : `active;expires=${Math.max(1, Math.ceil((watcher.expiresAt - this.scheduler.clock.now()) / 1000))}`;
    const composed = this.documentOf(watcher.presentity);
    const headers: Array<readonly [string, string]> = [
      ['Event', watcher.eventId === undefined ? PRESENCE : `${PRESENCE};id=${watcher.eventId}`],
      ['Subscription-State', state],
      ['Contact', this.contactOf(watcher)],
    ];
    if (composed.body !== undefined) headers.push(['Content-Type', PIDF_CONTENT_TYPE]);
    const notify = buildInDialogRequest(watcher.dialog, 'NOTIFY', headers, composed.body);
    watcher.notifyInFlight = true;
    this.stats.notifiesSent++;
    const handle = this.ua.sendRequest(notify, {
      onFinal: (response, locallyGenerated) => this.onNotifyFinal(watcher, response, locallyGenerated),
    });
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
        this.removeWatcher(watcher);
        return;
      }
    }
    if (watcher.notifyPending) this.sendNotify(watcher);
  }

  // ------------------------------------------------------------------ presentity state

  private presentityFor(key: string, user: string | undefined): Presentity {
    let presentity = this.presentitiesByUri.get(key);
    if (presentity === undefined) {
      presentity = newPresentity(key, user);
      this.presentitiesByUri.set(key, presentity);
    }
    return presentity;
  }

  private dropIfUnused(presentity: Presentity): void {
    if (isUnused(presentity) && this.presentitiesByUri.get(presentity.uri) === presentity) {
      this.presentitiesByUri.delete(presentity.uri);
    }
  }

  private documentOf(presentity: Presentity): ComposedDocument {
    let composed = presentity.composed;
    if (composed === undefined) {
      composed = composeDocument(presentity, this.settings.emptyPresentityBody);
      presentity.composed = composed;
    }
    return composed;
  }

  /** The presentity's state changed: every watcher, SIP and internal, hears of it. */
  private changed(presentity: Presentity): void {
    presentity.composed = undefined;
    for (const watcher of presentity.sipWatchers) this.sendNotify(watcher);
    if (presentity.qsaWatchers.size > 0) {
      const update = this.qsaUpdate(presentity);
      for (const sub of presentity.qsaWatchers) this.broker.notify(sub, update);
    }
  }
}

/** Expires as requested: a number, undefined when absent, 'invalid' when present but not delta-seconds. */
function requestedExpires(request: SipRequest): ExpiresValue {
  const value = expiresOf(request);
  if (value !== undefined) return value;
  return request.headers.has('expires') ? 'invalid' : undefined;
}

/** RFC 3856 §6.7: the watcher must accept PIDF; no Accept header means it does. */
function acceptsPidf(request: SipRequest): boolean {
  const accepted = request.headers.values('accept');
  if (accepted.length === 0) return true;
  for (const item of accepted) {
    const semicolon = item.indexOf(';');
    const media = (semicolon < 0 ? item : item.slice(0, semicolon)).trim().toLowerCase();
    if (media === PIDF_CONTENT_TYPE || media === 'application/*' || media === '*/*') return true;
  }
  return false;
}
