import { headerKey, LIST_HEADERS } from './header-names.js';

/** One header line as received or as it will be sent. */
export interface HeaderField {
  /** The name as written on the wire (original case, possibly compact). */
  readonly name: string;
  /** Lookup key: lower-case long form (`v` → `via`). */
  readonly key: string;
  /** The value with surrounding whitespace trimmed and line folding unfolded. */
  value: string;
}

/** Set by SipHeaders.fromParsed for the constructor it calls: the parser's fields, packed. */
let adopting: string[] | undefined;

/**
 * The ordered header fields of a SIP message. Lookups accept any case and
 * compact forms (`get('v')`, `get('VIA')`, `get('via')` are the same).
 * Values are kept raw; typed accessors (via.ts, …) parse them.
 *
 * A parsed message's fields are kept packed, three strings per line (name,
 * key, value) in one exact-size array, until something needs them as
 * HeaderField objects (iteration, `at`, any change but `setValueAt`): the
 * lookups and the index accessors read the packed form, so a message that is
 * only read (a NOTIFY, answered and queued) never builds an object per header
 * line (issue 11: ≈ 0.5 KB per NOTIFY). Both forms give the same answers.
 */
export class SipHeaders implements Iterable<HeaderField> {
  /** The fields as objects; undefined while they are packed. */
  private fields: HeaderField[] | undefined;
  /** name, key, value of each field in order (3 entries per field); undefined once unpacked. */
  private packed: string[] | undefined;

  constructor(init?: Iterable<readonly [string, string]>) {
    if (adopting !== undefined) {
      this.fields = undefined;
      this.packed = adopting;
      adopting = undefined;
      return;
    }
    this.fields = [];
    this.packed = undefined;
    if (init) for (const [name, value] of init) this.append(name, value);
  }

  /**
   * @internal The parser's fields: `packed` holds name, key (headerKey(name)), value
   * of each field in order; the array is taken over, not copied.
   */
  static fromParsed(packed: string[]): SipHeaders {
    adopting = packed;
    return new SipHeaders();
  }

  /** The fields as objects, unpacked on first need (and kept so: changes apply to them). */
  private unpacked(): HeaderField[] {
    const fields = this.fields;
    if (fields !== undefined) return fields;
    const packed = this.packed!;
    const out: HeaderField[] = [];
    for (let i = 0; i < packed.length; i += 3) out.push({ name: packed[i]!, key: packed[i + 1]!, value: packed[i + 2]! });
    this.fields = out;
    this.packed = undefined;
    return out;
  }

  /** Number of header lines. */
  get size(): number {
    const packed = this.packed;
    return packed !== undefined ? packed.length / 3 : this.fields!.length;
  }

  /** The field at `index` (0 = the first line), or undefined. */
  at(index: number): HeaderField | undefined {
    return this.unpacked()[index];
  }

  /** The name (as written) of the field at `index`, or undefined: no object made (see the class comment). */
  nameAt(index: number): string | undefined {
    const packed = this.packed;
    return packed !== undefined ? packed[index * 3] : this.fields![index]?.name;
  }

  /** The lookup key of the field at `index`, or undefined: no object made. */
  keyAt(index: number): string | undefined {
    const packed = this.packed;
    return packed !== undefined ? packed[index * 3 + 1] : this.fields![index]?.key;
  }

  /** The value of the field at `index`, or undefined: no object made. */
  valueAt(index: number): string | undefined {
    const packed = this.packed;
    return packed !== undefined ? packed[index * 3 + 2] : this.fields![index]?.value;
  }

  /** Replaces the value of the field at `index` (which must exist), in either form. */
  setValueAt(index: number, value: string): void {
    const packed = this.packed;
    if (packed !== undefined) packed[index * 3 + 2] = value;
    else this.fields![index]!.value = value;
  }

  /** The value of the first field with this name, or undefined. */
  get(name: string): string | undefined {
    return this.getByKey(headerKey(name));
  }

  /**
   * `get` for a caller that already holds the lookup key (a lower-case long
   * name such as 'via'): skips headerKey() on the accessors' hot path.
   */
  getByKey(key: string): string | undefined {
    const packed = this.packed;
    if (packed !== undefined) {
      for (let i = 1; i < packed.length; i += 3) if (packed[i] === key) return packed[i + 1];
      return undefined;
    }
    const fields = this.fields!;
    for (let i = 0; i < fields.length; i++) if (fields[i]!.key === key) return fields[i]!.value;
    return undefined;
  }

