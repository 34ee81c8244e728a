import type { Logger } from 'pino';
import type { PresenceB2B } from '../b2b/create-presence-b2b.js';
import type { HeldLease } from '../cluster/lease-table.js';
import { PostgresLeaseTable } from '../cluster/postgres-lease-table.js';
import { ShardLeaseManager, type ShardLossReason } from '../cluster/shard-lease-manager.js';
import { type AnnouncementListener, listenForAnnouncements } from '../cluster/subscription-announcements.js';
import type { QsaBroker } from '../qsa/index.js';
import type { PostgresSubscriptionStore, SubscriptionAnnouncement } from '../store/postgres-store.js';
import { shardOf } from '../store/shard-of.js';
import type { StoredApiSubscription } from '../store/stored-api-subscription.js';
import type { DialogWriteBatch } from '../store/subscription-store.js';
import type { DialogOwnership } from '../subscription/presence-engine.js';
import type { Random } from '../util/random.js';
import type { Timer, TimerScheduler } from '../util/timer-scheduler.js';
import type { SubscriptionPlacement, SubscriptionService } from './subscription-service.js';

/**
 * How old a stored creation must be before the reconciliation makes it (ms): an announcement arrives within
 * milliseconds of its commit, far less under load than this (docs/cluster.md §8.4).
 */
const RECONCILE_MIN_AGE_MS = 2000;

export interface ClusterNodeOptions {
  /** `cluster.node_id`. */
  nodeId: string;
  /** `cluster.lease_ttl`, in ms. */
  leaseTtlMs: number;
  /** The PostgreSQL store, opened shared (not exclusive) and announcing. */
  store: PostgresSubscriptionStore;
  /** Its URL (the lease table and the announcement listener have connections of their own). */
  url: string;
  scheduler: TimerScheduler;
  random: Random;
  logger: Logger;
}

/** What the node drives once the daemon has made it. */
export interface ClusterNodeParts {
  b2b: PresenceB2B;
  broker: QsaBroker;
  subscriptions: SubscriptionService;
}

/** Counts for logs and /healthz. */
export interface ClusterNodeStats {
  /** Shard batches loaded after an acquisition, and what they held. */
  takeovers: number;
  subscriptionsTaken: number;
  dialogsAdopted: number;
  /** Subscriptions and dialogs handed over (shards lost or released). */
  subscriptionsHandedOver: number;
  dialogsHandedOver: number;
  /** Announcements acted on: a dialog made or ended here. */
  announcementsMade: number;
  /** Reads of announced rows: one per batch of creations heard. */
  announcementReads: number;
  announcementsEnded: number;
  /** Rows of snapshots refused by the fence (their shards lost). */
  fencedRefusals: number;
  /** Reconciliations run (every lease_ttl), and the stored subscriptions they found unmade here and made. */
  reconciliations: number;
  reconciledMade: number;
  /** Subscriptions ended by the reconciliation: their rows were deleted and the announcement missed. */
  reconciledEnded: number;
}

/**
 * One node of a cluster (issue 16, docs/cluster.md §8, parts 1 and 2): the
 * shard leases (ShardLeaseManager on the PostgreSQL lease table), and what
 * follows from them for the daemon's subscriptions and dialogs:
 * - acquired shards: their API subscriptions and dialog snapshots are read
 *   (loadShards); the dialogs are adopted by the engine, the subscriptions
 *   made in the broker, which claims them: each dialog resumes in-dialog
 *   (our Contact, CSeq above the stored mark; 481 or a timeout: a new
 *   dialog), paced by max_subscribe_rate;
 * - shards lost (taken, expired, refused by the fence): their dialogs are
 *   handed over WITHOUT unSUBSCRIBE and their subscriptions forgotten here;
 * - shards released (rebalance, graceful stop): the same, after the pending
 *   snapshots are written under the lease's epoch;
 * - API subscriptions created or deleted on any node (announced by the
 *   store): the holder of the shard makes or ends the dialog;
 * - the snapshot writer writes through the fence, and a refused shard is lost;
 * - the engine asks `holds` before sending a SUBSCRIBE of its own: a node
 *   resumed after a pause past its lease stops at once, before its next round.
 *
 * Every change of ownership and every announcement is handled in one chain,
 * in order: a deletion announced while its shard is being loaded is applied
 * after the load, so it is never lost.
 *
 * Announcements are a hint: one can be missed (sent while the LISTEN
 * connection was being re-established, or its read failed). So every
 * lease_ttl the node also reconciles: it counts its held shards' stored API
 * subscriptions and those it makes, makes the stored ones missing here, and
 * ends those made here whose rows are gone (a deletion's announcement
 * missed). A subscription stored in a held shard is made, and one deleted is
 * ended, within about lease_ttl whatever happened to its announcement
 * (unless a missed creation and a missed deletion in one shard balance its
 * count: the next miss, or the shard's move, tells them apart).
 */
