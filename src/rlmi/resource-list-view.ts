import { MultipartError, type MultipartErrorCode } from '../multipart/multipart-error.js';
import { sameValue } from '../util/same-value.js';
import { needsResync, VersionOrder } from '../util/version-order.js';
import { isBlankBody } from '../xml/xml-body.js';
import { type InstanceContent, type ResourceListBody, type ResourceListBodyOptions, readResourceListBody } from './resource-list-body.js';
import { RlmiError, type RlmiErrorCode } from './rlmi-error.js';
import type { RlmiDocument, RlmiInstanceState, RlmiName } from './rlmi-types.js';

/** One instance of a resource as the subscriber knows it. */
export interface ResourceInstanceView {
  id: string;
  state: RlmiInstanceState;
  reason?: string;
  /**
   * The member's state document as received: the Content-Type field value of
   * its part and its bytes, not parsed (parse them with the package's reader,
   * e.g. parsePidf). Kept from the last part received for this instance.
   */
  contentType?: string;
  body?: Uint8Array;
  /** Set when the instance's part is a nested resource list: its URI (its members are resources of their own). */
  nestedList?: string;
}

/** One resource of a list (nested lists' resources included, with their own `list`). */
export interface ResourceView {
  /** URI of the list the resource belongs to (for a nested list, the nested list's URI). */
  list: string;
  /** The resource's URI. */
  uri: string;
  names: RlmiName[];
  /** Its instances; a terminated one appears once, in the update that reports it, then leaves the view. */
  instances: ResourceInstanceView[];
}

/** A resource whose state changed. */
export interface ResourceUpdate extends ResourceView {
  /** `removed`: the resource left the list (a full-state document left it out, or its nested list ended); `instances` is then empty. */
  change: 'added' | 'updated' | 'removed';
}

/** The whole list as the subscriber knows it, nested lists flattened. */
export interface ResourceListSnapshot {
  /** The list's URI (undefined before the first document). */
  uri: string | undefined;
  version: number | undefined;
  names: RlmiName[];
  resources: ResourceView[];
}

export interface ResourceListApplyResult {
  /** The top-level document was applied. */
  applied: boolean;
  /**
   * The view cannot be trusted any more (a partial document after a gap, not
   * newer, or before any full state, here or in a nested list): refresh the
   * subscription to get full state (RFC 4662 §5.2). Kamailio 5.6's RLS sends
   * no NOTIFY after a refresh; only a new subscription brings full state.
   */
  resync: boolean;
  /**
   * Why nothing was applied: RLMI_ERR_VERSION (refused for its version; a
   * stale full-state document has no `resync`), or the error of a bad body
   * (RLMI_ERR_*, MULTIPART_ERR_*).
   */
  error?: { code: RlmiErrorCode | MultipartErrorCode; message: string };
  /** The documents' warnings, and the nested list documents refused for their version. */
  warnings: string[];
  /** The top-level RLMI document, when the body could be read. */
  document?: RlmiDocument;
  /** One entry per resource whose state changed, parents before the members of their nested lists. */
  updates: ResourceUpdate[];
}

interface InstanceEntry {
  id: string;
  state: RlmiInstanceState;
  reason?: string;
  contentType?: string;
  body?: Uint8Array;
  nested?: ListEntry;
}

interface ResourceEntry {
  uri: string;
  names: RlmiName[];
  instances: Map<string, InstanceEntry>;
}

interface ListEntry {
  uri: string;
  order: VersionOrder;
  names: RlmiName[];
  resources: Map<string, ResourceEntry>;
}

interface ApplyContext {
  updates: ResourceUpdate[];
  warnings: string[];
  resync: boolean;
}

function newList(uri: string): ListEntry {
  return { uri, order: new VersionOrder(), names: [], resources: new Map() };
}

function instanceView(entry: InstanceEntry): ResourceInstanceView {
  const view: ResourceInstanceView = { id: entry.id, state: entry.state };
  if (entry.reason !== undefined) view.reason = entry.reason;
  if (entry.nested !== undefined) view.nestedList = entry.nested.uri;
  else if (entry.body !== undefined) {
    if (entry.contentType !== undefined) view.contentType = entry.contentType;
    view.body = entry.body;
  }
  return view;
}

