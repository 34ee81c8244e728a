/** The resource list server (RFC 4662) on QSA: the seed's "RLS module doing internal subscriptions". */
export { RlsError } from './rls-error.js';
export type { RlsErrorCode } from './rls-error.js';
export { findListCycle, MAX_LIST_RESOURCES, ResourceListCatalog, resourceKey } from './resource-list-catalog.js';
export type { CatalogList, ResourceListDefinition } from './resource-list-catalog.js';
export { ResourceListServer } from './resource-list-server.js';
export type {
  ListMemberBroker,
  ListSubscriptionSummary,
  ResourceListServerOptions,
  ResourceListServerStats,
} from './resource-list-server.js';
