import type { Logger } from 'pino';
import {
  ApiError,
  type CreateSubscriptionRequest,
  type DialogView,
  type StatusView,
  type SubscriptionApi,
  type SubscriptionFilter,
  type SubscriptionView,
} from '../http/api-types.js';
import type { EventRing } from '../http/event-ring.js';
import { subscriptionLogger } from '../log/logger.js';
import { QsaError, type QsaBroker, type QsaSubscriptionHandle, type StatusMessage } from '../qsa/index.js';
import type { StoredApiSubscription } from '../store/stored-api-subscription.js';
import type { SubscriptionStore } from '../store/subscription-store.js';
import type { DialogSnapshot, SubscriptionIdentity } from '../subscription/presence-engine.js';
import type { QueueHub } from './queue-hub.js';
import { presenceSummary, statusView } from './status-view.js';

/** The part of the engine the service reads (inspection only). */
export interface DialogInspector {
  list(): DialogSnapshot[];
  /** Given the handle: a lookup (an id alone costs the engine a pass over its dialogs). */
  dialogOf(subscription: SubscriptionIdentity): DialogSnapshot | undefined;
}

/**
 * Cluster mode (docs/cluster.md §8): which node makes a subscription's
 * dialog. A subscription whose shard another node holds is only stored here
 * (the store announces it; the holder makes the dialog and delivers its
 * status messages).
 */
export interface SubscriptionPlacement {
  /** This node holds the shard of (package, record, subscriber). */
  isLocal(pkg: string, record: string, subscriber: string): boolean;
  /** A new subscription id (the broker's form: the id must be unique across nodes). */
  newId(): string;
  /** Wall-clock milliseconds, for createdAt. */
  now(): number;
}

/** A stored API subscription this node does not make (another node holds its shard): state `none`. */
function storedElsewhereView(stored: StoredApiSubscription): SubscriptionView {
  return {
    id: stored.id,
    record: stored.record,
    subscriber: stored.subscriber,
    package: stored.package,
    queue: stored.queue,
    createdAt: new Date(stored.createdAt).toISOString(),
    state: 'none',
  };
}

function storeFailure(what: string, error: unknown): ApiError {
  const reason = error instanceof Error ? error.message : String(error);
  return new ApiError(503, 'HTTP_ERR_STORE', `${what}: ${reason}`);
}

/**
 * The HTTP API's view of internal subscriptions: creates them in the shared
 * broker into named queues, and shows each with its SIP dialog (from the
 * engine) and its last status (from the broker). Creations and removals are
 * stored (the desired state) before they are acknowledged, and restored with
 * the same ids at the next start.
 */
export class SubscriptionService implements SubscriptionApi {
  private readonly loggers = new Map<string, Logger>();

  constructor(
    private readonly broker: QsaBroker,
    private readonly hub: QueueHub,
    private readonly dialogs: DialogInspector,
    private readonly logger: Logger,
    private readonly store: SubscriptionStore,
    private readonly placement?: SubscriptionPlacement,
  ) {}

  async create(request: CreateSubscriptionRequest): Promise<SubscriptionView> {
    let served: Awaited<ReturnType<QueueHub['ensure']>>;
    try {
      served = await this.hub.ensure(request.queue);
    } catch (error) {
      throw storeFailure(`queue ${request.queue} could not be stored`, error);
    }
    const pkg = request.package ?? 'presence';
    if (this.placement !== undefined && !this.placement.isLocal(pkg, request.record, request.subscriber)) return this.createElsewhere(request, pkg);
    let handle: QsaSubscriptionHandle;
    try {
      handle = this.broker.subscribe({
        package: request.package,
        record: request.record,
        subscriber: request.subscriber,
        queue: served.queue,
        data: { source: 'http' },
      });
    } catch (error) {
      if (error instanceof QsaError) throw new ApiError(400, error.code, error.message);
      throw error;
    }
    // Live at once (its SUBSCRIBE may leave now), acknowledged only once stored.
    try {
      await this.store.createApiSubscription({
        id: handle.id,
        record: handle.record,
        subscriber: handle.subscriber,
        package: handle.package,
        queue: request.queue,
        createdAt: Math.floor(handle.createdAt),
      });
    } catch (error) {
      this.broker.unsubscribe(handle);
      throw storeFailure('the subscription could not be stored, so it was not made', error);
    }
    const log = subscriptionLogger(this.logger, handle);
    this.loggers.set(handle.id, log);
    log.info({ queue: request.queue, package: request.package, notifier: handle.notifierName ?? null }, 'subscription created');
    return this.view(handle, this.dialogs.dialogOf(handle));
  }