export class ClusterNode {
  readonly manager: ShardLeaseManager;
  readonly stats: ClusterNodeStats = {
    takeovers: 0,
    subscriptionsTaken: 0,
    dialogsAdopted: 0,
    subscriptionsHandedOver: 0,
    dialogsHandedOver: 0,
    announcementsMade: 0,
    announcementReads: 0,
    announcementsEnded: 0,
    fencedRefusals: 0,
    reconciliations: 0,
    reconciledMade: 0,
    reconciledEnded: 0,
  };
  private reconcileTimer: Timer | undefined;
  /** Announced creations waiting for the batch queued in the chain. */
  private readonly announcedCreates: SubscriptionAnnouncement[] = [];
  private createBatchQueued = false;
  private parts: ClusterNodeParts | undefined;
  private announcements: AnnouncementListener | undefined;
  private chain: Promise<void> = Promise.resolve();
  private stopping = false;
  private readonly shards: number;

  private constructor(
    private readonly options: ClusterNodeOptions,
    private readonly table: PostgresLeaseTable,
  ) {
    this.shards = table.shards;
    this.manager = new ShardLeaseManager({
      nodeId: options.nodeId,
      table,
      leaseTtlMs: options.leaseTtlMs,
      scheduler: options.scheduler,
      random: options.random,
      listener: {
        acquired: (leases) => this.acquired(leases),
        lost: (shards, reason) => this.lost(shards, reason),
        releasing: (shards) => this.releasing(shards),
      },
      onError: (error) => options.logger.warn({ err: error }, 'cluster: lease round failed (retried at the next round)'),
    });
  }

  /** Opens the lease table (after the store, which creates it). Nothing runs until start(). */
  static async open(options: ClusterNodeOptions): Promise<ClusterNode> {
    const table = await PostgresLeaseTable.open(options.url);
    return new ClusterNode(options, table);
  }

  /** createPresenceB2B's `writeDialogs`: the fenced write; the shards refused are lost. */
  readonly writeDialogs = async (batch: DialogWriteBatch): Promise<void> => {
    const result = await this.options.store.writeFencedDialogs(batch, this.manager.fence);
    if (result.refusedShards.length > 0) {
      this.stats.fencedRefusals += result.refused;
      this.options.logger.warn({ shards: result.refusedShards.length, rows: result.refused }, 'cluster: snapshot writes refused by the lease epoch: those shards are lost');
      this.manager.noteRefused(result.refusedShards);
    }
  };

  /**
   * createPresenceB2B's `holds`: a dialog serving API subscriptions is ours
   * while we hold its shard now; one serving only other subscriptions (a
   * resource list server's members) is this node's own. A shard still held
   * but whose lease this node's clock cannot vouch for (the last renewal
   * began more than lease_ttl ago: a round late under load, or the process
   * paused) is `'unconfirmed'`: the engine waits for the next round, which
   * either renews it (the SUBSCRIBE goes then) or loses it (handOver). Saying
   * false there handed the dialog over while the shard stayed ours, leaving
   * its subscriptions here without a dialog for good.
   */
  readonly holds = (pkg: string, record: string, subscriber: string, members: readonly string[]): DialogOwnership => {
    const shard = shardOf(pkg, record, subscriber, this.shards);
    if (this.manager.holdsNow(shard)) return true;
    const broker = this.parts?.broker;
    if (!members.some((id) => isApiSubscription(broker?.get(id)?.data))) return true;
    return this.manager.epochOf(shard) === undefined ? false : 'unconfirmed';
  };

  /** The SubscriptionService's placement: a subscription is made here when this node holds its shard. */
  placement(clock: { wallTime(): number }): SubscriptionPlacement {
    return {
      isLocal: (pkg, record, subscriber) => this.manager.holdsNow(shardOf(pkg, record, subscriber, this.shards)),
      newId: () => this.options.random.token(16),
      now: () => clock.wallTime(),
    };
  }

