import fc from 'fast-check';

/** Characters worth putting in XML text and attributes: markup, quotes, white space inside, non-ASCII, astral. */
const CHARACTERS = ['a', 'b', 'Z', '0', '9', '<', '>', '&', '"', "'", ' ', '\t', '\n', ':', '@', ';', '=', '.', '/', 'é', '€', '\u{1F600}'];

/**
 * Non-empty text without leading or trailing white space (the readers trim
 * the values they read), which an XML writer can carry unchanged.
 */
export function xmlSafeText(maxLength = 12): fc.Arbitrary<string> {
  return fc
    .string({ unit: fc.constantFrom(...CHARACTERS), minLength: 1, maxLength })
    .filter((text) => text.trim() === text && text.length > 0);
}

/** One random change to a byte string. */
export interface Mutation {
  kind: 'flip' | 'insert' | 'delete' | 'truncate' | 'duplicate';
  position: number;
  bytes: Uint8Array;
}

export function arbitraryMutation(): fc.Arbitrary<Mutation[]> {
  return fc.array(
    fc.record({
      kind: fc.constantFrom('flip' as const, 'insert' as const, 'delete' as const, 'truncate' as const, 'duplicate' as const),
      position: fc.nat(),
      bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
    }),
    { minLength: 1, maxLength: 4 },
  );
}

/** Applies the mutations in order; positions wrap around the current length. */
export function mutate(input: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let data = Buffer.from(input);
  for (const mutation of mutations) {
    const at = data.length === 0 ? 0 : mutation.position % (data.length + 1);
    switch (mutation.kind) {
      case 'flip':
        if (data.length > 0) data[at % data.length] = mutation.bytes[0]!;
        break;
      case 'insert':
        data = Buffer.concat([data.subarray(0, at), mutation.bytes, data.subarray(at)]);
        break;
      case 'delete':
        data = Buffer.concat([data.subarray(0, at), data.subarray(at + mutation.bytes.length)]);
        break;
      case 'truncate':
        data = data.subarray(0, at);
        break;
      case 'duplicate':
        data = Buffer.concat([data.subarray(0, at), data.subarray(at, at + 40), data.subarray(at)]);
        break;
    }
  }
  return data;
}