  /**
   * Cluster mode: a subscription whose shard another node holds is stored
   * (and so announced) only; that node makes the dialog. Shown here as
   * stored, state `none` (its status messages come from the owner).
   */
  private async createElsewhere(request: CreateSubscriptionRequest, pkg: string): Promise<SubscriptionView> {
    const placement = this.placement!;
    const stored: StoredApiSubscription = {
      id: placement.newId(),
      record: request.record,
      subscriber: request.subscriber,
      package: pkg,
      queue: request.queue,
      createdAt: Math.floor(placement.now()),
    };
    try {
      await this.store.createApiSubscription(stored);
    } catch (error) {
      throw storeFailure('the subscription could not be stored, so it was not made', error);
    }
    this.logger.info({ subscription: stored.id, record: stored.record, subscriber: stored.subscriber, queue: stored.queue, package: pkg }, 'subscription created (its shard is held by another node)');
    return storedElsewhereView(stored);
  }

  /**
   * Cluster mode: forgets the live subscriptions `ids` here WITHOUT ending
   * them (their shard went to another node, which resumes their dialogs; the
   * engine has handed the dialogs over first). Returns how many were live.
   */
  dropHandedOver(ids: Iterable<string>): number {
    let n = 0;
    for (const id of ids) {
      if (this.broker.unsubscribe(id)) n++;
      this.loggers.delete(id);
    }
    return n;
  }

  /**
   * Re-creates stored API subscriptions at start, with their ids, creation
   * times and queues (restore the queues first: QueueHub.restore). Returns
   * how many were restored; one that cannot be is logged and skipped.
   */
  async restore(subscriptions: readonly StoredApiSubscription[]): Promise<number> {
    let restored = 0;
    for (const stored of subscriptions) {
      try {
        const served = await this.hub.ensure(stored.queue);
        const handle = this.broker.subscribe({
          id: stored.id,
          createdAt: stored.createdAt,
          package: stored.package,
          record: stored.record,
          subscriber: stored.subscriber,
          queue: served.queue,
          data: { source: 'http' },
        });
        this.loggers.set(handle.id, subscriptionLogger(this.logger, handle));
        if (!this.broker.servedPackages().includes(handle.package)) {
          // Kept as stored (the configuration may serve it again): it waits, pending, for a notifier.
          this.logger.warn({ subscription: handle.id, package: handle.package }, 'stored subscription of a package nobody serves: it stays pending');
        }
        restored++;
      } catch (error) {
        this.logger.error({ err: error, subscription: stored.id }, 'stored subscription not restored');
      }
    }
    return restored;
  }

  list(filter: SubscriptionFilter): SubscriptionView[] {
    // One pass over the dialogs instead of one dialogOf() (itself a pass) per subscription.
    const byMember = new Map<string, DialogSnapshot>();
    for (const d of this.dialogs.list()) for (const m of d.members) byMember.set(m, d);
    const out: SubscriptionView[] = [];
    for (const handle of this.broker.subscriptions()) {
      if (filter.record !== undefined && handle.record !== filter.record) continue;
      if (filter.subscriber !== undefined && handle.subscriber !== filter.subscriber) continue;
      const view = this.view(handle, byMember.get(handle.id));
      if (filter.state !== undefined && view.state !== filter.state && view.dialog?.state !== filter.state) continue;
      out.push(view);
    }
    return out;
  }

