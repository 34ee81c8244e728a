import type { PresenceDocument } from '../presence/pidf-types.js';
import type { QsaSubscription } from '../qsa/index.js';
import type { NotifierDialog } from '../sip/notifier/notifier-dialogs.js';
import type { Timer } from '../util/timer-scheduler.js';

/**
 * The records of the local presence agent. Flat objects, one per
 * publication, watcher and presentity, each holding at most one timer in the
 * shared TimerScheduler: a presence server may hold many of them.
 */

/** Where a publication came from: a SIP PUBLISH, or the in-process `publish()` (HTTP API). */
export type PublicationOrigin = 'sip' | 'api';

/** One event state publication (RFC 3903 §2: "event state" identified by an entity-tag). */
export interface Publication {
  readonly presentity: Presentity;
  readonly origin: PublicationOrigin;
  /** The current entity-tag (RFC 3903 §4.1); replaced on every successful PUBLISH. */
  etag: string;
  /** The PIDF text as published. */
  body: string;
  document: PresenceDocument;
  /** Clock ms of expiry; undefined: never expires (an in-process publish without expires). */
  expiresAt: number | undefined;
  timer: Timer | undefined;
  /** Increases with every change of any publication: orders tuples in the merged document. */
  changeSeq: number;
}

/** The document sent to watchers, composed once per change and shared by every NOTIFY. */
export interface ComposedDocument {
  /** undefined: no body (state only). Owns its ArrayBuffer, so queues can hold it without copying. */
  body: Uint8Array | undefined;
  presence: PresenceDocument | undefined;
}

/** A watcher that subscribed with SIP: the notifier side of one subscription dialog (RFC 6665 §4.2). */
export type SipWatcher = NotifierDialog<Presentity>;

/** A presentity of a local domain, kept while it has publications or watchers. */
export interface Presentity {
  /** `sip:user@host` (see LocalDomains.presentityOf). */
  readonly uri: string;
  /** The user part, for our Contact. */
  readonly user: string | undefined;
  readonly publications: Publication[];
  readonly sipWatchers: Set<SipWatcher>;
  readonly qsaWatchers: Set<QsaSubscription>;
  /**
   * The state the presentity's own user agent reports (`local_agent.user_agents`):
   * used when the presentity has no publication. Undefined: none (yet).
   */
  userAgentDocument: ComposedDocument | undefined;
  /** Cleared on every change. */
  composed: ComposedDocument | undefined;
}

export function newPresentity(uri: string, user: string | undefined): Presentity {
  return { uri, user, publications: [], sipWatchers: new Set(), qsaWatchers: new Set(), userAgentDocument: undefined, composed: undefined };
}

export function isUnused(presentity: Presentity): boolean {
  return presentity.publications.length === 0 && presentity.sipWatchers.size === 0 && presentity.qsaWatchers.size === 0;
}
