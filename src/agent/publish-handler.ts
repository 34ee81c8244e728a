import { PidfError } from '../presence/pidf-error.js';
import { parsePidf } from '../presence/pidf-parser.js';
import type { PresenceDocument } from '../presence/pidf-types.js';
import { contentTypeOf } from '../sip/codec/content-type.js';
import { eventOf } from '../sip/codec/event.js';
import { isSipParseError } from '../sip/codec/parse-error.js';
import type { IncomingRequest } from '../sip/transaction/types.js';
import type { AgentSettings } from './agent-options.js';
import type { LocalPresenceAgentStats } from './agent-stats.js';
import type { PresenceState } from './presence-state.js';
import type { LocalDomains } from './presentity-uri.js';
import { grantExpires, PIDF_CONTENT_TYPE, PRESENCE_PACKAGE } from './request-checks.js';

type Headers = Array<readonly [string, string]>;

/**
 * SIP PUBLISH for the local presentities, processed in the order of RFC 3903
 * §6: domain (403), event package (489), SIP-If-Match (412), Expires (423),
 * body (400/415). Every successful PUBLISH gets a new entity-tag (§4.1).
 */
export class PublishHandler {
  constructor(
    private readonly state: PresenceState,
    private readonly domains: LocalDomains,
    private readonly settings: AgentSettings,
    private readonly stats: LocalPresenceAgentStats,
  ) {}

  handle(incoming: IncomingRequest): void {
    try {
      this.process(incoming);
    } catch (error) {
      if (!isSipParseError(error)) throw error; // the UA answers 500 and reports it
      this.reject(incoming, 400, 'Bad Request');
    }
  }

  private reject(incoming: IncomingRequest, status: number, reason: string, headers?: Headers): void {
    this.stats.publishesRejected++;
    incoming.reply(status, reason, headers);
  }

  private accept(incoming: IncomingRequest, etag: string, expires: number): void {
    this.stats.publishesAccepted++;
    incoming.reply(200, 'OK', [
      ['SIP-ETag', etag],
      ['Expires', String(expires)],
    ]);
  }

  private process(incoming: IncomingRequest): void {
    const request = incoming.request;
    const target = this.domains.presentityOf(request.uri);
    if (target === undefined) {
      this.reject(incoming, 403, 'Forbidden - domain not served');
      return;
    }
    // Step 2: the event package.
    if (eventOf(request)?.package !== PRESENCE_PACKAGE) {
      this.reject(incoming, 489, 'Bad Event', [['Allow-Events', PRESENCE_PACKAGE]]);
      return;
    }
    // Step 3: SIP-If-Match must name a current publication of this presentity.
    const ifMatch = request.headers.get('sip-if-match')?.trim();
    const existing = ifMatch === undefined ? undefined : this.state.findByEtag(ifMatch, target.key);
    if (ifMatch !== undefined && existing === undefined) {
      this.reject(incoming, 412, 'Conditional Request Failed');
      return;
    }
    // Step 4: Expires within bounds.
    const expires = grantExpires(request, this.settings.minExpires, this.settings.maxPublishExpires);
    if ('status' in expires) {
      if (expires.status === 423) this.reject(incoming, 423, 'Interval Too Brief', [['Min-Expires', String(this.settings.minExpires)]]);
      else this.reject(incoming, 400, 'Bad Request - invalid Expires');
      return;
    }
    const granted = expires.granted;
    const expiresAt = this.state.now() + granted * 1000;
    const hasBody = request.body.length > 0;

    if (existing !== undefined) {
      if (granted === 0) {
        // Removal (RFC 3903 §4.5).
        this.accept(incoming, existing.etag, 0);
        this.state.remove(existing);
        return;
      }
      if (!hasBody) {
        // Refresh (RFC 3903 §4.3).
        this.state.refresh(existing, expiresAt);
        this.accept(incoming, existing.etag, granted);
        return;
      }
      const content = this.readPidf(incoming);
      if (content === undefined) return;
      // Modification (RFC 3903 §4.4); the 200 goes out before the NOTIFYs it causes.
      const etag = this.state.newEtag();
      this.accept(incoming, etag, granted);
      this.state.modify(existing, content.text, content.document, expiresAt, etag);
      return;
    }

    // Initial publication (RFC 3903 §4.2): it must carry the state.
    if (!hasBody) {
      this.reject(incoming, 400, 'Bad Request - missing body');
      return;
    }
    const content = this.readPidf(incoming);
    if (content === undefined) return;
    const etag = this.state.newEtag();
    this.accept(incoming, etag, granted);
    // An initial PUBLISH with Expires: 0 creates state that ends at once: nothing is kept.
    if (granted === 0) return;
    this.state.create(this.state.presentityFor(target.key, target.user), 'sip', content.text, content.document, expiresAt, etag);
  }

  /** Step 5: the body must be PIDF (415 otherwise) and readable (400 otherwise). */
  private readPidf(incoming: IncomingRequest): { text: string; document: PresenceDocument } | undefined {
    const request = incoming.request;
    const contentType = contentTypeOf(request);
    if (contentType === undefined) {
      this.reject(incoming, 400, 'Bad Request - missing Content-Type');
      return undefined;
    }
    if (contentType.mediaType !== PIDF_CONTENT_TYPE) {
      this.reject(incoming, 415, 'Unsupported Media Type', [['Accept', PIDF_CONTENT_TYPE]]);
      return undefined;
    }
    const body = request.body;
    let document: PresenceDocument;
    try {
      document = parsePidf(body);
    } catch (error) {
      if (!(error instanceof PidfError)) throw error;
      this.reject(incoming, 400, 'Bad Request - invalid PIDF');
      return undefined;
    }
    // toString makes a string of its own: nothing of the packet stays referenced.
    const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
    return { text, document };
  }
}
