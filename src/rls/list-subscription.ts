import type { MultipartPartInput } from '../multipart/multipart-builder.js';
import type { QsaSubscriptionHandle, SubscriptionState } from '../qsa/index.js';
import { buildRlmiBody, type RlmiInstanceInput, type RlmiListInput, type RlmiResourceInput } from '../rlmi/index.js';
import type { NotifierDialog } from '../sip/notifier/notifier-dialogs.js';
import type { Random } from '../util/random.js';
import type { Timer } from '../util/timer-scheduler.js';
import type { ResourceListCatalog } from './resource-list-catalog.js';

/** RFC 4662 §5.2: instance ids are opaque and unique within their resource. */
const INSTANCE_ID_LENGTH = 10;
const CONTENT_ID_LENGTH = 12;

/** What the last status of a member's internal subscription said. */
export interface MemberStatus {
  state: SubscriptionState;
  reason: string | undefined;
  contentType: string | undefined;
  body: Uint8Array | undefined;
}

/** A member that is a resource: one internal QSA subscription, as the list's watcher. */
export interface ResourceNode {
  readonly kind: 'resource';
  readonly uri: string;
  readonly owner: ListSubscription;
  readonly parent: ListNode;
  /** Renewed when the member comes back after a terminated instance (RFC 4662 §5.2: a new subscription, a new instance). */
  instanceId: string;
  handle: QsaSubscriptionHandle | undefined;
  status: MemberStatus | undefined;
}

/** A list (the one subscribed to, or a nested one): its own RLMI version sequence (RFC 4662 §5.3). */
export interface ListNode {
  readonly kind: 'list';
  readonly uri: string;
  readonly parent: ListNode | undefined;
  readonly instanceId: string;
  readonly members: MemberNode[];
  /** Next version to send (RFC 4662 §5.2: starts at 0, one more per document). */
  version: number;
  /** Members whose state changed since this list's last document. */
  readonly changed: Set<MemberNode>;
}

export type MemberNode = ResourceNode | ListNode;

/** One watcher's subscription to a list (the resource of its notifier dialog). */
export interface ListSubscription {
  readonly list: string;
  /** The watcher (From URI): the identity of every internal subscription. */
  readonly watcher: string;
  readonly root: ListNode;
  /** Every resource of the list, nested lists' included. */
  readonly resources: ResourceNode[];
  /** Set once the first NOTIFY may go (after the 200 and the internal subscriptions). */
  dialog: NotifierDialog<ListSubscription> | undefined;
  /** The next NOTIFY carries full state (the first one, and after a refresh). */
  fullStatePending: boolean;
  /** Clock ms of the last NOTIFY asked for. */
  lastNotifyAt: number | undefined;
  /** Waits out `minNotifyInterval` before the next partial NOTIFY. */
  throttle: Timer | undefined;
  /** The subscription ended: internal subscriptions ended, no more content. */
  ended: boolean;
}

/** Builds the subscription's tree from the catalog (nested lists expanded; the catalog has no cycles). */
export function newListSubscription(catalog: ResourceListCatalog, uri: string, watcher: string, random: Random): ListSubscription {
  const resources: ResourceNode[] = [];
  const subscription: ListSubscription = {
    list: uri,
    watcher,
    root: undefined as unknown as ListNode,
    resources,
    dialog: undefined,
    fullStatePending: true,
    lastNotifyAt: undefined,
    throttle: undefined,
    ended: false,
  };
  const expand = (listUri: string, parent: ListNode | undefined): ListNode => {
    const node: ListNode = {
      kind: 'list',
      uri: listUri,
      parent,
      instanceId: random.token(INSTANCE_ID_LENGTH),
      members: [],
      version: 0,
      changed: new Set(),
    };
    for (const member of catalog.get(listUri)?.members ?? []) {
      if (catalog.get(member) !== undefined) {
        node.members.push(expand(member, node));
      } else {
        const resource: ResourceNode = {
          kind: 'resource',
          uri: member,
          owner: subscription,
          parent: node,
          instanceId: random.token(INSTANCE_ID_LENGTH),
          handle: undefined,
          status: undefined,
        };
        node.members.push(resource);
        resources.push(resource);
      }
    }
    return node;
  };
  (subscription as { root: ListNode }).root = expand(uri, undefined);
  return subscription;
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a.length !== b.length) return false;
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