  /**
   * The value when exactly one field has this lookup key (a lower-case long
   * name), else undefined: lets a caller recognise a line it has seen before
   * without the array of `getAll`.
   */
  getSingleByKey(key: string): string | undefined {
    let value: string | undefined;
    const count = this.size;
    for (let i = 0; i < count; i++) {
      if (this.keyAt(i) !== key) continue;
      if (value !== undefined) return undefined;
      value = this.valueAt(i);
    }
    return value;
  }

  /** The value of every field with this name, one entry per header line, in order. */
  getAll(name: string): string[] {
    const key = headerKey(name);
    const out: string[] = [];
    const count = this.size;
    for (let i = 0; i < count; i++) if (this.keyAt(i) === key) out.push(this.valueAt(i)!);
    return out;
  }

  /**
   * Every element of a list header (Via, Route, Contact, Allow, Supported, …),
   * across all its lines, split at commas outside quoted strings and <…>
   * (RFC 3261 §7.3.1). For a non-list header this is `getAll`.
   */
  values(name: string): string[] {
    const key = headerKey(name);
    const lines = this.getAll(key);
    if (!LIST_HEADERS.has(key)) return lines;
    const out: string[] = [];
    for (const line of lines) splitList(line, out);
    return out;
  }

  has(name: string): boolean {
    return this.getByKey(headerKey(name)) !== undefined;
  }

  append(name: string, value: string): this {
    this.unpacked().push({ name, key: headerKey(name), value });
    return this;
  }

  /**
   * Appends a field whose lookup key the caller already computed with
   * headerKey(). Not for general use.
   */
  appendWithKey(name: string, key: string, value: string): void {
    this.unpacked().push({ name, key, value });
  }

  /** Puts a field at the top (e.g. our Via on a request we send). */
  prepend(name: string, value: string): this {
    this.unpacked().unshift({ name, key: headerKey(name), value });
    return this;
  }

  /** Replaces every field with this name by one field, in place of the first (or at the end). */
  set(name: string, value: string): this {
    const key = headerKey(name);
    const fields = this.unpacked();
    const index = fields.findIndex((f) => f.key === key);
    if (index < 0) return this.append(name, value);
    fields[index] = { name, key, value };
    for (let i = fields.length - 1; i > index; i--) if (fields[i]!.key === key) fields.splice(i, 1);
    return this;
  }

  /** Removes every field with this name; returns how many were removed. */
  delete(name: string): number {
    const key = headerKey(name);
    const fields = this.unpacked();
    let removed = 0;
    for (let i = fields.length - 1; i >= 0; i--) {
      if (fields[i]!.key === key) {
        fields.splice(i, 1);
        removed++;
      }
    }
    return removed;
  }

  /** Removes only the first field with this name (the top Via of a response we forward). */
  deleteFirst(name: string): boolean {
    const key = headerKey(name);
    const fields = this.unpacked();
    const index = fields.findIndex((f) => f.key === key);
    if (index < 0) return false;
    fields.splice(index, 1);
    return true;
  }

  clone(): SipHeaders {
    const copy = new SipHeaders();
    const fields = copy.fields!;
    const count = this.size;
    for (let i = 0; i < count; i++) fields.push({ name: this.nameAt(i)!, key: this.keyAt(i)!, value: this.valueAt(i)! });
    return copy;
  }

  [Symbol.iterator](): Iterator<HeaderField> {
    return this.unpacked()[Symbol.iterator]();
  }
}

/** Splits one list-header value at top-level commas; pushes trimmed, non-empty elements. */
export function splitList(value: string, out: string[]): void {
  let start = 0;
  let inQuotes = false;
  let inAngle = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (inQuotes) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inQuotes = false;
    } else if (c === 0x22) inQuotes = true;
    else if (c === 0x3c /* < */) inAngle = true;
    else if (c === 0x3e /* > */) inAngle = false;
    else if (c === 0x2c /* , */ && !inAngle) {
      const element = value.slice(start, i).trim();
      if (element) out.push(element);
      start = i + 1;
    }
  }
  const last = value.slice(start).trim();
  if (last) out.push(last);
}