  /**
   * A subscription made here, with its dialog and last status; in cluster mode, one stored whose
   * shard another node holds is shown as stored, state `none` (as its creation on this node answered).
   */
  async get(id: string): Promise<SubscriptionView | undefined> {
    const handle = this.broker.get(id);
    if (handle !== undefined) return this.view(handle, this.dialogs.dialogOf(handle));
    if (this.placement === undefined || this.store.getApiSubscription === undefined) return undefined;
    let stored: StoredApiSubscription | undefined;
    try {
      stored = await this.store.getApiSubscription(id);
    } catch (error) {
      throw storeFailure(`subscription ${id} could not be read`, error);
    }
    // Made here while its row was read (an announcement, a takeover): the live view.
    const made = this.broker.get(id);
    if (made !== undefined) return this.view(made, this.dialogs.dialogOf(made));
    return stored === undefined ? undefined : storedElsewhereView(stored);
  }

  async remove(id: string): Promise<boolean> {
    if (this.broker.get(id) === undefined) {
      if (this.placement === undefined) return false;
      // Cluster mode: it may live on the node that holds its shard; deleting the row announces it, and that node ends it.
      try {
        return await this.store.deleteApiSubscription(id);
      } catch (error) {
        throw storeFailure('the removal could not be stored, so the subscription was kept', error);
      }
    }
    // Forgotten durably first: if that fails the subscription stays, stored and live.
    let deleted: boolean;
    try {
      deleted = await this.store.deleteApiSubscription(id);
    } catch (error) {
      throw storeFailure('the removal could not be stored, so the subscription was kept', error);
    }
    // Cluster mode: the reconciliation may have ended it while its row's deletion was awaited (the row gone, the
    // subscription still made here): removed all the same.
    const removed = this.broker.unsubscribe(id) || deleted;
    if (removed) {
      (this.loggers.get(id) ?? this.logger.child({ subscription: id })).info('subscription removed');
      this.loggers.delete(id);
    }
    return removed;
  }

  events(queue: string): EventRing<StatusView> | undefined {
    return this.hub.get(queue)?.ring;
  }

  /** Cluster mode only (set by the daemon when its queues are relayed): see SubscriptionApi.resumeEvents. */
  resumeEvents?: (queue: string) => Promise<EventRing<StatusView> | undefined>;

  servedPackages(): string[] {
    return this.broker.servedPackages();
  }

  /** Logs a status message with its subscription's logger (called by the queue consumer). */
  logStatus(message: StatusMessage): void {
    const log = this.loggers.get(message.subscriptionId);
    if (log === undefined) return;
    const fields: Record<string, unknown> = { state: message.state, sequence: message.sequence, ...presenceSummary(message) };
    if (message.list !== undefined) {
      fields.member = message.record;
      fields.list = message.list;
    }
    if (message.reason !== undefined) fields.reason = message.reason;
    if (message.error !== undefined) fields.error = message.error;
    if ((message.state === 'rejected' && message.list === undefined) || message.error !== undefined) log.warn(fields, 'status');
    else log.info(fields, 'status');
  }

  /**
   * Ends every subscription (the B2BUA then sends Expires: 0 for each
   * dialog) at shutdown. The store keeps them: they come back at the next
   * start.
   */
  removeAll(): number {
    let n = 0;
    for (const handle of [...this.broker.subscriptions()]) if (this.broker.unsubscribe(handle)) n++;
    this.loggers.clear();
    return n;
  }

  private view(handle: QsaSubscriptionHandle, dialog: DialogSnapshot | undefined): SubscriptionView {
    const view: SubscriptionView = {
      id: handle.id,
      record: handle.record,
      subscriber: handle.subscriber,
      package: handle.package,
      queue: handle.queue.name ?? '',
      createdAt: new Date(handle.createdAt).toISOString(),
      state: handle.lastState ?? 'none',
    };
    if (handle.notifierName !== undefined) view.notifier = handle.notifierName;
    if (dialog !== undefined) view.dialog = dialogView(dialog);
    const last = handle.lastStatus;
    if (last !== undefined) view.lastStatus = statusView(last);
    return view;
  }
}

function dialogView(d: DialogSnapshot): DialogView {
  const view: DialogView = { id: d.id, state: d.state, members: d.members };
  if (d.callId !== undefined) view.callId = d.callId;
  if (d.remoteTarget !== undefined) view.remoteTarget = d.remoteTarget;
  if (d.expiresIn !== undefined) view.expiresIn = d.expiresIn;
  return view;
}
