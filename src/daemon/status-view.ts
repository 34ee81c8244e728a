import type { StatusMessage } from '../qsa/index.js';
import { dialogInfoOf } from '../dialoginfo/index.js';
import { presenceOf } from '../presence/index.js';
import { regInfoOf } from '../reginfo/index.js';
import type { StatusView } from '../http/api-types.js';

const utf8 = new TextDecoder('utf-8');

/** A status message as JSON: the body decoded as UTF-8 text, the parsed document under the package's name, times in ISO 8601. */
export function statusView(message: StatusMessage): StatusView {
  const view: StatusView = {
    sequence: message.sequence,
    timestamp: new Date(message.timestamp).toISOString(),
    subscriptionId: message.subscriptionId,
    record: message.record,
    subscriber: message.subscriber,
    package: message.package,
    state: message.state,
  };
  if (message.list !== undefined) view.list = message.list;
  if (message.reason !== undefined) view.reason = message.reason;
  if (message.retryAfter !== undefined) view.retryAfter = message.retryAfter;
  if (message.expires !== undefined) view.expires = message.expires;
  if (message.contentType !== undefined) view.contentType = message.contentType;
  if (message.body !== undefined) view.body = utf8.decode(message.body);
  // The parsed document under the package's name.
  const presence = presenceOf(message);
  if (presence !== undefined) view.presence = presence;
  const reg = regInfoOf(message);
  if (reg !== undefined) view.reg = reg;
  const dialog = dialogInfoOf(message);
  if (dialog !== undefined) view.dialog = dialog;
  if (message.error !== undefined) view.error = { code: message.error.code, message: message.error.message };
  return view;
}

/**
 * The basic status of the first tuple that has one (composers put the newest
 * publication first) and that tuple's first note, else the first
 * presence-level or person note: what a person wants to read in a log line.
 */
export function presenceSummary(message: StatusMessage): { basic?: string; note?: string } {
  const doc = presenceOf(message);
  if (doc === undefined) return {};
  const out: { basic?: string; note?: string } = {};
  const tuple = doc.tuples.find((t) => t.basic !== undefined) ?? doc.tuples[0];
  if (tuple?.basic !== undefined) out.basic = tuple.basic;
  const note = tuple?.notes[0] ?? doc.notes[0] ?? doc.persons.find((p) => p.notes.length > 0)?.notes[0];
  if (note !== undefined) out.note = note.text;
  return out;
}
