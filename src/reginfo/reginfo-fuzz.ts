import { RegInfoError } from './reginfo-error.js';
import { parseReginfo } from './reginfo-parser.js';
import { RegInfoView } from './reginfo-view.js';

/**
 * Fuzz entry: reads `data` as a reginfo body, then applies it twice to a
 * fresh RegInfoView (first document, then the same version again). Returns
 * normally when the body is accepted or refused with a RegInfoError; anything
 * else escaping (another error, a crash) is a bug and propagates.
 */
export function fuzzReginfo(data: Uint8Array): void {
  try {
    parseReginfo(data, { maxBytes: 64 * 1024 });
  } catch (error) {
    if (!(error instanceof RegInfoError)) throw error;
  }
  const view = new RegInfoView({ maxBytes: 64 * 1024 });
  view.apply(data);
  view.apply(data);
}
