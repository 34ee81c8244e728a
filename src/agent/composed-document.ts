import { buildPidf } from '../presence/pidf-builder.js';
import type { PidfDeviceInput, PidfPersonInput, PidfTupleInput } from '../presence/pidf-builder.js';
import { parsePidf } from '../presence/pidf-parser.js';
import type { PidfNote, PresenceDocument, RawElement } from '../presence/pidf-types.js';
import type { EmptyPresentityBody } from './agent-options.js';
import type { ComposedDocument, Presentity, Publication } from './agent-records.js';

/** Bytes with their own ArrayBuffer (Buffer.from() of a short string is a view into a shared pool). */
function ownBytes(text: string): Uint8Array {
  const pooled = Buffer.from(text, 'utf8');
  const bytes = new Uint8Array(pooled.length);
  bytes.set(pooled);
  return bytes;
}

/** An id not used yet in this document: ids must be unique within a PIDF document (RFC 3863 §4.1.2). */
function uniqueId(id: string, used: Set<string>): string {
  let candidate = id;
  for (let n = 2; used.has(candidate); n++) candidate = `${id}-${n}`;
  used.add(candidate);
  return candidate;
}

function notes(list: readonly PidfNote[]): readonly PidfNote[] | undefined {
  return list.length > 0 ? list : undefined;
}

function extensions(list: readonly RawElement[]): readonly RawElement[] | undefined {
  return list.length > 0 ? list : undefined;
}

/**
 * Several publications of one presentity become one document, as Kamailio's
 * presence_xml aggregation does: the tuples, persons and devices of every
 * publication side by side (so one tuple per publishing device), the most
 * recently changed publication first (watchers that show only the first
 * tuple show the latest news). Ids that collide get a `-2`, `-3`… suffix.
 */
function mergeDocuments(entity: string, publications: Publication[]): string {
  const ordered = [...publications].sort((a, b) => b.changeSeq - a.changeSeq);
  const tupleIds = new Set<string>();
  const elementIds = new Set<string>();
  const tuples: PidfTupleInput[] = [];
  const persons: PidfPersonInput[] = [];
  const devices: PidfDeviceInput[] = [];
  const topNotes: PidfNote[] = [];
  const topExtensions: RawElement[] = [];
  for (const publication of ordered) {
    const doc = publication.document;
    for (const t of doc.tuples) {
      tuples.push({
        id: uniqueId(t.id || 'tuple', tupleIds),
        basic: t.basic,
        notes: notes(t.notes),
        contact: t.contact?.uri,
        priority: t.contact?.priority,
        timestamp: t.timestamp,
        deviceId: t.deviceId,
        statusExtensions: extensions(t.statusExtensions),
        extensions: extensions(t.extensions),
      });
    }
    for (const p of doc.persons) {
      persons.push({
        id: uniqueId(p.id || 'person', elementIds),
        activities: p.activities,
        mood: p.mood,
        placeType: p.placeType,
        notes: notes(p.notes),
        timestamp: p.timestamp,
        extensions: extensions(p.extensions),
      });
    }
    for (const d of doc.devices) {
      devices.push({
        id: uniqueId(d.id || 'device', elementIds),
        deviceId: d.deviceId,
        notes: notes(d.notes),
        timestamp: d.timestamp,
        extensions: extensions(d.extensions),
      });
    }
    topNotes.push(...doc.notes);
    topExtensions.push(...doc.extensions);
  }
  return buildPidf({ entity, tuples, persons, devices, notes: topNotes, extensions: topExtensions });
}

function fromText(text: string, presence?: PresenceDocument): ComposedDocument {
  let document = presence;
  if (document === undefined) {
    try {
      document = parsePidf(text);
    } catch {
      document = undefined; // the raw body still goes out; watchers judge it
    }
  }
  return { body: ownBytes(text), presence: document };
}

/**
 * The document of a presentity, as NOTIFY bodies and QSA status carry it:
 * - no publication, but its user agent's state (`local_agent.user_agents`):
 *   that state, as the user agent sent it (a publication wins over it);
 * - no publication and nothing from a user agent: nothing (state only, like
 *   Kamailio), or with `emptyBody: 'closed'` a document with one closed tuple;
 * - one publication: its body exactly as published (nothing is lost);
 * - several: their merge (see mergeDocuments).
 */
export function composeDocument(presentity: Presentity, emptyBody: EmptyPresentityBody): ComposedDocument {
  const publications = presentity.publications;
  if (publications.length === 0) {
    if (presentity.userAgentDocument !== undefined) return presentity.userAgentDocument;
    if (emptyBody === 'none') return { body: undefined, presence: undefined };
    return fromText(buildPidf({ entity: presentity.uri, tuples: [{ id: 'closed', basic: 'closed' }] }));
  }
  if (publications.length === 1) {
    const only = publications[0]!;
    return fromText(only.body, only.document);
  }
  try {
    return fromText(mergeDocuments(presentity.uri, publications));
  } catch {
    // buildPidf refuses only values the parser never produces; fall back to the latest publication.
    const latest = publications.reduce((a, b) => (b.changeSeq > a.changeSeq ? b : a));
    return fromText(latest.body, latest.document);
  }
}

/** The presentity's basic status as one value: open if any tuple is open, closed if all known ones are closed. */
export function summaryBasic(document: PresenceDocument | undefined): 'open' | 'closed' | undefined {
  if (document === undefined) return undefined;
  let closed = false;
  for (const t of document.tuples) {
    if (t.basic === 'open') return 'open';
    if (t.basic === 'closed') closed = true;
  }
  return closed ? 'closed' : undefined;
}