/**
 * Records a member's new status. False when nothing a watcher would see
 * changed (a presence server's refresh NOTIFY with the same document).
 * Otherwise the member and every list above it are marked changed.
 */
export function recordMemberStatus(node: ResourceNode, status: MemberStatus, random: Random): boolean {
  const before = node.status;
  if (
    before !== undefined &&
    before.state === status.state &&
    before.reason === status.reason &&
    before.contentType === status.contentType &&
    sameBytes(before.body, status.body)
  ) {
    return false;
  }
  const wasOver = before !== undefined && (before.state === 'terminated' || before.state === 'rejected');
  const isOver = status.state === 'terminated' || status.state === 'rejected';
  if (wasOver && !isOver) node.instanceId = random.token(INSTANCE_ID_LENGTH);
  node.status = status;
  let child: MemberNode = node;
  for (let parent: ListNode | undefined = node.parent; parent !== undefined; parent = parent.parent) {
    parent.changed.add(child);
    child = parent;
  }
  return true;
}

/** The `<instance>` of a resource, and the part holding its state when there is one. */
function resourceInstance(node: ResourceNode, random: Random): { instance: RlmiInstanceInput; part?: MultipartPartInput } {
  const status = node.status;
  // No status yet: the internal subscription is under way (RFC 4662 §5.2 `pending`).
  if (status === undefined) return { instance: { id: node.instanceId, state: 'pending' } };
  if (status.state === 'terminated' || status.state === 'rejected') {
    const reason = status.state === 'rejected' ? 'rejected' : (status.reason ?? 'noresource');
    return { instance: { id: node.instanceId, state: 'terminated', reason } };
  }
  const instance: RlmiInstanceInput = { id: node.instanceId, state: status.state };
  if (status.state !== 'active' || status.body === undefined || status.body.length === 0) return { instance };
  const cid = `${random.token(CONTENT_ID_LENGTH)}@rls`;
  instance.cid = cid;
  return { instance, part: { contentType: status.contentType ?? 'application/pidf+xml', contentId: cid, body: status.body } };
}

/**
 * The RLMI document of one list and its parts (RFC 4662 §5): every member
 * with `full`, else only those that changed. A nested list is a part of its
 * own, multipart/related with its own RLMI root (RFC 4662 §5.3), full or
 * partial like its parent. Consumes the changes and one version number.
 */
function listDocument(list: ListNode, full: boolean, random: Random): { list: RlmiListInput; parts: MultipartPartInput[] } {
  const resources: RlmiResourceInput[] = [];
  const parts: MultipartPartInput[] = [];
  for (const member of list.members) {
    if (!full && !list.changed.has(member)) continue;
    if (member.kind === 'resource') {
      const { instance, part } = resourceInstance(member, random);
      resources.push({ uri: member.uri, instances: [instance] });
      if (part !== undefined) parts.push(part);
    } else {
      const nested = buildRlmiBody({ ...listDocument(member, full, random), random });
      const cid = `${random.token(CONTENT_ID_LENGTH)}@rls`;
      parts.push({ contentType: nested.contentType, contentId: cid, body: nested.body });
      resources.push({ uri: member.uri, instances: [{ id: member.instanceId, state: 'active', cid }] });
    }
  }
  list.changed.clear();
  const version = list.version;
  list.version = (list.version + 1) % 0x100000000;
  return { list: { uri: list.uri, version, fullState: full, resources }, parts };
}

/** The NOTIFY body of a list subscription: full state, or the changes since the last one. */
export function listNotifyBody(subscription: ListSubscription, full: boolean, random: Random): { contentType: string; body: Uint8Array } {
  const built = buildRlmiBody({ ...listDocument(subscription.root, full, random), random });
  return { contentType: built.contentType, body: built.body };
}
