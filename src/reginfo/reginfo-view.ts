import { sameValue } from '../util/same-value.js';
import { needsResync, VersionOrder } from '../util/version-order.js';
import { isBlankBody } from '../xml/xml-body.js';
import { RegInfoError, type RegInfoErrorCode } from './reginfo-error.js';
import { parseReginfo, type RegInfoParseOptions } from './reginfo-parser.js';
import type { RegInfoContact, RegInfoDocument, RegInfoRegistration, RegistrationState } from './reginfo-types.js';

/** The registrations as the subscriber currently knows them. Treat as immutable. */
export interface RegInfoSnapshot {
  /** Version of the last document applied; undefined before the first. */
  version: number | undefined;
  /** Registrations in the order they were first reported, each with its live (non-terminated) contacts. */
  registrations: RegInfoRegistration[];
}

/** A contact that changed, with the registration it belongs to. */
export interface RegInfoContactChange {
  registrationId: string;
  aor: string;
  /**
   * The contact as it is now (added, updated), or as it left (removed): a
   * contact reported terminated keeps the notifier's event (`unregistered`,
   * `expired`, …); one that a full-state document simply left out (Kamailio
   * does so with expired contacts), or whose registration disappeared, is
   * given state `terminated` and no event.
   */
  contact: RegInfoContact;
}

/** What one document changed. */
export interface RegInfoChanges {
  /** Registrations that appeared, whose aor or state changed, or that disappeared (with their last contacts). */
  registrations: { added: RegInfoRegistration[]; updated: RegInfoRegistration[]; removed: RegInfoRegistration[] };
  contacts: { added: RegInfoContactChange[]; updated: RegInfoContactChange[]; removed: RegInfoContactChange[] };
}

export interface RegInfoApplyResult {
  /** The document changed the view (possibly with no visible change, e.g. the same document again). */
  applied: boolean;
  /**
   * Our view cannot be trusted any more (a partial document after a gap, not
   * newer, or before any full state): nothing was applied; refresh the
   * subscription to get full state (RFC 3680 §5.2).
   */
  resync: boolean;
  /**
   * Why nothing was applied: REGINFO_ERR_VERSION (refused for its version; a
   * stale full-state document has no `resync`), or the parse error of a bad body.
   */
  error?: { code: RegInfoErrorCode; message: string };
  /** The document read from the body, when it could be read (its `warnings` included). */
  document?: RegInfoDocument;
  /** The complete current view, after this document. */
  view: RegInfoSnapshot;
  changes: RegInfoChanges;
}

interface RegistrationEntry {
  aor: string;
  id: string;
  state: RegistrationState;
  contacts: Map<string, RegInfoContact>;
}

function noChanges(): RegInfoChanges {
  return {
    registrations: { added: [], updated: [], removed: [] },
    contacts: { added: [], updated: [], removed: [] },
  };
}

function gone(contact: RegInfoContact): RegInfoContact {
  const left: RegInfoContact = { ...contact, state: 'terminated' };
  delete left.event;
  return left;
}

function registrationOf(entry: RegistrationEntry): RegInfoRegistration {
  return { aor: entry.aor, id: entry.id, state: entry.state, contacts: [...entry.contacts.values()] };
}

/**
 * The registration state of one reg-event subscription (RFC 3680 §5.2),
 * built from the documents of its NOTIFYs: a full-state document replaces
 * everything, a partial one is merged by registration id and contact id.
 * A contact reported `terminated` is reported once (in `changes.contacts.removed`)
 * and leaves the view; a registration stays, with its state, until a
 * full-state document leaves it out. Version ordering: see VersionOrder
 * (a full-state document with the same version is applied, because Kamailio
 * 5.6 always sends version 0).
 *
 * One view per subscription dialog: call `reset()` when a new dialog starts.
 * Pure and synchronous; `apply` never throws.
 */
export class RegInfoView {
  private readonly order = new VersionOrder();
  private registrations = new Map<string, RegistrationEntry>();
  private readonly options: RegInfoParseOptions | undefined;

  constructor(options?: RegInfoParseOptions) {
    this.options = options;
  }

  /** Version of the last document applied. */
  get version(): number | undefined {
    return this.order.version;
  }

  /** True until a full-state document is applied, and after a `resync` until the next one. */
  get awaitingFullState(): boolean {
    return this.order.awaitingFullState;
  }

  snapshot(): RegInfoSnapshot {
    const registrations: RegInfoRegistration[] = [];
    for (const entry of this.registrations.values()) registrations.push(registrationOf(entry));
    return { version: this.order.version, registrations };
  }