  /**
   * Starts: the first heartbeat (CLUSTER_ERR_DUPLICATE_NODE when another live
   * process has this node id), then listening for announcements. Shards are
   * acquired from the next round on.
   */
  async start(parts: ClusterNodeParts): Promise<void> {
    this.parts = parts;
    this.announcements = await listenForAnnouncements(this.options.url, {
      change: (announcement) => this.announced(announcement),
      malformed: (payload) => this.options.logger.debug({ payload: payload.slice(0, 200) }, 'cluster: a payload on the announcement channel that is not ours'),
    });
    try {
      await this.manager.start();
    } catch (error) {
      await this.announcements.close();
      throw error;
    }
    this.scheduleReconciliation();
    this.options.logger.info({ node: this.options.nodeId, shards: this.shards, leaseTtlMs: this.options.leaseTtlMs }, 'cluster: node joined');
  }

  /**
   * Makes the stored API subscriptions of the held shards that this node
   * does not make (an announcement missed); returns how many. Runs in the
   * chain, after the announcements and loads already queued, every
   * lease_ttl; public for tests. Cost per run: one grouped count on the
   * shard index and one pass over the broker's subscriptions; the rows are
   * read only for the shards whose count differs here (short or over), in
   * one read.
   */
  async reconcile(): Promise<number> {
    let made = 0;
    this.enqueue('reconciliation', async () => {
      made = await this.reconcileNow();
    });
    await this.chain; // never rejects: enqueue logs a failed step (the next run tries again)
    return made;
  }

  private scheduleReconciliation(): void {
    if (this.stopping) return;
    this.reconcileTimer = this.options.scheduler.after(this.options.leaseTtlMs, () => {
      this.reconcileTimer = undefined;
      void this.reconcile().finally(() => this.scheduleReconciliation());
    });
  }

  private async reconcileNow(): Promise<number> {
    const parts = this.parts;
    if (parts === undefined || this.stopping) return 0;
    const held = this.manager.heldShards();
    if (held.length === 0) return 0;
    const stored = await this.options.store.countApiSubscriptionsByShard(held);
    // Counted after the read: a creation on this node is in the broker before its row commits, so never short here.
    // A creation whose announcement was heard while the read was in flight is not in the broker yet but in the
    // batch queued behind this step (the row commits, then its NOTIFY goes): counted as made, the batch makes it.
    // Without this, 7 to 46 a run of the three-node test were "made by the reconciliation" a few tens of
    // milliseconds before their batch, which then found them made: no announcement had been missed (§8.4).
    const here = new Map<number, number>();
    const count = (pkg: string, record: string, subscriber: string): void => {
      const shard = shardOf(pkg, record, subscriber, this.shards);
      here.set(shard, (here.get(shard) ?? 0) + 1);
    };
    for (const handle of parts.broker.subscriptions()) if (isApiSubscription(handle.data)) count(handle.package, handle.record, handle.subscriber);
    for (const a of this.announcedCreates) if (parts.broker.get(a.id) === undefined) here.set(a.shard, (here.get(a.shard) ?? 0) + 1);
    this.stats.reconciliations++;
    const short = held.filter((shard) => (stored.get(shard) ?? 0) > (here.get(shard) ?? 0));
    const over = held.filter((shard) => (here.get(shard) ?? 0) > (stored.get(shard) ?? 0));
    if (short.length === 0 && over.length === 0) return 0;
    // One read of the rows for both (the shards are disjoint): when a run had both, it read the rows twice.
    const rows = await this.options.store.loadApiSubscriptionsOfShards([...short, ...over]);
    if (this.stopping) return 0;
    // Both cut-offs from the moment the rows were read, as each had from its own read: a row or a creation
    // younger than RECONCILE_MIN_AGE_MS then may still have its announcement or its commit on the way.
    const readAt = this.options.scheduler.clock.wallTime();
    const shardOfRow = (s: StoredApiSubscription): number => shardOf(s.package, s.record, s.subscriber, this.shards);
    const shortShards = new Set(short);
    const overShards = new Set(over);
    const made = short.length === 0 ? 0 : await this.makeMissing(parts, rows.filter((s) => shortShards.has(shardOfRow(s))), short.length, readAt);
    if (over.length > 0) this.endDeleted(parts, overShards, rows.filter((s) => overShards.has(shardOfRow(s))), readAt);
    return made;
  }

