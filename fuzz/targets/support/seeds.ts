/** Seed inputs read from the test fixtures (RFC 4475 torture messages, captured peer traffic, PIDF bodies). */
import { fixtureFiles, fixturePath } from '../../engine/paths.js';

export function rfc4475Messages(): Uint8Array[] {
  return fixtureFiles(fixturePath('rfc4475'), (name) => name.endsWith('.dat')).map((f) => f.bytes);
}

export function capturedMessages(): Uint8Array[] {
  return fixtureFiles(fixturePath('captures'), (name) => name.endsWith('.sip')).map((f) => f.bytes);
}

export function pidfDocuments(): Uint8Array[] {
  return fixtureFiles(fixturePath('pidf'), (name) => name.endsWith('.xml')).map((f) => f.bytes);
}

/** FNV-1a over the octets: a deterministic seed derived from an input (chunk sizes, limits). */
export function hashOf(input: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < input.length; i++) {
    h ^= input[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