  /** Forgets everything, for a new subscription dialog. */
  reset(): void {
    this.order.reset();
    this.registrations = new Map();
  }

  /**
   * Parses a NOTIFY body and applies it. An empty (or all-white-space) body,
   * which Kamailio sends while the AoR has never registered, changes nothing
   * and is no error. A body that cannot be read gives `error` with its
   * RegInfoError code, and changes nothing.
   */
  apply(body: Uint8Array | string): RegInfoApplyResult {
    if (isBlankBody(body)) return this.unchanged(false);
    let document: RegInfoDocument;
    try {
      document = parseReginfo(body, this.options);
    } catch (error) {
      if (!(error instanceof RegInfoError)) throw error;
      if (error.code === 'REGINFO_ERR_EMPTY') return this.unchanged(false);
      return { ...this.unchanged(false), error: { code: error.code, message: error.message } };
    }
    return this.applyDocument(document);
  }

  /** Applies a document already parsed. */
  applyDocument(document: RegInfoDocument): RegInfoApplyResult {
    const full = document.state === 'full';
    const verdict = this.order.check(document.version, full);
    if (verdict !== 'apply') {
      const resync = needsResync(verdict);
      if (resync) this.order.refused();
      return {
        ...this.unchanged(resync),
        document,
        error: { code: 'REGINFO_ERR_VERSION', message: 'reginfo: ' + this.order.describe(verdict, document.version) },
      };
    }
    const before = this.registrations;
    const after = full ? new Map<string, RegistrationEntry>() : new Map(before);
    /** Contacts reported terminated, by registration id then contact id: reported as they were sent. */
    const terminated = new Map<string, Map<string, RegInfoContact>>();
    const touched = new Set<string>();
    for (const registration of document.registrations) {
      touched.add(registration.id);
      let entry = after.get(registration.id);
      if (entry === undefined || (!full && entry === before.get(registration.id))) {
        // Copy on write: the entry of the previous view is never modified.
        entry = {
          aor: registration.aor,
          id: registration.id,
          state: registration.state,
          contacts: entry === undefined ? new Map() : new Map(entry.contacts),
        };
        after.set(registration.id, entry);
      }
      entry.aor = registration.aor;
      entry.state = registration.state;
      for (const contact of registration.contacts) {
        if (contact.state === 'terminated') {
          entry.contacts.delete(contact.id);
          let byId = terminated.get(registration.id);
          if (byId === undefined) {
            byId = new Map();
            terminated.set(registration.id, byId);
          }
          byId.set(contact.id, contact);
        } else {
          entry.contacts.set(contact.id, contact);
          terminated.get(registration.id)?.delete(contact.id);
        }
      }
    }
    this.registrations = after;
    this.order.accepted(document.version, full);

    const changes = noChanges();
    const ids = full ? new Set([...before.keys(), ...after.keys()]) : touched;
    for (const id of ids) {
      const old = before.get(id);
      const now = after.get(id);
      if (now !== undefined && old === undefined) {
        changes.registrations.added.push(registrationOf(now));
        for (const contact of now.contacts.values()) changes.contacts.added.push({ registrationId: id, aor: now.aor, contact });
        continue;
      }
      if (old === undefined) continue;
      if (now === undefined) {
        const removed = registrationOf(old);
        removed.contacts = removed.contacts.map(gone);
        changes.registrations.removed.push(removed);
        for (const contact of removed.contacts) changes.contacts.removed.push({ registrationId: id, aor: old.aor, contact });
        continue;
      }
      if (old.aor !== now.aor || old.state !== now.state) changes.registrations.updated.push(registrationOf(now));
      for (const contact of now.contacts.values()) {
        const previous = old.contacts.get(contact.id);
        if (previous === undefined) changes.contacts.added.push({ registrationId: id, aor: now.aor, contact });
        else if (!sameValue(previous, contact)) changes.contacts.updated.push({ registrationId: id, aor: now.aor, contact });
      }
      for (const previous of old.contacts.values()) {
        if (now.contacts.has(previous.id)) continue;
        const reported = terminated.get(id)?.get(previous.id);
        changes.contacts.removed.push({ registrationId: id, aor: now.aor, contact: reported ?? gone(previous) });
      }
    }
    return { applied: true, resync: false, document, view: this.snapshot(), changes };
  }

  private unchanged(resync: boolean): RegInfoApplyResult {
    return { applied: false, resync, view: this.snapshot(), changes: noChanges() };
  }
}
