/**
 * Every stable error code of presence-b2b, with its meaning in one line.
 *
 * A code never changes meaning once released. Adding one is one line here
 * (plus its row in README.md's Errors table, which a test checks); the union
 * of each error class is derived from this list by prefix, so the new code is
 * accepted where its family is.
 */
export const ERROR_CODES = {
  // SIP codec (SipParseError): the part of a message named could not be parsed (RFC 3261 §7, §20, §25).
  SIP_ERR_PARSE_START_LINE: 'bad Request-Line or Status-Line (element count, method, Request-URI, SIP-Version, status code)',
  SIP_ERR_PARSE_HEADER: 'a header line without colon or with a bad name, no empty line after the headers, a repeated single-valued header',
  SIP_ERR_PARSE_MISSING_HEADER: 'Via, From, To, Call-ID or CSeq missing (RFC 3261 §8.1.1)',
  SIP_ERR_PARSE_CONTENT_LENGTH: 'Content-Length not a number, repeated, larger than the octets available, or missing on a stream',
  SIP_ERR_PARSE_LIMIT: 'message size, header count or line length over its limit',
  SIP_ERR_PARSE_URI: 'a URI that does not parse (RFC 3261 §19.1)',
  SIP_ERR_PARSE_NAME_ADDR: 'a name-addr or addr-spec (From, To, Contact, Route) that does not parse',
  SIP_ERR_PARSE_VIA: 'a Via that does not parse',
  SIP_ERR_PARSE_CSEQ: 'a CSeq that does not parse, is 2**31 or more, or names another method than the request',
  SIP_ERR_PARSE_EVENT: 'an Event header that does not parse (RFC 6665 §8.2.1)',
  SIP_ERR_PARSE_SUBSCRIPTION_STATE: 'a Subscription-State header that does not parse (RFC 6665 §8.2.3)',
  SIP_ERR_PARSE_CONTENT_TYPE: 'a Content-Type that does not parse',
  SIP_ERR_PARSE_AUTH: 'a WWW-Authenticate or Proxy-Authenticate challenge that does not parse',
  SIP_ERR_PARSE_FRAMER_CLOSED: 'a stream framer fed after a framing error (the connection must be closed)',
  SIP_ERR_PARSE_SHARED_PARAMS: 'a change to the parameters of a parsed header value that has none (one shared read-only empty Map): copy them first',
  // SIP transport (SipTransportError).
  SIP_ERR_TRANSPORT_CONNECT_TIMEOUT: 'a TCP/TLS connection did not open in time',
  SIP_ERR_TRANSPORT_CLOSED: 'the connection or the transport layer closed before the message was written',
  SIP_ERR_TRANSPORT_UNAVAILABLE: 'no socket for that transport or address family',
  SIP_ERR_TRANSPORT_LIMIT: 'too many connections (sip.max_connections), a peer that does not read, or a datagram too large to send',
  SIP_ERR_TRANSPORT_SERIALIZE: 'a message that could not be serialized',
  SIP_ERR_TRANSPORT_IO: 'a socket error (the original is the cause)',
  SIP_ERR_TRANSPORT_TLS_VERIFY: "the peer's TLS certificate could not be verified (untrusted, expired, or not issued for the host): no connection",
  SIP_ERR_TRANSPORT_IDLE: 'a TCP/TLS connection closed after sip.idle_timeout without traffic',
  SIP_ERR_TRANSPORT_MESSAGE_TIMEOUT: 'a TCP/TLS peer did not send a whole message within sip.message_timeout of its first octet; its connection is closed',
  SIP_ERR_TRANSPORT_OVERLOAD: 'a request shed with 503 and Retry-After while the receive backlog is over sip.overload.backlog_limit',
  // SIP resolver (SipDnsError).
  SIP_ERR_DNS: 'nothing resolved for a target, or an unusable URI or transport (RFC 3263)',
  // SIP transactions (TransactionError): programming errors of the layer's user.
  SIP_ERR_TRANSACTION_NO_BRANCH: 'a request without a top Via carrying a z9hG4bK branch',
  SIP_ERR_TRANSACTION_DUPLICATE: 'a client transaction with this branch and method exists already',
  SIP_ERR_TRANSACTION_METHOD: 'INVITE or ACK, which this layer does not serve',
  SIP_ERR_TRANSACTION_CLOSED: 'the transaction layer is closed',
  // Subscription engine, reported in status messages (`error.code`).
  B2B_ERR_SUBSCRIBE_REJECTED: '403, 603 or 489 to SUBSCRIBE (state rejected)',
  B2B_ERR_SUBSCRIBE_FAILED: 'any other final response of 300 or more to SUBSCRIBE',
  B2B_ERR_SUBSCRIBE_TIMEOUT: 'no answer to SUBSCRIBE (Timer F, local 408)',
  B2B_ERR_TRANSPORT: 'the SUBSCRIBE could not be sent (local 503: DNS, connection refused)',
  B2B_ERR_TLS_CERTIFICATE: "the presence server's TLS certificate could not be verified (untrusted, expired, or not for that host); nothing was sent",
  B2B_ERR_AUTH_FAILED: '401/407 with no credentials for the subscriber, or credentials refused',
  B2B_ERR_AUTH_STALE: '401/407 with stale=true a third time in a row after our answers (retried with backoff)',
  B2B_ERR_UNUSABLE_DIALOG: 'a 2xx to SUBSCRIBE that cannot make a dialog: no To tag, an unusable Contact or Record-Route',
  B2B_ERR_NO_NOTIFY: '2xx but no NOTIFY within Timer N (RFC 6665 §4.1.2.4)',
  B2B_ERR_LOCAL: 'the SUBSCRIBE could not be built (e.g. no listening transport for the Contact)',
  // Thrown to the calling code, never in a status message (ThrownOnlyErrorCode below).
  B2B_ERR_INVALID_OPTION: 'an option or argument the calling code gave cannot be used (InvalidOptionError names it); thrown before anything is bound',
  B2B_ERR_CLOSED: 'a component (timer scheduler, the daemon queue hub) used after its close()',
  // PIDF reader and writer (PidfError); the reader's codes reach status messages.
  PIDF_ERR_EMPTY: 'the body holds nothing but white space',
  PIDF_ERR_ENCODING: 'the body is not UTF-8',
  PIDF_ERR_XML: 'not well-formed XML, or not namespace-well-formed',
  PIDF_ERR_DOCTYPE: 'a DOCTYPE, refused (entity expansion, external entities)',
  PIDF_ERR_NOT_PIDF: 'the root element is not the PIDF presence element',
  PIDF_ERR_LIMIT: 'size, depth or element count over its limit',
  PIDF_ERR_INVALID: 'well-formed PIDF with invalid values; the document holds what could be read',
  PIDF_ERR_CONTENT_TYPE: 'a body whose Content-Type is not PIDF',
  PIDF_ERR_ARGUMENT: 'a value the PIDF writer cannot write (priority outside 0-1, invalid date)',
  // Query Status API (QsaError).
  QSA_ERR_INVALID_ARGUMENT: 'a malformed request (empty record, unknown state, bad capacity, ...)',
  QSA_ERR_UNKNOWN_SUBSCRIPTION: 'a subscription handle that this broker did not create',
  QSA_ERR_UNKNOWN_NOTIFIER: 'a notifier registration that this broker did not create',
  QSA_ERR_QUEUE_CLOSED: 'subscribing into a closed queue',
  QSA_ERR_DUPLICATE_QUEUE: 'a queue name already in use',
  QSA_ERR_DUPLICATE_SUBSCRIPTION: 'subscribing with a given id that is already in use (restoring a stored subscription)',
  QSA_ERR_RELEASED_BODY: 'a kept last-status body read after its last holder released it (an internal fault, never expected)',
  // reginfo reader (RegInfoError, RFC 3680); reaches status messages of the reg package.
  REGINFO_ERR_EMPTY: 'the body holds nothing but white space',
  REGINFO_ERR_ENCODING: 'the body is not UTF-8',
  REGINFO_ERR_XML: 'not well-formed XML, or not namespace-well-formed',
  REGINFO_ERR_DOCTYPE: 'a DOCTYPE, refused (entity expansion, external entities)',
  REGINFO_ERR_NOT_REGINFO: 'the root element is not the reginfo element',
  REGINFO_ERR_LIMIT: 'size, depth or element count over its limit',
  REGINFO_ERR_INVALID: 'a value the document cannot do without is missing or invalid (version, state, aor, id, uri)',
  REGINFO_ERR_VERSION: 'a document refused for its version (a partial one after a gap or before any full state, or an older one)',
  REGINFO_ERR_CONTENT_TYPE: 'a reg NOTIFY body whose Content-Type is not application/reginfo+xml',
  // dialog-info reader (DialogInfoError, RFC 4235).
  DIALOGINFO_ERR_EMPTY: 'the body holds nothing but white space',
  DIALOGINFO_ERR_ENCODING: 'the body is not UTF-8',
  DIALOGINFO_ERR_XML: 'not well-formed XML, or not namespace-well-formed',
  DIALOGINFO_ERR_DOCTYPE: 'a DOCTYPE, refused (entity expansion, external entities)',
  DIALOGINFO_ERR_NOT_DIALOGINFO: 'the root element is not the dialog-info element',
  DIALOGINFO_ERR_LIMIT: 'size, depth or element count over its limit',
  DIALOGINFO_ERR_INVALID: "a value the document cannot do without is missing or invalid (version, state, a dialog's id or state)",
  DIALOGINFO_ERR_VERSION: 'a document refused for its version (the rules of the reginfo view, RFC 4235 §4.1)',
  DIALOGINFO_ERR_CONTENT_TYPE: 'a dialog NOTIFY body whose Content-Type is not application/dialog-info+xml',
  // RLMI reader and writer (RlmiError, RFC 4662).
  RLMI_ERR_EMPTY: 'the RLMI document holds nothing but white space',
  RLMI_ERR_ENCODING: 'the RLMI document is not UTF-8',
  RLMI_ERR_XML: 'not well-formed XML, or not namespace-well-formed',
  RLMI_ERR_DOCTYPE: 'a DOCTYPE, refused (entity expansion, external entities)',
  RLMI_ERR_NOT_RLMI: 'the root element is not the RLMI list, or the root part is not application/rlmi+xml',
  RLMI_ERR_LIMIT: 'size, depth or element count over its limit',
  RLMI_ERR_INVALID: "a value the document cannot do without is missing or invalid (list uri, version, fullState, a resource's uri, an instance's id or state)",
  RLMI_ERR_CONTENT_TYPE: 'a resource list body that is neither multipart/related nor application/rlmi+xml',
  RLMI_ERR_MISSING_PART: "an instance's cid names no part of the multipart/related body",
  RLMI_ERR_VERSION: 'a document refused for its version (RFC 4662 §5.2)',
  RLMI_ERR_ARGUMENT: 'a value the RLMI writer cannot write',
  // multipart reader and writer (MultipartError, RFC 2046, RFC 2387).
  MULTIPART_ERR_CONTENT_TYPE: 'the Content-Type is not a parsable multipart media type',
  MULTIPART_ERR_BOUNDARY: 'no usable boundary parameter, no delimiter line, or no close delimiter (a truncated body)',
  MULTIPART_ERR_EMPTY: 'a multipart body without any part',
  MULTIPART_ERR_HEADER: "a malformed header line in a part, or a part's Content-Type that does not parse",
  MULTIPART_ERR_ENCODING: 'a Content-Transfer-Encoding other than 7bit, 8bit or binary',
  MULTIPART_ERR_CONTENT_ID: 'two parts with the same Content-ID',
  MULTIPART_ERR_START: 'the start parameter of multipart/related names no part',
  MULTIPART_ERR_LIMIT: 'body size, part count, nesting depth or header size over its limit',
  MULTIPART_ERR_ARGUMENT: 'a value the multipart writer cannot write',
  // Subscription store (StoreError). The opening errors come before anything binds; the daemon exits with status 2.
  STORE_ERR_OPEN: 'the store file cannot be opened or created (missing directory, a directory in its place, no permission)',
  STORE_ERR_CORRUPT: 'the store file is not a SQLite database, or a damaged one',
  STORE_ERR_FOREIGN: 'a SQLite database that is not a presence-b2b store',
  STORE_ERR_NEWER_SCHEMA: 'a store written by a newer presence-b2b',
  STORE_ERR_LOCKED: 'another process holds the store file',
  STORE_ERR_IO: 'a read or write of the store failed while running; nothing of it was stored',
  STORE_ERR_INVALID: 'a record that cannot be stored (empty id, a number that is not finite)',
  STORE_ERR_DUPLICATE: 'an API subscription id that is stored already',
  STORE_ERR_CLOSED: 'the store was used after close()',
  // Cluster mode (ClusterError): shard leases in the shared PostgreSQL database.
  CLUSTER_ERR_DUPLICATE_NODE: 'another running process uses the same cluster.node_id',
  CLUSTER_ERR_IO: 'a lease or heartbeat statement failed (database unreachable or refused it); leases not renewed expire',
  CLUSTER_ERR_CLOSED: 'the shard lease manager or lease table was used after stop()',
  // Local presence agent (LocalAgentError).
  AGENT_ERR_NOT_LOCAL: 'the URI is not a sip/sips URI of a domain the agent serves',
  AGENT_ERR_INVALID_ARGUMENT: 'an in-process publish with an unusable state, or user agent sources without an upstream broker',
  AGENT_ERR_STOPPED: 'the agent was stopped',
  // Resource list server (RlsError): configuration refused (the daemon refuses the same at config time, exit 2).
  RLS_ERR_INVALID_LIST: 'a list, member or owner that is not a SIP URI, or a list defined twice',
  RLS_ERR_CYCLE: 'resource lists that contain each other through nested lists',
  RLS_ERR_TOO_LARGE: 'a resource list that expands to more than 10 000 resources',
  // HEP capture export (HepError), at start.
  HEP_ERR_ADDRESS: 'the HEP collector address does not resolve to an IP address',
  HEP_ERR_ARGUMENT: 'a HEP option out of range (port, capture id) or a packet too large for HEPv3',
  // Configuration (ConfigError): the daemon exits with status 2.
  CONFIG_ERR_INVALID: 'a key with a wrong type or value, or an unknown key',
  CONFIG_ERR_FILE: 'the configuration file (or a file it names) cannot be read',
  CONFIG_ERR_YAML: 'the configuration file is not YAML, or not a mapping at the top level',
  // Daemon start (DaemonListenError).
  DAEMON_ERR_LISTEN: 'a socket the configuration names (sip.listen, http) could not be bound: in use, not a local address, or not permitted',
  // HTTP API (ApiError), in `{"error": {"code": ...}}` answers.
  HTTP_ERR_MISSING_FIELD: 'a required request field is missing',
  HTTP_ERR_INVALID_FIELD: 'a request field has a wrong type or value',
  HTTP_ERR_UNKNOWN_FIELD: 'a request field that the API does not know',
  HTTP_ERR_BAD_REQUEST: 'the body is not JSON, or not a JSON object; a URL that does not decode',
  HTTP_ERR_BODY_TOO_LARGE: 'a request body larger than http.max_body (64 KiB by default) (413)',
  HTTP_ERR_MEDIA_TYPE: 'a body whose Content-Type is not application/json (415)',
  HTTP_ERR_METHOD_NOT_ALLOWED: 'a known path with a method it does not have (405, with Allow)',
  HTTP_ERR_UNAUTHORIZED: 'no bearer token, or a wrong one',
  HTTP_ERR_NOT_FOUND: 'no such route',
  HTTP_ERR_NO_SUBSCRIPTION: 'no subscription with that id',
  HTTP_ERR_NO_QUEUE: 'no named queue with that name',
  HTTP_ERR_NO_LOCAL_AGENT: 'the local presence agent is off',
  HTTP_ERR_PRESENTITY: 'the local presence agent refused the publication',
  HTTP_ERR_STORE: 'the store failed; the change was not made (503)',
  HTTP_ERR_TOO_MANY_SUBSCRIPTIONS: 'a new subscription past http.max_subscriptions (409)',
  HTTP_ERR_TOO_MANY_QUEUES: 'a subscription into a new named queue past http.max_queues (409)',
  HTTP_ERR_TOO_MANY_SSE_CLIENTS: 'an event stream past http.max_sse_clients (503, with Retry-After)',
  HTTP_ERR_RATE_LIMITED: 'a client over http.rate_limit (429, with Retry-After)',
  HTTP_ERR_INTERNAL: 'an unexpected failure inside the daemon (500)',
} as const satisfies Record<string, string>;

/** Every stable error code (`error.code` of every PresenceB2BError and of status messages). */
export type B2BErrorCode = keyof typeof ERROR_CODES;

/** B2B_ERR_ codes that are only ever thrown (programming and setup errors), never reported in a status message. */
export type ThrownOnlyErrorCode = 'B2B_ERR_INVALID_OPTION' | 'B2B_ERR_CLOSED';

/**
 * Codes a status message can carry in `error.code`: the engine's, and those of
 * the event packages' body readers (a new package adds its prefix here).
 */
export type StatusErrorCode = Exclude<
  Extract<
    B2BErrorCode,
    `B2B_ERR_${string}` | `PIDF_ERR_${string}` | `REGINFO_ERR_${string}` | `DIALOGINFO_ERR_${string}` | `RLMI_ERR_${string}` | `MULTIPART_ERR_${string}`
  >,
  ThrownOnlyErrorCode
>;

/** Codes of the subscription engine's failure reports (always in a status message). */
export type EngineErrorCode = Exclude<Extract<B2BErrorCode, `B2B_ERR_${string}`>, ThrownOnlyErrorCode>;

/** True when `value` is one of the registered codes. */
export function isB2BErrorCode(value: unknown): value is B2BErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}
