import type { SipRequest, SipResponse } from '../sip/codec/message.js';
import type { StatusUpdate } from '../qsa/index.js';
import { REREAD_DOCUMENT, type RereadableUpdate } from '../qsa/status-message.js';
import { RLMI_MEDIA_TYPE } from '../rlmi/index.js';
import { contentTypeOf } from '../sip/codec/content-type.js';
import type { BodyReader, EventPackage } from './event-package.js';
import { ResourceListReader } from './resource-list-reader.js';

/** The option tag of resource lists (RFC 4662 §4.1). */
export const EVENTLIST = 'eventlist';

/** What the status updates of one NOTIFY are. */
export interface NotifyReading {
  /** One update; for a resource list, one per member whose state changed (and one for the list itself when needed). */
  updates: StatusUpdate[];
  /** Full state is needed again (RFC 3680 §5.2, RFC 4235 §4.1, RFC 4662 §5.2). */
  resync: boolean;
  /**
   * Set when a package's shared reader met a resource list body: the reader
   * of the dialog's own that read it, which the dialog keeps from now on.
   */
  own?: NotifyReader;
}

/** True when a response or request names `eventlist` in Require (RFC 4662 §4.1: the record is a resource list). */
export function requiresEventlist(message: SipRequest | SipResponse): boolean {
  try {
    return message.headers.values('require').some((tag) => tag.trim().toLowerCase() === EVENTLIST);
  } catch {
    return false;
  }
}

/**
 * The body side of one subscription: which event package it is, whether it
 * is a resource list subscription (RFC 4662), and the readers of its current
 * SIP dialog. A record configured as a list is subscribed to as one from the
 * start (`Supported: eventlist`, Accept multipart/related and RLMI); any
 * other learns it from a 421 or a 2xx with `Require: eventlist`, or from a
 * NOTIFY whose body is a resource list.
 */
export class NotifyReader {
  private reader: BodyReader | undefined;
  private list: ResourceListReader | undefined;

  /**
   * One reader for every dialog of a stateless package that is not a
   * resource list (issue 11: one object less per held subscription).
   * Undefined for a package without a `sharedReader` (a stateful one:
   * version numbers, partial state, RFC 3680 §5.2), which keeps a reader per
   * SIP dialog. A shared reader never changes: a dialog that becomes a
   * resource list gets a reader of its own (`asEventlist`, `read`'s `own`).
   */
  static sharedFor(pkg: EventPackage): NotifyReader | undefined {
    if (pkg.sharedReader === undefined) return undefined;
    const shared = new NotifyReader(pkg, false, true);
    shared.reader = pkg.sharedReader;
    return shared;
  }

  constructor(
    readonly pkg: EventPackage,
    /** Subscribe as to a resource list: `Supported: eventlist` and the list media types in Accept. */
    private listed: boolean,
    /** Shared by dialogs (`sharedFor`): never written after it is made. */
    readonly shared = false,
  ) {}

  /** Subscribe as to a resource list: `Supported: eventlist` and the list media types in Accept. */
  get eventlist(): boolean {
    return this.listed;
  }

  /**
   * The reader of a dialog that learnt its record is a resource list (RFC 4662
   * §4.1): this one marked so, or for a shared reader a new one of the
   * dialog's own, which the dialog keeps instead.
   */
  asEventlist(): NotifyReader {
    if (this.listed) return this;
    if (this.shared) return new NotifyReader(this.pkg, true);
    this.listed = true;
    return this;
  }

  /** Accept of our SUBSCRIBEs: the package's types, after the resource list ones for a list. */
  accept(): string {
    const types = this.eventlist ? ['multipart/related', RLMI_MEDIA_TYPE, ...this.pkg.accept] : this.pkg.accept;
    return types.join(', ');
  }

  /** A new SIP dialog starts: version numbers and merged views start afresh. */
  reset(): void {
    // A shared reader holds no dialog's state (and its stateless reader is the package's).
    if (this.shared) return;
    this.reader = undefined;
    this.list = undefined;
  }

  /**
   * The status updates of one NOTIFY, given its Subscription-State as `base`
   * (state, reason, expires; a fresh object the reader may complete and hand
   * on). The body is copied out of the packet once, unless `fromDatagram` (the request came
   * over UDP: its buffer is the datagram's own, see read's body). A
   * non-list body is read by the package's reader: the update carries the
   * media type, the raw body and what the reader made of it (`document`,
   * `error`). A missing or unreadable Content-Type is read as the package's own.
   */
  read(request: SipRequest, base: StatusUpdate, fromDatagram = false): NotifyReading {
    const field = request.headers.getByKey('content-type');
    // The message's cached Content-Type; an unreadable one counts as none.
    let mediaType: string | undefined;
    try {
      mediaType = contentTypeOf(request)?.mediaType;
    } catch {
      mediaType = undefined;
    }
    // A plain Uint8Array either way, as statuses have always had. Over UDP, a view of the datagram's bytes:
    // its buffer is its own (Node's, never reused) and holds little else, the broker takes it as it is
    // (MAX_BYTES_KEPT_BESIDE_BODY), and the last status keeps a copy in the broker's store anyway; a copy
    // here was one more ArrayBuffer per NOTIFY for the scavenges to free (issue 11). Over a stream, an
    // exact-size copy: the body is a view of the framer's buffer, which the next reads write over.
    const packet = request.body;
    const body = packet.length === 0 ? undefined : fromDatagram ? new Uint8Array(packet.buffer, packet.byteOffset, packet.length) : new Uint8Array(packet);
    if (mediaType === 'multipart/related' || mediaType === RLMI_MEDIA_TYPE || (this.list !== undefined && body === undefined)) {
      if (this.shared) {
        // The first list body of a dialog that shared its package's reader: read by one of its own from now on.
        const own = new NotifyReader(this.pkg, true);
        return { ...own.read(request, base, fromDatagram), own };
      }
      this.listed = true;
      this.list ??= new ResourceListReader(this.pkg);
      return this.list.read(base, field, body);
    }
    const update = base;
    if (body !== undefined) {
      // The package's own constant when it is one of its types: not a string per kept status (issue 11).
      const shown = mediaType === undefined ? (this.pkg.accept[0] ?? field) : ownConstant(this.pkg.accept, mediaType);
      if (shown !== undefined) update.contentType = shown;
      update.body = body;
    }
    this.reader ??= this.pkg.newReader();
    const reading = this.reader.read(mediaType, body);
    if (reading.document !== undefined) {
      update.document = reading.document;
      // A whole-document package's view can be read again from the body (the last status keeps the body only).
      if (body !== undefined && this.pkg.rereadDocument !== undefined) (update as RereadableUpdate)[REREAD_DOCUMENT] = this.pkg.rereadDocument;
    }
    if (reading.error !== undefined) update.error = reading.error;
    return { updates: [update], resync: reading.resync === true };
  }

  /**
   * What a subscriber that joins the shared dialog is told, given the last
   * update: every member's last update when that was a list member's, else
   * the last update itself.
   */
  joinStatuses(last: StatusUpdate): StatusUpdate[] {
    if (last.list !== undefined && this.list !== undefined) return this.list.current();
    return [last];
  }
}

/** The element of `types` equal to `mediaType` (the package's own string), else `mediaType`; no closure per NOTIFY. */
function ownConstant(types: ReadonlyArray<string>, mediaType: string): string {
  for (let i = 0; i < types.length; i++) if (types[i] === mediaType) return types[i]!;
  return mediaType;
}