function resourceView(list: string, entry: ResourceEntry): ResourceView {
  return { list, uri: entry.uri, names: entry.names, instances: [...entry.instances.values()].map(instanceView) };
}

/** Reports every resource of `list` (and of its nested lists) as removed. */
function removeAll(list: ListEntry, context: ApplyContext): void {
  for (const resource of list.resources.values()) removeResource(list, resource, context);
}

function removeResource(list: ListEntry, resource: ResourceEntry, context: ApplyContext): void {
  context.updates.push({ list: list.uri, uri: resource.uri, names: resource.names, instances: [], change: 'removed' });
  for (const instance of resource.instances.values()) if (instance.nested !== undefined) removeAll(instance.nested, context);
}

/** Copies bytes out of the received packet, so that the view does not keep the packet alive. */
function copy(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

/**
 * Applies one (already version-checked) list document to `list`, recursing
 * into nested lists. Cannot throw: everything was checked by
 * readResourceListBody.
 */
function applyList(list: ListEntry, body: ResourceListBody, context: ApplyContext): void {
  const document = body.document;
  list.uri = document.uri;
  if (document.fullState || document.names.length > 0) list.names = document.names;
  const listed = new Set<string>();
  for (const resource of document.resources) {
    listed.add(resource.uri);
    const old = list.resources.get(resource.uri);
    const before = old === undefined ? undefined : resourceView(list.uri, old);
    const entry: ResourceEntry = old ?? { uri: resource.uri, names: resource.names, instances: new Map() };
    if (document.fullState || resource.names.length > 0) entry.names = resource.names;
    const previous = entry.instances;
    // Full state lists every instance; partial state only those that changed (merged by id).
    const instances = document.fullState ? new Map<string, InstanceEntry>() : new Map(previous);
    const nestedUpdates: ResourceUpdate[] = [];
    const nestedContext: ApplyContext = { updates: nestedUpdates, warnings: context.warnings, resync: false };
    for (const instance of resource.instances) {
      const prior = previous.get(instance.id);
      const next: InstanceEntry = { id: instance.id, state: instance.state };
      if (instance.reason !== undefined) next.reason = instance.reason;
      const content: InstanceContent | undefined = body.contents.get(instance);
      if (content === undefined) {
        // No part this time: the state document last received still holds.
        if (prior?.nested !== undefined) next.nested = prior.nested;
        else if (prior?.body !== undefined) {
          next.body = prior.body;
          if (prior.contentType !== undefined) next.contentType = prior.contentType;
        }
      } else if (content.nested !== undefined) {
        const nested = prior?.nested ?? newList(content.nested.document.uri);
        next.nested = nested;
        applyNested(nested, content.nested, nestedContext);
      } else {
        next.body = copy(content.body);
        if (content.contentType !== undefined) next.contentType = content.contentType;
        if (prior?.nested !== undefined) removeAll(prior.nested, nestedContext);
      }
      instances.set(instance.id, next);
    }
    // Instances that full state left out, and nested lists under them, are gone.
    if (document.fullState) {
      for (const [id, prior] of previous) {
        if (!instances.has(id) && prior.nested !== undefined) removeAll(prior.nested, nestedContext);
      }
    }
    entry.instances = instances;
    list.resources.set(resource.uri, entry);
    const after = resourceView(list.uri, entry);
    if (before === undefined) context.updates.push({ ...after, change: 'added' });
    else if (!sameValue(before, after)) context.updates.push({ ...after, change: 'updated' });
    // A terminated instance is reported once, then leaves the view (with its nested list).
    for (const [id, instance] of instances) {
      if (instance.state !== 'terminated') continue;
      instances.delete(id);
      if (instance.nested !== undefined) removeAll(instance.nested, nestedContext);
    }
    context.updates.push(...nestedUpdates);
    if (nestedContext.resync) context.resync = true;
  }
  if (document.fullState) {
    for (const [uri, resource] of list.resources) {
      if (listed.has(uri)) continue;
      list.resources.delete(uri);
      removeResource(list, resource, context);
    }
  }
}

/** A nested list's document, judged by its own version. */
function applyNested(list: ListEntry, body: ResourceListBody, context: ApplyContext): void {
  const document = body.document;
  const verdict = list.order.check(document.version, document.fullState);
  if (verdict !== 'apply') {
    if (needsResync(verdict)) {
      list.order.refused();
      context.resync = true;
    }
    context.warnings.push(`nested list "${document.uri}": ${list.order.describe(verdict, document.version)}`);
    return;
  }
  applyList(list, body, context);
  list.order.accepted(document.version, document.fullState);
}

function flatten(list: ListEntry, out: ResourceView[]): void {
  for (const resource of list.resources.values()) {
    out.push(resourceView(list.uri, resource));
    for (const instance of resource.instances.values()) if (instance.nested !== undefined) flatten(instance.nested, out);
  }
}

/**
 * The state of one resource list subscription (RFC 4662), built from the
 * bodies of its NOTIFYs: multipart/related with an RLMI root and the members'
 * state documents as parts. A full-state document replaces the list; a
 * partial one updates the resources it lists, their instances merged by id.
 * Each apply returns the resources whose state changed, each with the list
 * it belongs to; nested lists are flattened, each judged by its own version.
 * The members' documents are given as received (content type and bytes, the
 * bytes copied out of the packet); a member whose part is byte for byte the
 * same as before is no change. Version ordering: see VersionOrder.
 *
 * Kamailio 5.6 (the `rls` module): the first NOTIFY is full state with the
 * resources but no instance (their back-end subscriptions do not exist yet),
 * the states follow in partial NOTIFYs; Content-IDs change in every NOTIFY.
 *
 * One view per subscription dialog: call `reset()` when a new dialog starts.
 * Pure and synchronous; `apply` never throws. The complete view is not built
 * on every apply (lists can be long): ask `snapshot()` for it.
 */
export class ResourceListView {
  private list: ListEntry | undefined;
  private readonly order = new VersionOrder();
  private readonly options: ResourceListBodyOptions | undefined;

  constructor(options?: ResourceListBodyOptions) {
    this.options = options;
  }

  /** Version of the last top-level document applied. */
  get version(): number | undefined {
    return this.order.version;
  }

  /** True until a full-state document is applied, and after a `resync` until the next one. */
  get awaitingFullState(): boolean {
    return this.order.awaitingFullState;
  }

  snapshot(): ResourceListSnapshot {
    const resources: ResourceView[] = [];
    if (this.list !== undefined) flatten(this.list, resources);
    return { uri: this.list?.uri, version: this.order.version, names: this.list?.names ?? [], resources };
  }

  /** Forgets everything, for a new subscription dialog. */
  reset(): void {
    this.order.reset();
    this.list = undefined;
  }

  /**
   * Reads a NOTIFY body (given its Content-Type field value) and applies it.
   * An empty (or all-white-space) body changes nothing and is no error. A body that cannot be read
   * gives `error` (RLMI_ERR_*, MULTIPART_ERR_*) and changes nothing.
   */
  apply(contentType: string | undefined, body: Uint8Array | string): ResourceListApplyResult {
    if (isBlankBody(body)) {
      return { applied: false, resync: false, warnings: [], updates: [] };
    }
    let read: ResourceListBody;
    try {
      read = readResourceListBody(contentType, body, this.options);
    } catch (error) {
      if (!(error instanceof RlmiError || error instanceof MultipartError)) throw error;
      return { applied: false, resync: false, warnings: [], updates: [], error: { code: error.code, message: error.message } };
    }
    return this.applyBody(read);
  }

  /** Applies a body already read by readResourceListBody. */
  applyBody(read: ResourceListBody): ResourceListApplyResult {
    const document = read.document;
    const warnings = [...document.warnings];
    const verdict = this.order.check(document.version, document.fullState);
    if (verdict !== 'apply') {
      const resync = needsResync(verdict);
      if (resync) this.order.refused();
      return {
        applied: false,
        resync,
        warnings,
        document,
        updates: [],
        error: { code: 'RLMI_ERR_VERSION', message: 'RLMI: ' + this.order.describe(verdict, document.version) },
      };
    }
    const context: ApplyContext = { updates: [], warnings, resync: false };
    if (this.list !== undefined && this.list.uri !== document.uri && document.fullState) {
      // Another list altogether: everything known goes.
      removeAll(this.list, context);
      this.list = undefined;
    }
    this.list ??= newList(document.uri);
    applyList(this.list, read, context);
    this.order.accepted(document.version, document.fullState);
    if (context.resync) this.order.refused();
    return { applied: true, resync: context.resync, warnings, document, updates: context.updates };
  }
}
