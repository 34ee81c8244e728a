import type { Random } from '../../util/random.js';
import { headerKey } from '../codec/header-names.js';
import { createResponse, toHeader } from '../codec/index.js';
import type { SipRequest, SipResponse } from '../codec/message.js';
import type { NonInviteServerTransaction } from '../transaction/server-transaction.js';
import type { IncomingRequest } from '../transaction/types.js';
import type { ReceivedFrom } from '../transport/types.js';

/** RFC 3261 §19.3: at least 32 random bits; 12 of [0-9a-z] give about 62. */
const TO_TAG_LENGTH = 12;

/** No extra header fields: shared, never written to. */
const NO_HEADERS: ReadonlyArray<readonly [string, string]> = Object.freeze([]);

/** True when `headers` has a field whose lookup key (lower-case long name) is `key`. */
function hasHeader(headers: ReadonlyArray<readonly [string, string]>, key: string): boolean {
  for (let i = 0; i < headers.length; i++) if (headerKey(headers[i]![0]) === key) return true;
  return false;
}

/** A received request and the server transaction that answers it. */
export class ServerIncomingRequest implements IncomingRequest {
  private localTag: string | undefined;
  private requestHadToTag: boolean | undefined;

  constructor(
    readonly request: SipRequest,
    readonly source: ReceivedFrom,
    private readonly transaction: NonInviteServerTransaction,
    private readonly random: Random,
    private readonly serverHeader: string | undefined,
  ) {}

  /** True once a final response went out (later ones are discarded by the transaction). */
  get finalSent(): boolean {
    return this.transaction.finalSent;
  }

  respond(response: SipResponse): void {
    this.transaction.respond(response);
  }

  /**
   * RFC 3261 §8.2.6: builds the response from the request. Every response but a
   * 100 gets a To tag when the request had none (§8.2.6.2), the same one each time;
   * 101–299 responses copy Record-Route unless `extraHeaders` has one (§12.1.1).
   */
  reply(status: number, reason?: string, extraHeaders?: ReadonlyArray<readonly [string, string]>, body?: { contentType: string; body: Uint8Array | string }): void {
    this.answer(status, reason, extraHeaders, body, false);
  }

  /** RFC 3261 §8.2.7: a final without a body, and no record of it kept for Timer J (IncomingRequest.replyStatelessly). */
  replyStatelessly(status: number, reason?: string, extraHeaders?: ReadonlyArray<readonly [string, string]>): void {
    this.answer(status, reason, extraHeaders, undefined, true);
  }

  /** `reply`, and with `stateless` the transaction keeps nothing once a final is sent (NonInviteServerTransaction.respondBodyless). */
  private answer(
    status: number,
    reason: string | undefined,
    extraHeaders: ReadonlyArray<readonly [string, string]> | undefined,
    body: { contentType: string; body: Uint8Array | string } | undefined,
    stateless: boolean,
  ): void {
    // No copy, array, iterator or closure per response when there is nothing to add (every 200 to a NOTIFY, issue 11).
    let headers: Array<readonly [string, string]> | undefined = extraHeaders === undefined ? undefined : extraHeaders.slice();
    if (status > 100 && status < 300 && (headers === undefined || !hasHeader(headers, 'record-route'))) {
      // RFC 3261 §12.1.1: a response that may establish a dialog (a NOTIFY or
      // SUBSCRIBE 2xx) echoes the request's Record-Route values, in order.
      const fields = this.request.headers;
      if (fields.getByKey('record-route') !== undefined) {
        headers ??= [];
        for (let i = 0; i < fields.size; i++) if (fields.keyAt(i) === 'record-route') headers.push(['Record-Route', fields.valueAt(i)!]);
      }
    }
    if (this.serverHeader && (headers === undefined || !hasHeader(headers, 'server'))) {
      headers ??= [];
      headers.push(['Server', this.serverHeader]);
    }
    if (body === undefined) {
      // Serialized straight from the request (the same octets as createResponse + serializeSipMessage).
      this.transaction.respondBodyless(status, reason, this.toTagFor(status), headers ?? NO_HEADERS, stateless);
      return;
    }
    const response = createResponse(this.request, status, reason, {
      toTag: this.toTagFor(status),
      headers: headers ?? NO_HEADERS,
      body: body?.body,
      contentType: body?.contentType,
    });
    this.respond(response);
  }

  private toTagFor(status: number): string | undefined {
    if (status <= 100) return undefined;
    if (this.requestHadToTag === undefined) this.requestHadToTag = toHeader(this.request).tag !== undefined;
    if (this.requestHadToTag) return undefined;
    this.localTag ??= this.random.token(TO_TAG_LENGTH);
    return this.localTag;
  }
}
