/**
 * Structural equality of plain data (what the body parsers return): numbers,
 * strings, booleans, arrays, byte arrays and plain objects. A key holding
 * `undefined` counts as absent. Used to tell a changed entry from one that a
 * notifier merely sent again.
 */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!(Array.isArray(a) && Array.isArray(b)) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameValue(a[i], b[i])) return false;
    return true;
  }
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  for (const key in left) {
    if (Object.hasOwn(left, key) && !sameValue(left[key], right[key])) return false;
  }
  for (const key in right) {
    if (Object.hasOwn(right, key) && left[key] === undefined && right[key] !== undefined) return false;
  }
  return true;
}
