import type { StatusView, SubscriptionView } from './api-types.js';

/**
 * What the status page's event stream (`GET /v1/status/events`) carries after
 * its snapshot: a subscription created or changed (its state, dialog or last
 * status), one removed, and each status message as it is queued (what a
 * NOTIFY, the local agent or an error produced).
 */
export type StatusFeedEvent =
  | { type: 'subscription'; subscription: SubscriptionView }
  | { type: 'removed'; id: string }
  | { type: 'status'; status: StatusView };

/** The daemon's live overview, for the status page (implemented by src/daemon/status-feed.ts). */
export interface StatusFeedSource {
  /** Every subscription as it is now (the page's starting point). */
  snapshot(): { subscriptions: SubscriptionView[] };
  /** Live changes from now on, in order; returns the unsubscribe function. */
  subscribe(listener: (event: StatusFeedEvent) => void): () => void;
}
