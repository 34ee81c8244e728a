/** FNV-1a over the octets: a cheap deterministic hash of an input (chunk sizes, limits, identity). */
export function hashOf(input: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < input.length; i++) {
    h ^= input[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Identifies an input well enough to skip it (length and hash). */
export function inputKey(input: Uint8Array): string {
  return `${input.length}:${hashOf(input).toString(16)}`;
}
