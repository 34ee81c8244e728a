/**
 * Byte builders for SIP test messages, in the spirit of pg-protocol's test
 * buffers: each returns the exact octets a peer would send, with sensible
 * defaults that any option overrides. Content-Length is computed from the
 * body unless `contentLength` forces a value (for negative tests); pass
 * `contentLength: null` to omit it.
 */
import { Buffer } from 'node:buffer';
import { reasonPhrase } from '../../src/sip/codec/serializer.js';

export type HeaderList = Array<readonly [string, string]>;

export interface MessageOptions {
  /** Extra headers appended after the defaults (before Content-Length). */
  headers?: HeaderList;
  body?: string | Uint8Array;
  /** Forces the Content-Length value; null omits the header. */
  contentLength?: number | string | null;
}

export const DEFAULT_PIDF = [
  '<?xml version="1.0" encoding="UTF-8"?>',
  '<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com">',
  '  <tuple id="t1"><status><basic>open</basic></status></tuple>',
  '</presence>',
  '',
].join('\n');

/** Start line + headers + Content-Length + CRLF + body. */
export function buildMessage(startLine: string, headers: HeaderList, options: MessageOptions = {}): Buffer {
  const body = options.body === undefined ? Buffer.alloc(0) : Buffer.from(options.body);
  let head = `${startLine}\r\n`;
  for (const [name, value] of headers) head += `${name}: ${value}\r\n`;
  for (const [name, value] of options.headers ?? []) head += `${name}: ${value}\r\n`;
  if (options.contentLength !== null) head += `Content-Length: ${options.contentLength ?? body.length}\r\n`;
  head += '\r\n';
  return Buffer.concat([Buffer.from(head, 'utf8'), body]);
}

export interface DialogOptions {
  /** Via transport and sent-by. */
  transport?: string;
  viaHost?: string;
  branch?: string;
  fromUri?: string;
  fromTag?: string;
  toUri?: string;
  /** null: no To tag. */
  toTag?: string | null;
  callId?: string;
  cseq?: number;
}

export interface NotifyOptions extends DialogOptions, MessageOptions {
  requestUri?: string;
  event?: string;
  subscriptionState?: string;
  contentType?: string | null;
  contact?: string;
}

/** A presence NOTIFY from a presence server to us (RFC 6665 §4.1.3, RFC 3856). */
export function buildNotify(options: NotifyOptions = {}): Buffer {
  const headers: Array<[string, string]> = [
    ['Via', `SIP/2.0/${options.transport ?? 'UDP'} ${options.viaHost ?? '192.0.2.9:5060'};branch=${options.branch ?? 'z9hG4bK-notify-1'}`],
    ['Max-Forwards', '70'],
    ['From', `<${options.fromUri ?? 'sip:alice@example.com'}>;tag=${options.fromTag ?? 'ps-tag-1'}`],
    ['To', `<${options.toUri ?? 'sip:watcher@b2bua.example.com'}>${options.toTag === null ? '' : `;tag=${options.toTag ?? 'b2b-tag-1'}`}`],
    ['Call-ID', options.callId ?? 'call-1@b2bua.example.com'],
    ['CSeq', `${options.cseq ?? 1} NOTIFY`],
    ['Contact', options.contact ?? '<sip:ps@192.0.2.9:5060>'],
    ['Event', options.event ?? 'presence'],
    ['Subscription-State', options.subscriptionState ?? 'active;expires=3600'],
  ];
  const body = options.body ?? DEFAULT_PIDF;
  if (options.contentType !== null && (body.length > 0 || options.contentType !== undefined)) {
    headers.push(['Content-Type', options.contentType ?? 'application/pidf+xml']);
  }
  return buildMessage(`NOTIFY ${options.requestUri ?? 'sip:watcher@192.0.2.5:5060'} SIP/2.0`, headers, { ...options, body });
}

export interface SubscribeOptions extends DialogOptions, MessageOptions {
  requestUri?: string;
  event?: string;
  expires?: number;
  contact?: string;
  accept?: string | null;
}

/** A presence SUBSCRIBE (RFC 6665 §4.1.2, RFC 3856 §6). */
export function buildSubscribe(options: SubscribeOptions = {}): Buffer {
  const toUri = options.toUri ?? 'sip:alice@example.com';
  const headers: Array<[string, string]> = [
    ['Via', `SIP/2.0/${options.transport ?? 'UDP'} ${options.viaHost ?? '192.0.2.5:5060'};branch=${options.branch ?? 'z9hG4bK-sub-1'};rport`],
    ['Max-Forwards', '70'],
    ['From', `<${options.fromUri ?? 'sip:watcher@b2bua.example.com'}>;tag=${options.fromTag ?? 'b2b-tag-1'}`],
    ['To', `<${toUri}>${options.toTag ? `;tag=${options.toTag}` : ''}`],
    ['Call-ID', options.callId ?? 'call-1@b2bua.example.com'],
    ['CSeq', `${options.cseq ?? 1} SUBSCRIBE`],
    ['Contact', options.contact ?? '<sip:watcher@192.0.2.5:5060>'],
    ['Event', options.event ?? 'presence'],
    ['Expires', String(options.expires ?? 3600)],
  ];
  if (options.accept !== null) headers.push(['Accept', options.accept ?? 'application/pidf+xml']);
  return buildMessage(`SUBSCRIBE ${options.requestUri ?? toUri} SIP/2.0`, headers, options);
}

export interface ResponseBuildOptions extends DialogOptions, MessageOptions {
  status?: number;
  reason?: string;
  /** CSeq method (default SUBSCRIBE). */
  method?: string;
  /** Whole Via value(s), overriding transport/viaHost/branch. */
  via?: string[];
  expires?: number | null;
  contact?: string | null;
  recordRoute?: string[];
}

/** A response as a presence server sends it (default: 200 OK to SUBSCRIBE, To tag set). */
export function buildResponse(options: ResponseBuildOptions = {}): Buffer {
  const status = options.status ?? 200;
  const vias = options.via ?? [
    `SIP/2.0/${options.transport ?? 'UDP'} ${options.viaHost ?? '192.0.2.5:5060'};branch=${options.branch ?? 'z9hG4bK-sub-1'};rport=5060;received=192.0.2.5`,
  ];
  const headers: Array<[string, string]> = vias.map((v) => ['Via', v] as [string, string]);
  for (const rr of options.recordRoute ?? []) headers.push(['Record-Route', rr]);
  headers.push(
    ['From', `<${options.fromUri ?? 'sip:watcher@b2bua.example.com'}>;tag=${options.fromTag ?? 'b2b-tag-1'}`],
    ['To', `<${options.toUri ?? 'sip:alice@example.com'}>${options.toTag === null ? '' : `;tag=${options.toTag ?? 'ps-tag-1'}`}`],
    ['Call-ID', options.callId ?? 'call-1@b2bua.example.com'],
    ['CSeq', `${options.cseq ?? 1} ${options.method ?? 'SUBSCRIBE'}`],
  );
  if (options.expires !== null && status >= 200 && status < 300) headers.push(['Expires', String(options.expires ?? 3600)]);
  if (options.contact !== null && status >= 200 && status < 300) headers.push(['Contact', options.contact ?? '<sip:ps@192.0.2.9:5060>']);
  return buildMessage(`SIP/2.0 ${status} ${options.reason ?? reasonPhrase(status)}`, headers, options);
}
