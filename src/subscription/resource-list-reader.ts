import type { StatusUpdate, SubscriptionState } from '../qsa/index.js';
import { type ResourceInstanceView, type ResourceUpdate, ResourceListView } from '../rlmi/index.js';
import type { BodyReader, BodyReading, EventPackage } from './event-package.js';
import { statusStateForTermination } from './failure-status.js';

/** What one resource list NOTIFY gives: one status update per resource whose state changed. */
export interface ResourceListReading {
  updates: StatusUpdate[];
  /** The list view (or a member's) can no longer be trusted: a new subscription is needed (see ResourceListReader). */
  resync: boolean;
}

/** One member of the list (a nested list's members included), by list and URI. */
interface MemberEntry {
  /** The member package's reader of this member's documents, made at its first document. */
  reader: BodyReader | undefined;
  /** The part last read (the view keeps the object until a new part arrives): read each part once. */
  read: Uint8Array | undefined;
  reading: BodyReading;
  /** What the subscribers were last told about this member. */
  last: StatusUpdate;
}

/** The instance that stands for a resource: an active one, else a pending one, else the first (terminated). */
function mainInstance(instances: readonly ResourceInstanceView[]): ResourceInstanceView | undefined {
  return instances.find((i) => i.state === 'active') ?? instances.find((i) => i.state === 'pending') ?? instances[0];
}

function instanceState(instance: ResourceInstanceView): SubscriptionState {
  if (instance.state === 'terminated') return statusStateForTermination(instance.reason);
  return instance.state;
}

/**
 * The subscriber's side of one resource list subscription (RFC 4662): the
 * NOTIFY bodies (multipart/related, an RLMI root, the members' documents as
 * parts) are merged by a ResourceListView, and each resource whose state
 * changed becomes a status update of its own, `record` set to the resource's
 * URI and `list` to the URI of the list it belongs to (nested lists
 * flattened, each member under its own list). A member's `state` and
 * `reason` are its instance's (`pending` while it has none, as in Kamailio's
 * first NOTIFY); its body is read by the member package's reader, one reader
 * per member, so that reg or dialog members keep their own merged views. A
 * resource that leaves the list, or whose instance ends, is reported
 * `terminated` once.
 *
 * A body that cannot be read (broken multipart framing, a `cid` that names no
 * part, a DOCTYPE, a version out of order) is one update for the list itself
 * with `error` and the raw body. A gap in the versions asks for `resync`: the
 * engine then starts a NEW subscription, since Kamailio 5.6's RLS answers an
 * in-dialog refresh with 200 and no NOTIFY at all.
 *
 * One reader per SIP dialog: make a new one when a new dialog starts
 * (docs/event-packages.md §3).
 */
export class ResourceListReader {
  private readonly view = new ResourceListView();
  private readonly members = new Map<string, MemberEntry>();
  /** State and reason of the last update about the list itself (none yet: undefined). */
  private listReported: string | undefined;

  constructor(private readonly memberPackage: EventPackage) {}

  /**
   * Reads one NOTIFY: `base` carries its Subscription-State (state, reason,
   * expires), `contentType` the Content-Type field value as written.
   */
  read(base: StatusUpdate, contentType: string | undefined, body: Uint8Array | undefined): ResourceListReading {
    const updates: StatusUpdate[] = [];
    let resync = false;
    if (body !== undefined && body.length > 0) {
      const result = this.view.apply(contentType, body);
      resync = result.resync;
      if (result.error !== undefined) {
        const update: StatusUpdate = { ...base, body, error: result.error };
        if (contentType !== undefined) update.contentType = contentType;
        this.listReported = describe(base);
        return { updates: [update], resync };
      }
      for (const change of result.updates) {
        const update = this.memberUpdate(change, base);
        if (update.resync) resync = true;
        updates.push(update.status);
      }
    }
    // The list itself: when it ends, and when nothing else told the subscribers where it stands.
    const listState = describe(base);
    const ended = base.state === 'terminated' || base.state === 'rejected';
    if (ended || (updates.length === 0 && listState !== this.listReported)) updates.push({ ...base });
    // Member messages tell where the list stands as well as a message of its own.
    if (updates.length > 0) this.listReported = listState;
    return { updates, resync };
  }

  /** What a subscriber joining now is told: the last update of every member still in the list. */
  current(): StatusUpdate[] {
    return [...this.members.values()].map((m) => m.last);
  }

  private memberUpdate(change: ResourceUpdate, base: StatusUpdate): { status: StatusUpdate; resync: boolean } {
    const key = `${change.list}\n${change.uri}`;
    const status: StatusUpdate = { state: 'terminated', record: change.uri, list: change.list };
    if (base.expires !== undefined) status.expires = base.expires;
    if (change.change === 'removed') {
      this.members.delete(key);
      return { status, resync: false };
    }
    const instance = mainInstance(change.instances);
    let entry = this.members.get(key);
    if (entry === undefined) {
      entry = { reader: undefined, read: undefined, reading: {}, last: status };
      this.members.set(key, entry);
    }
    let resync = false;
    if (instance === undefined) {
      status.state = 'pending';
    } else {
      status.state = instanceState(instance);
      if (instance.reason !== undefined) status.reason = instance.reason;
      if (instance.body !== undefined) {
        if (entry.read !== instance.body) {
          entry.reader ??= this.memberPackage.newReader();
          entry.reading = entry.reader.read(instance.contentType, instance.body);
          entry.read = instance.body;
          resync = entry.reading.resync === true;
        }
        if (instance.contentType !== undefined) status.contentType = instance.contentType;
        status.body = instance.body;
        if (entry.reading.document !== undefined) status.document = entry.reading.document;
        if (entry.reading.error !== undefined) status.error = entry.reading.error;
      }
      // A terminated instance is reported once; the member's reader goes with it.
      if (instance.state === 'terminated' && change.instances.every((i) => i.state === 'terminated')) {
        this.members.delete(key);
        return { status, resync };
      }
    }
    entry.last = status;
    return { status, resync };
  }
}

function describe(update: StatusUpdate): string {
  return `${update.state};${update.reason ?? ''}`;
}