  /** The reconciliation's creations: of the stored rows of the short shards (`rows`), those not made here. */
  private async makeMissing(parts: ClusterNodeParts, rows: readonly StoredApiSubscription[], shortShards: number, readAt: number): Promise<number> {
    if (this.stopping) return 0;
    const pending = new Set(this.announcedCreates.map((a) => a.id));
    // A row committed moments ago has its announcement on the way (the NOTIFY goes at the commit that also let this
    // read through): left to it. Were it really missed, the next run (one lease_ttl later) makes it.
    const youngerThan = readAt - RECONCILE_MIN_AGE_MS;
    const missing = rows.filter(
      (s) =>
        this.manager.epochOf(shardOf(s.package, s.record, s.subscriber, this.shards)) !== undefined &&
        parts.broker.get(s.id) === undefined &&
        !pending.has(s.id) &&
        s.createdAt <= youngerThan,
    );
    if (missing.length === 0) return 0;
    const made = await parts.subscriptions.restore(missing);
    this.stats.reconciledMade += made;
    this.options.logger.warn({ subscriptions: made, shards: shortShards }, 'cluster: reconciliation made stored subscriptions no announcement had made here');
    return made;
  }

  /**
   * The reconciliation's deletions: in `over` shards (more made here than stored), the API
   * subscriptions made here whose rows are gone end, with their unSUBSCRIBE, as an announced
   * deletion ends them. A creation on this node is in the broker before its row commits (and
   * leaves it if the write fails), so one younger than RECONCILE_MIN_AGE_MS is left alone: its
   * row may be on the way. `rows`: the stored rows of the `over` shards, read at `readAt`.
   */
  private endDeleted(parts: ClusterNodeParts, overShards: ReadonlySet<number>, rows: readonly StoredApiSubscription[], readAt: number): void {
    if (this.stopping) return;
    const storedIds = new Set(rows.map((s) => s.id));
    const olderThan = readAt - RECONCILE_MIN_AGE_MS;
    const gone: string[] = [];
    for (const handle of parts.broker.subscriptions()) {
      if (!isApiSubscription(handle.data) || storedIds.has(handle.id) || handle.createdAt > olderThan) continue;
      const shard = shardOf(handle.package, handle.record, handle.subscriber, this.shards);
      if (overShards.has(shard) && this.manager.epochOf(shard) !== undefined) gone.push(handle.id);
    }
    let ended = 0;
    for (const id of gone) if (parts.broker.unsubscribe(id)) ended++;
    if (ended === 0) return;
    this.stats.reconciledEnded += ended;
    this.options.logger.warn({ subscriptions: ended, shards: overShards.size }, 'cluster: reconciliation ended subscriptions whose rows were deleted without an announcement heard here');
  }

  get nodeId(): string {
    return this.options.nodeId;
  }

  /** Shards held now. */
  heldShards(): number[] {
    return this.manager.heldShards();
  }

