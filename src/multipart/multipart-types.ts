/** One header field of a body part: name as written, value unfolded and trimmed. */
export interface MimeHeader {
  name: string;
  value: string;
}

/** One body part (RFC 2046 §5.1.1). */
export interface MimePart {
  /** Every header field, in order (bytes read as Latin-1: header fields are ASCII). */
  headers: MimeHeader[];
  /** The Content-Type field value as written; undefined when the part has none. */
  contentType?: string;
  /**
   * `type/subtype`, lower-cased; `text/plain` when the part has no
   * Content-Type (RFC 2046 §5.1: the default).
   */
  mediaType: string;
  /** Content-Type parameters: names lower-cased, values unquoted. */
  params: ReadonlyMap<string, string>;
  /** The Content-ID without its angle brackets (RFC 2045 §7, RFC 2392). */
  contentId?: string;
  /** Content-Transfer-Encoding, lower-cased: only 7bit, 8bit and binary are accepted. */
  contentTransferEncoding?: string;
  /** The part's body. A view into the bytes given to parseMultipart: copy it to keep it beyond them. */
  body: Uint8Array;
  /** The nested multipart, when this part is `multipart/*` and nested parsing was asked for. */
  multipart?: MultipartBody;
}

/** A parsed multipart body (RFC 2046 §5.1, RFC 2387 for multipart/related). */
export interface MultipartBody {
  /** `multipart/subtype`, lower-cased. */
  mediaType: string;
  /** Content-Type parameters: names lower-cased, values unquoted (`boundary`, `type`, `start`, …). */
  params: ReadonlyMap<string, string>;
  boundary: string;
  /** What came before the first delimiter (to be ignored, RFC 2046 §5.1.1). */
  preamble: Uint8Array;
  /** What came after the close delimiter line (to be ignored). */
  epilogue: Uint8Array;
  parts: MimePart[];
}
