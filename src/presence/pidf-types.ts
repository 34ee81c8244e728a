/**
 * The presence document model: PIDF (RFC 3863) with the parts of the data
 * model (RFC 4479) and RPID (RFC 4480) a user interface shows. Anything else
 * is kept as raw XML so that it can be passed on without losing meaning.
 */

/** RFC 3863 */
export const PIDF_NS = 'urn:ietf:params:xml:ns:pidf';
/** RFC 4479 */
export const DATA_MODEL_NS = 'urn:ietf:params:xml:ns:pidf:data-model';
/** RFC 4480 */
export const RPID_NS = 'urn:ietf:params:xml:ns:pidf:rpid';
/** The `xml:` prefix is bound to this namespace by definition (Namespaces in XML §3). */
export const XML_NS = 'http://www.w3.org/XML/1998/namespace';

/** RFC 3863 basic status; anything else is not representable (see PresenceDocument.warnings). */
export type BasicStatus = 'open' | 'closed';

/** `<note>` (RFC 3863, and RFC 4479 for persons and devices): free text, with the language in effect (`xml:lang`, inherited). */
export interface PidfNote {
  text: string;
  lang?: string;
}

/** `<contact>` (RFC 3863); priority is a qvalue in [0, 1]. */
export interface PidfContact {
  uri: string;
  priority?: number;
}

/**
 * An element the reader does not model, serialized back to XML from the parse
 * events with the namespace declarations it needs, so it stands on its own.
 */
export interface RawElement {
  /** Namespace URI of the element ('' for none). */
  namespace: string;
  /** Local name of the element. */
  localName: string;
  /** The element as a self-contained XML string. */
  xml: string;
}

/** `<tuple>` (RFC 3863), a service in the data model (RFC 4479). */
export interface PidfTuple {
  id: string;
  /** Undefined when absent or not `open`/`closed` (baresip sends `?`). */
  basic?: BasicStatus;
  contact?: PidfContact;
  notes: readonly PidfNote[];
  /** xs:dateTime text as received (RFC 3863 `<timestamp>`). */
  timestamp?: string;
  /** `<dm:deviceID>` (RFC 4479): the device this service runs on. */
  deviceId?: string;
  /** Unknown children of `<status>` (status extensions, RFC 3863). */
  statusExtensions: readonly RawElement[];
  /** Unknown children of `<tuple>`. */
  extensions: readonly RawElement[];
}

/** `<dm:person>` (RFC 4479) with its RPID elements (RFC 4480). */
export interface PidfPerson {
  id: string;
  /**
   * `<rpid:activities>` children by local name (`away`, `on-the-phone`,
   * `unknown`, …); the text of an `<rpid:other>` child is kept as is.
   */
  activities: readonly string[];
  /** `<rpid:mood>` children by local name (`happy`, …), `<rpid:other>` text as is. */
  mood: readonly string[];
  /** `<rpid:place-type>` children by local name (RFC 4589 location types), `<rpid:other>` text as is. */
  placeType: readonly string[];
  notes: readonly PidfNote[];
  timestamp?: string;
  /** Other children (other RPID elements such as `<rpid:user-input>`, or foreign extensions). */
  extensions: readonly RawElement[];
}

/** `<dm:device>` (RFC 4479). */
export interface PidfDevice {
  id: string;
  deviceId?: string;
  notes: readonly PidfNote[];
  timestamp?: string;
  extensions: readonly RawElement[];
}

/**
 * A parsed `application/pidf+xml` document.
 *
 * A document read from a NOTIFY is a value to read, not to change: the same document may reach
 * several consumers, and every list it has left empty is one shared frozen array (one array per
 * list would be 16 allocations per NOTIFY: docs/latency-tail.md, round 3), so `push` on an empty
 * list throws a `TypeError`. Copy a list (`[...doc.notes]`) before changing it.
 */
export interface PresenceDocument {
  /** The presentity URI (`entity` attribute of `<presence>`). */
  entity: string;
  tuples: readonly PidfTuple[];
  persons: readonly PidfPerson[];
  devices: readonly PidfDevice[];
  /** Presence-level `<note>`s. */
  notes: readonly PidfNote[];
  /** Unknown children of `<presence>`. */
  extensions: readonly RawElement[];
  /**
   * What was wrong but could be read around (an invalid `<basic>`, a missing
   * `id` or `entity`, …). Empty for a valid document.
   */
  warnings: readonly string[];
}
