import type { PresenceDocument } from '../presence/pidf-types.js';
import type { Random } from '../util/random.js';
import type { TimerScheduler } from '../util/timer-scheduler.js';
import type { EmptyPresentityBody } from './agent-options.js';
import {
  type ComposedDocument,
  isUnused,
  newPresentity,
  type Presentity,
  type Publication,
  type PublicationOrigin,
} from './agent-records.js';
import type { LocalPresenceAgentStats } from './agent-stats.js';
import { composeDocument } from './composed-document.js';

/** RFC 3261 §19.3: tags and entity-tags with about 62 random bits. */
const ETAG_LENGTH = 12;

export interface PresenceStateOptions {
  scheduler: TimerScheduler;
  random: Random;
  emptyBody: EmptyPresentityBody;
  stats: LocalPresenceAgentStats;
  /** Called after every change of a presentity's document (new, modified, removed or expired publication). */
  onChange: (presentity: Presentity) => void;
}

/**
 * The event state of the local presentities (the compositor of RFC 3903 §2):
 * publications by presentity and by entity-tag, their expiry timers (one
 * heap entry each), and the composed document, cached until the next change.
 * A presentity is kept while it has publications or watchers.
 */
export class PresenceState {
  private readonly scheduler: TimerScheduler;
  private readonly random: Random;
  private readonly emptyBody: EmptyPresentityBody;
  private readonly stats: LocalPresenceAgentStats;
  private readonly onChange: (presentity: Presentity) => void;
  private readonly byUri = new Map<string, Presentity>();
  /** SIP publications by their current entity-tag (the in-process one is not reachable by SIP-If-Match). */
  private readonly byEtag = new Map<string, Publication>();
  private changeSeq = 0;

  constructor(options: PresenceStateOptions) {
    this.scheduler = options.scheduler;
    this.random = options.random;
    this.emptyBody = options.emptyBody;
    this.stats = options.stats;
    this.onChange = options.onChange;
  }

  now(): number {
    return this.scheduler.clock.now();
  }

  presentities(): IterableIterator<Presentity> {
    return this.byUri.values();
  }

  get(key: string): Presentity | undefined {
    return this.byUri.get(key);
  }

  /** The presentity `key`, created when missing. */
  presentityFor(key: string, user: string | undefined): Presentity {
    let presentity = this.byUri.get(key);
    if (presentity === undefined) {
      presentity = newPresentity(key, user);
      this.byUri.set(key, presentity);
    }
    return presentity;
  }

  /** Forgets a presentity that has neither publications nor watchers. */
  dropIfUnused(presentity: Presentity): void {
    if (isUnused(presentity) && this.byUri.get(presentity.uri) === presentity) this.byUri.delete(presentity.uri);
  }

  documentOf(presentity: Presentity): ComposedDocument {
    let composed = presentity.composed;
    if (composed === undefined) {
      composed = composeDocument(presentity, this.emptyBody);
      presentity.composed = composed;
    }
    return composed;
  }

  /** The SIP publication of `presentityKey` with this entity-tag. */
  findByEtag(etag: string, presentityKey: string): Publication | undefined {
    const publication = this.byEtag.get(etag);
    return publication !== undefined && publication.presentity.uri === presentityKey ? publication : undefined;
  }

  /** The in-process publication of a presentity. */
  apiPublication(key: string): Publication | undefined {
    return this.byUri.get(key)?.publications.find((p) => p.origin === 'api');
  }

  /** A fresh entity-tag, unique among the current ones (RFC 3903 §4.1). */
  newEtag(): string {
    for (;;) {
      const etag = this.random.token(ETAG_LENGTH);
      if (!this.byEtag.has(etag)) return etag;
    }
  }

  create(
    presentity: Presentity,
    origin: PublicationOrigin,
    body: string,
    document: PresenceDocument,
    expiresAt: number | undefined,
    etag: string = this.newEtag(),
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
    if (origin === 'sip') this.byEtag.set(etag, publication);
    this.armTimer(publication);
    this.changed(presentity);
    return publication;
  }

  /** A new document (and entity-tag) for an existing publication (RFC 3903 §4.4). */
  modify(publication: Publication, body: string, document: PresenceDocument, expiresAt: number | undefined, etag?: string): void {
    this.replaceEtag(publication, etag);
    publication.body = body;
    publication.document = document;
    publication.expiresAt = expiresAt;
    publication.changeSeq = ++this.changeSeq;
    this.armTimer(publication);
    this.changed(publication.presentity);
  }

  /** A new lifetime (and entity-tag), same document (RFC 3903 §4.3): watchers hear nothing. */
  refresh(publication: Publication, expiresAt: number): void {
    this.replaceEtag(publication);
    publication.expiresAt = expiresAt;
    this.armTimer(publication);
  }

  remove(publication: Publication): void {
    publication.timer?.cancel();
    publication.timer = undefined;
    const presentity = publication.presentity;
    const index = presentity.publications.indexOf(publication);
    if (index < 0) return;
    presentity.publications.splice(index, 1);
    if (this.byEtag.get(publication.etag) === publication) this.byEtag.delete(publication.etag);
    this.changed(presentity);
    this.dropIfUnused(presentity);
  }

  /** Cancels every timer and forgets everything (the agent stops). */
  clear(): void {
    for (const presentity of this.byUri.values()) {
      for (const publication of presentity.publications) {
        publication.timer?.cancel();
        publication.timer = undefined;
      }
    }
    this.byEtag.clear();
    this.byUri.clear();
  }

  private replaceEtag(publication: Publication, etag?: string): void {
    if (publication.origin === 'sip') {
      this.byEtag.delete(publication.etag);
      publication.etag = etag ?? this.newEtag();
      this.byEtag.set(publication.etag, publication);
    } else {
      publication.etag = this.random.token(ETAG_LENGTH);
    }
  }

  private changed(presentity: Presentity): void {
    presentity.composed = undefined;
    this.onChange(presentity);
  }

  /** One heap entry per publication, replaced on refresh (cancellation is O(1) and lazy). */
  private armTimer(publication: Publication): void {
    publication.timer?.cancel();
    publication.timer = undefined;
    if (publication.expiresAt === undefined) return;
    publication.timer = this.scheduler.after(publication.expiresAt - this.now(), () => {
      publication.timer = undefined;
      this.stats.publicationsExpired++;
      this.remove(publication);
    });
  }
}
