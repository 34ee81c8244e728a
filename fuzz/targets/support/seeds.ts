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

export { hashOf } from '../../engine/hash.js';
