import { parsePidf } from '../presence/pidf-parser.js';
import type { PresenceDocument } from '../presence/pidf-types.js';
import { presenceOf } from '../presence/presence-status.js';
import type { QsaSubscriptionHandle, QsaSubscriptionInfo, StatusMessage, StatusQueue } from '../qsa/index.js';
import { LocalAgentError } from './agent-error.js';
import type { UpstreamBroker, UserAgentSource } from './agent-options.js';
import { isUnused, type Presentity } from './agent-records.js';
import type { LocalDomains } from './presentity-uri.js';

/**
 * Marks the QSA subscriptions the agent makes itself (as `data`): the agent's
 * own notifier must never answer them, even when the UA's address is in a
 * served domain or the record is the presentity itself (via the proxy).
 */
const UPSTREAM_MARK: unique symbol = Symbol('local-presence-agent upstream');
interface UpstreamData {
  readonly [UPSTREAM_MARK]: true;
  readonly presentity: string;
}

/** True for a QSA subscription the agent made to a user agent. */
export function isUpstreamSubscription(sub: QsaSubscriptionInfo): boolean {
  const data = sub.data;
  return typeof data === 'object' && data !== null && UPSTREAM_MARK in data;
}

interface Source {
  readonly record: string;
  readonly subscriber: string;
}

export interface UserAgentSourcesOptions {
  broker: UpstreamBroker;
  domains: LocalDomains;
  /** By presentity URI (any form of a served domain's URI). */
  sources: Readonly<Record<string, UserAgentSource>>;
  /** The presentity's current record, if it is still kept. */
  lookup: (key: string) => Presentity | undefined;
  /** The user agent's state of a presentity changed (set or cleared). */
  changed: (presentity: Presentity) => void;
}

/**
 * The local agent as a watcher of its users' own user agents (issue 15, the
 * seed's "PA module subscribing to users"): for a configured presentity, one
 * QSA subscription (answered by the B2BUA) exists while the presentity has
 * at least one watcher, SIP or internal, and ends when the last one leaves.
 * What the UA reports becomes `presentity.userAgentDocument`; the composed
 * document prefers publications over it.
 */
export class UserAgentSources {
  private readonly broker: UpstreamBroker;
  private readonly sources = new Map<string, Source>();
  private readonly active = new Map<string, QsaSubscriptionHandle>();
  private readonly lookup: (key: string) => Presentity | undefined;
  private readonly changed: (presentity: Presentity) => void;
  private queue: StatusQueue | undefined;
  private stopped = false;

  constructor(options: UserAgentSourcesOptions) {
    this.broker = options.broker;
    this.lookup = options.lookup;
    this.changed = options.changed;
    for (const [uri, source] of Object.entries(options.sources)) {
      const target = options.domains.presentityOf(uri);
      if (target === undefined) throw new LocalAgentError('AGENT_ERR_NOT_LOCAL', `user agent source ${uri} is not in a domain served here`);
      if (typeof source?.record !== 'string' || !/^sips?:/i.test(source.record)) {
        throw new LocalAgentError('AGENT_ERR_INVALID_ARGUMENT', `user agent source of ${uri}: record must be a SIP URI`);
      }
      this.sources.set(target.key, { record: source.record, subscriber: source.subscriber ?? target.key });
    }
  }

  /** Presentities with a user agent source. */
  get configured(): number {
    return this.sources.size;
  }

  /** Subscriptions to user agents now running. */
  get running(): number {
    return this.active.size;
  }

  /** The QSA subscription to a presentity's user agent, while it runs. */
  subscriptionOf(key: string): QsaSubscriptionHandle | undefined {
    return this.active.get(key);
  }

  /** A presentity gained or lost a watcher: subscribe to its user agent, or end that subscription. */
  watchersChanged(presentity: Presentity): void {
    if (this.stopped) return;
    const source = this.sources.get(presentity.uri);
    if (source === undefined) return;
    const watched = presentity.sipWatchers.size + presentity.qsaWatchers.size > 0;
    const running = this.active.get(presentity.uri);
    if (watched && running === undefined) {
      this.queue ??= this.startConsumer();
      const data: UpstreamData = { [UPSTREAM_MARK]: true, presentity: presentity.uri };
      this.active.set(presentity.uri, this.broker.subscribe({ record: source.record, subscriber: source.subscriber, queue: this.queue, data }));
    } else if (!watched && running !== undefined) {
      this.active.delete(presentity.uri);
      this.broker.unsubscribe(running);
      // Nobody hears of it: the state goes with the last watcher, not with a NOTIFY.
      presentity.userAgentDocument = undefined;
      presentity.composed = undefined;
    }
  }

  /** Ends every subscription to a user agent (the agent stops). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const handle of this.active.values()) this.broker.unsubscribe(handle);
    this.active.clear();
    this.queue?.close();
  }

  private startConsumer(): StatusQueue {
    const queue = this.broker.createQueue();
    void (async () => {
      for await (const message of queue) this.apply(message);
    })();
    return queue;
  }

  private apply(message: StatusMessage): void {
    const data = message.subscription.data as UpstreamData;
    const key = data.presentity;
    if (this.active.get(key) !== message.subscription) return; // ended meanwhile
    const presentity = this.lookup(key);
    if (presentity === undefined || isUnused(presentity)) return;
    const body = message.state === 'active' ? message.body : undefined;
    // RFC 6665 §4.1.3: a terminated or rejected subscription says nothing about the user any more.
    presentity.userAgentDocument = body === undefined || body.length === 0 ? undefined : { body, presence: presenceOf(message) ?? readPidf(body) };
    presentity.composed = undefined;
    this.changed(presentity);
  }
}

/** The notifier's parsed document is used when there is one; otherwise the body is read here (undefined if it is not PIDF). */
function readPidf(body: Uint8Array): PresenceDocument | undefined {
  try {
    return parsePidf(body);
  } catch {
    return undefined;
  }
}
