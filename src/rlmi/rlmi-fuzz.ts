import { MultipartError } from '../multipart/multipart-error.js';
import { readResourceListBody } from './resource-list-body.js';
import { ResourceListView } from './resource-list-view.js';
import { RlmiError } from './rlmi-error.js';
import { parseRlmi } from './rlmi-parser.js';

const latin1 = new TextDecoder('latin1');

/**
 * Fuzz entry for the RLMI document alone: reads `data` as application/rlmi+xml.
 * Returns normally when it is accepted or refused with an RlmiError; anything
 * else escaping is a bug and propagates.
 */
export function fuzzRlmi(data: Uint8Array): void {
  try {
    parseRlmi(data, { maxBytes: 64 * 1024 });
  } catch (error) {
    if (!(error instanceof RlmiError)) throw error;
  }
}

/**
 * Fuzz entry for a whole resource list NOTIFY body: the first line of `data`
 * (up to the first LF) is the Content-Type field value, the rest the body. It
 * is read, then applied twice to a fresh ResourceListView. Returns normally
 * when accepted or refused with an RlmiError or a MultipartError; anything
 * else escaping is a bug and propagates.
 */
export function fuzzResourceList(data: Uint8Array): void {
  const newline = data.indexOf(0x0a);
  const contentType = latin1.decode(newline === -1 ? data : data.subarray(0, newline));
  const body = newline === -1 ? new Uint8Array(0) : data.subarray(newline + 1);
  const limits = { maxBytes: 64 * 1024, maxParts: 200 };
  try {
    readResourceListBody(contentType, body, limits);
  } catch (error) {
    if (!(error instanceof RlmiError || error instanceof MultipartError)) throw error;
  }
  const view = new ResourceListView(limits);
  view.apply(contentType, body);
  view.apply(contentType, body);
  view.snapshot();
}
