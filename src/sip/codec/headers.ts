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

/**
 * The ordered header fields of a SIP message. Lookups accept any case and
 * compact forms (`get('v')`, `get('VIA')`, `get('via')` are the same).
 * Values are kept raw; typed accessors (via.ts, cseq.ts, …) parse them.
 */
export class SipHeaders implements Iterable<HeaderField> {
  private readonly fields: HeaderField[];

  constructor(init?: Iterable<readonly [string, string]>) {
    this.fields = [];
    if (init) for (const [name, value] of init) this.append(name, value);
  }

  /** Number of header lines. */
  get size(): number {
    return this.fields.length;
  }

  /** The field at `index` (0 = the first line), or undefined: a walk by index makes no iterator object (issue 11). */
  at(index: number): HeaderField | undefined {
    return this.fields[index];
  }

  /** The value of the first field with this name, or undefined. */
  get(name: string): string | undefined {
    const key = headerKey(name);
    for (const f of this.fields) if (f.key === key) return f.value;
    return undefined;
  }

  /**
   * `get` for a caller that already holds the lookup key (a lower-case long
   * name such as 'via'): skips headerKey() on the accessors' hot path.
   */
  getByKey(key: string): string | undefined {
    const fields = this.fields;
    for (let i = 0; i < fields.length; i++) if (fields[i]!.key === key) return fields[i]!.value;
    return undefined;
  }

  /**
   * The value when exactly one field has this lookup key (a lower-case long
   * name), else undefined: lets a caller recognise a line it has seen before
   * without the array of `getAll`.
   */
  getSingleByKey(key: string): string | undefined {
    const fields = this.fields;
    let value: string | undefined;
    for (let i = 0; i < fields.length; i++) {
      if (fields[i]!.key !== key) continue;
      if (value !== undefined) return undefined;
      value = fields[i]!.value;
    }
    return value;
  }

  /** The value of every field with this name, one entry per header line, in order. */
  getAll(name: string): string[] {
    const key = headerKey(name);
    const out: string[] = [];
    for (const f of this.fields) if (f.key === key) out.push(f.value);
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
    const key = headerKey(name);
    return this.fields.some((f) => f.key === key);
  }

  append(name: string, value: string): this {
    this.fields.push({ name, key: headerKey(name), value });
    return this;
  }

  /**
   * Appends a field whose lookup key the caller already computed with
   * headerKey() (the parser's hot path). Not for general use.
   */
  appendWithKey(name: string, key: string, value: string): void {
    this.fields.push({ name, key, value });
  }

  /** Puts a field at the top (e.g. our Via on a request we send). */
  prepend(name: string, value: string): this {
    this.fields.unshift({ name, key: headerKey(name), value });
    return this;
  }

  /** Replaces every field with this name by one field, in place of the first (or at the end). */
  set(name: string, value: string): this {
    const key = headerKey(name);
    const index = this.fields.findIndex((f) => f.key === key);
    if (index < 0) return this.append(name, value);
    this.fields[index] = { name, key, value };
    for (let i = this.fields.length - 1; i > index; i--) if (this.fields[i]!.key === key) this.fields.splice(i, 1);
    return this;
  }

  /** Removes every field with this name; returns how many were removed. */
  delete(name: string): number {
    const key = headerKey(name);
    let removed = 0;
    for (let i = this.fields.length - 1; i >= 0; i--) {
      if (this.fields[i]!.key === key) {
        this.fields.splice(i, 1);
        removed++;
      }
    }
    return removed;
  }

  /** Removes only the first field with this name (the top Via of a response we forward). */
  deleteFirst(name: string): boolean {
    const key = headerKey(name);
    const index = this.fields.findIndex((f) => f.key === key);
    if (index < 0) return false;
    this.fields.splice(index, 1);
    return true;
  }

  clone(): SipHeaders {
    const copy = new SipHeaders();
    for (const f of this.fields) copy.fields.push({ name: f.name, key: f.key, value: f.value });
    return copy;
  }

  [Symbol.iterator](): Iterator<HeaderField> {
    return this.fields[Symbol.iterator]();
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
