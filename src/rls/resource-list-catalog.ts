import { parseSipUri } from '../sip/codec/uri.js';
import { RlsError } from './rls-error.js';

/** One resource list as configured (`resource_lists` in the daemon's configuration). */
export interface ResourceListDefinition {
  /** The list's URI: SUBSCRIBEs to it are answered by the resource list server. */
  uri: string;
  /** When set, only this watcher (From URI) may subscribe; others get 403. */
  owner?: string;
  /** Member URIs, in order; a member naming another list's URI nests that list (RFC 4662 §5.3). */
  members: readonly string[];
}

/** A list as the server uses it: members deduplicated, keys computed. */
export interface CatalogList {
  readonly uri: string;
  /** `sip:user@host` (see resourceKey). */
  readonly key: string;
  readonly owner: string | undefined;
  readonly ownerKey: string | undefined;
  readonly members: readonly string[];
}

/** The most resources one list may expand to, nested lists included (the config is refused beyond). */
export const MAX_LIST_RESOURCES = 10_000;

/**
 * How URIs are compared here: `sip:user@host`, sips folded into sip, host
 * lower-cased, port, parameters and headers left out (as Kamailio's rls and
 * presence modules key lists and presentities by user and domain). The user
 * part stays as written (RFC 3261 §19.1.4). Undefined for a non-SIP URI.
 */
export function resourceKey(uri: string): string | undefined {
  try {
    const parsed = parseSipUri(uri.trim());
    return parsed.user === undefined ? `sip:${parsed.host}` : `sip:${parsed.user}@${parsed.host}`;
  } catch {
    return undefined;
  }
}

function invalid(message: string): RlsError {
  return new RlsError('RLS_ERR_INVALID_LIST', message);
}

/**
 * The lists by key. A cycle (a list that contains itself through nested
 * lists) is refused: the expansion would never end (RFC 4662 §6 asks the
 * server to guard against such loops; a configuration can be checked once).
 */
export function findListCycle(definitions: readonly ResourceListDefinition[]): string[] | undefined {
  const byKey = new Map<string, ResourceListDefinition>();
  for (const d of definitions) {
    const key = resourceKey(d.uri);
    if (key !== undefined && !byKey.has(key)) byKey.set(key, d);
  }
  const done = new Set<string>();
  const path: string[] = [];
  const onPath = new Set<string>();
  const visit = (key: string): string[] | undefined => {
    if (onPath.has(key)) return [...path.slice(path.indexOf(key)), key];
    if (done.has(key)) return undefined;
    const definition = byKey.get(key);
    if (definition === undefined) return undefined;
    path.push(key);
    onPath.add(key);
    for (const member of definition.members) {
      const memberKey = resourceKey(member);
      if (memberKey === undefined || !byKey.has(memberKey)) continue;
      const cycle = visit(memberKey);
      if (cycle !== undefined) return cycle;
    }
    path.pop();
    onPath.delete(key);
    done.add(key);
    return undefined;
  };
  for (const key of byKey.keys()) {
    const cycle = visit(key);
    if (cycle !== undefined) return cycle;
  }
  return undefined;
}

/** The configured resource lists, checked: SIP URIs, no duplicates, no cycles, bounded expansion. */
export class ResourceListCatalog {
  private readonly byKey = new Map<string, CatalogList>();

  constructor(definitions: readonly ResourceListDefinition[]) {
    for (const d of definitions) {
      const key = resourceKey(d.uri);
      if (key === undefined) throw invalid(`resource list ${JSON.stringify(d.uri)} is not a SIP URI`);
      if (this.byKey.has(key)) throw invalid(`resource list ${d.uri} is defined twice`);
      const ownerKey = d.owner === undefined ? undefined : resourceKey(d.owner);
      if (d.owner !== undefined && ownerKey === undefined) throw invalid(`owner ${JSON.stringify(d.owner)} of ${d.uri} is not a SIP URI`);
      const seen = new Set<string>();
      const members: string[] = [];
      for (const member of d.members) {
        const memberKey = resourceKey(member);
        if (memberKey === undefined) throw invalid(`member ${JSON.stringify(member)} of ${d.uri} is not a SIP URI`);
        // RFC 4662 §5.2: a resource appears once in a list.
        if (seen.has(memberKey)) continue;
        seen.add(memberKey);
        members.push(member.trim());
      }
      this.byKey.set(key, { uri: d.uri.trim(), key, owner: d.owner, ownerKey, members });
    }
    const cycle = findListCycle(definitions);
    if (cycle !== undefined) throw new RlsError('RLS_ERR_CYCLE', `resource lists contain each other: ${cycle.join(' → ')}`);
    for (const list of this.byKey.values()) {
      const size = this.expandedSize(list, 0);
      if (size > MAX_LIST_RESOURCES) {
        throw new RlsError('RLS_ERR_TOO_LARGE', `resource list ${list.uri} expands to more than ${MAX_LIST_RESOURCES} resources`);
      }
    }
  }

  get size(): number {
    return this.byKey.size;
  }

  lists(): IterableIterator<CatalogList> {
    return this.byKey.values();
  }

  /** The list a URI names, if any. */
  get(uri: string): CatalogList | undefined {
    const key = resourceKey(uri);
    return key === undefined ? undefined : this.byKey.get(key);
  }

  /** Resources and nested lists one subscription to `list` holds (stops counting past the maximum). */
  private expandedSize(list: CatalogList, counted: number): number {
    let n = counted;
    for (const member of list.members) {
      n++;
      if (n > MAX_LIST_RESOURCES) return n;
      const nested = this.get(member);
      if (nested !== undefined) n = this.expandedSize(nested, n);
    }
    return n;
  }
}