  /**
   * Graceful stop: every shard handed over at once (the pending snapshots
   * written first, then the dialogs forgotten here without unSUBSCRIBE, then
   * the leases released), the node leaves, the connections close.
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.reconcileTimer?.cancel();
    this.reconcileTimer = undefined;
    await this.announcements?.close();
    await this.chain.catch(() => {});
    await this.manager.stop();
    await this.table.close().catch(() => {});
  }

  private enqueue(what: string, step: () => Promise<void>): void {
    this.chain = this.chain.then(step).catch((error: unknown) => this.options.logger.error({ err: error, step: what }, 'cluster: step failed'));
  }

  private acquired(leases: readonly HeldLease[]): void {
    const shards = leases.map((l) => l.shard);
    this.options.logger.info({ shards: shards.length }, 'cluster: shards acquired');
    this.enqueue('takeover', async () => {
      const parts = this.parts;
      if (parts === undefined || this.stopping) return;
      const loaded = await this.options.store.loadShards(shards);
      // Some may have been lost again while they were read.
      const still = (shard: number): boolean => this.manager.epochOf(shard) !== undefined;
      const dialogs = loaded.dialogs.filter((d) => still(shardOf(d.package, d.record, d.subscriber, this.shards)));
      const subscriptions = loaded.apiSubscriptions.filter((s) => still(shardOf(s.package, s.record, s.subscriber, this.shards)) && parts.broker.get(s.id) === undefined);
      const adopted = parts.b2b.engine.adopt(dialogs);
      const made = await parts.subscriptions.restore(subscriptions);
      this.stats.takeovers++;
      this.stats.dialogsAdopted += adopted;
      this.stats.subscriptionsTaken += made;
      this.options.logger.info({ shards: shards.length, subscriptions: made, dialogs: adopted }, 'cluster: takeover: dialogs resuming');
    });
  }

  private lost(shards: readonly number[], reason: ShardLossReason): void {
    const n = this.handOver(new Set(shards));
    this.options.logger.warn({ shards: shards.length, reason, subscriptions: n.subscriptions, dialogs: n.dialogs }, 'cluster: shards lost: their dialogs handed over without unSUBSCRIBE');
  }

  private async releasing(shards: readonly number[]): Promise<void> {
    const parts = this.parts;
    if (parts === undefined) return;
    // The new owner resumes from the latest state: the pending snapshots go first, under our epochs.
    await parts.b2b.flushSnapshots().catch((error: unknown) => this.options.logger.warn({ err: error }, 'cluster: last snapshots not written before the release'));
    const n = this.handOver(new Set(shards));
    this.options.logger.info({ shards: shards.length, subscriptions: n.subscriptions, dialogs: n.dialogs }, 'cluster: shards released');
  }

  /** The dialogs and API subscriptions of `shards` forgotten here without a word on the wire. */
  private handOver(shards: ReadonlySet<number>): { subscriptions: number; dialogs: number } {
    const parts = this.parts;
    if (parts === undefined) return { subscriptions: 0, dialogs: 0 };
    const inShards = (pkg: string, record: string, subscriber: string): boolean => shards.has(shardOf(pkg, record, subscriber, this.shards));
    // The engine first: the broker's unsubscribe below then finds no dialog to end.
    const dialogs = parts.b2b.engine.handOver(inShards);
    const ids: string[] = [];
    for (const handle of parts.broker.subscriptions()) {
      if (isApiSubscription(handle.data) && inShards(handle.package, handle.record, handle.subscriber)) ids.push(handle.id);
    }
    const subscriptions = parts.subscriptions.dropHandedOver(ids);
    this.stats.dialogsHandedOver += dialogs;
    this.stats.subscriptionsHandedOver += subscriptions;
    return { subscriptions, dialogs };
  }

  private announced(announcement: SubscriptionAnnouncement): void {
    if (this.manager.epochOf(announcement.shard) === undefined) return;
    if (announcement.op === 'create') {
      // Creations are made in batches: one read for all those heard since the last batch began. One read
      // each (behind the store's writes) let them fall tens of seconds behind the creates under load.
      this.announcedCreates.push(announcement);
      if (this.createBatchQueued) return;
      this.createBatchQueued = true;
      this.enqueue('announced creations', async () => {
        this.createBatchQueued = false;
        await this.makeAnnounced(this.announcedCreates.splice(0));
      });
      return;
    }
    this.enqueue(`announcement ${announcement.op}`, async () => {
      const parts = this.parts;
      if (parts === undefined || this.stopping || this.manager.epochOf(announcement.shard) === undefined) return;
      // Deleted on some node: the dialog ends here, with its unSUBSCRIBE (its snapshot deleted with it).
      if (parts.broker.unsubscribe(announcement.id)) this.stats.announcementsEnded++;
    });
  }

  /** Makes the announced creations still in held shards and not made here yet (created on this node, or loaded). */
  private async makeAnnounced(batch: readonly SubscriptionAnnouncement[]): Promise<void> {
    const parts = this.parts;
    if (parts === undefined || this.stopping) return;
    const ids = batch.filter((a) => this.manager.epochOf(a.shard) !== undefined && parts.broker.get(a.id) === undefined).map((a) => a.id);
    if (ids.length === 0) return;
    this.stats.announcementReads++;
    const stored = await this.options.store.getApiSubscriptions(ids);
    const fresh = stored.filter((s) => this.manager.epochOf(shardOf(s.package, s.record, s.subscriber, this.shards)) !== undefined && parts.broker.get(s.id) === undefined);
    this.stats.announcementsMade += await parts.subscriptions.restore(fresh);
  }
}

/** A subscription of the HTTP API (SubscriptionService marks them so), as opposed to a resource list server's. */
function isApiSubscription(data: unknown): boolean {
  return typeof data === 'object' && data !== null && (data as { source?: unknown }).source === 'http';
}
