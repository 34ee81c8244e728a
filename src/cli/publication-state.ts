import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** One remembered publication: its entity-tag and when it expires at the server (epoch ms). */
export interface RememberedPublication {
  etag: string;
  expiresAt: number;
}

/**
 * Where `presence-b2b publish` keeps the entity-tags of its publications
 * between runs: `$XDG_STATE_HOME/presence-b2b/publications.json`, by
 * default `~/.local/state/presence-b2b/publications.json` (XDG Base
 * Directory: state that should persist between runs but is not worth a backup).
 */
export function defaultPublicationStatePath(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  const state = env.XDG_STATE_HOME;
  const base = state?.startsWith('/') ? state : join(home, '.local', 'state');
  return join(base, 'presence-b2b', 'publications.json');
}

/**
 * Identifies one publication: the presentity, the publisher (From) and where
 * the PUBLISH goes (a proxy URI, or `dns` for RFC 3263 on the record). Two
 * runs with the same key modify the same publication (RFC 3903 §4.4).
 */
export function publicationKey(record: string, from: string, target: string | undefined): string {
  return `${record} from ${from} via ${target ?? 'dns'}`;
}

/**
 * The entity-tags of the CLI's publications, in a small JSON file. RFC 3903
 * §4.4: a PUBLISH with SIP-If-Match and a body replaces the state of the
 * publication that tag names, so the second `publish` of a record replaces
 * the first instead of adding a publication beside it. Bad input never stops
 * a publish: a missing or unreadable file is an empty one, expired entries
 * are forgotten, and the file is replaced atomically (written beside, then
 * renamed) so that a reader never sees half of it.
 */
export class PublicationStateFile {
  private readonly entries = new Map<string, RememberedPublication>();

  private constructor(readonly path: string) {}

  /** Reads `path` (nothing there: empty). Never throws. */
  static read(path: string): PublicationStateFile {
    const state = new PublicationStateFile(path);
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(path, 'utf8'));
    } catch {
      return state;
    }
    const publications = typeof parsed === 'object' && parsed !== null ? (parsed as { publications?: unknown }).publications : undefined;
    if (typeof publications !== 'object' || publications === null) return state;
    for (const [key, value] of Object.entries(publications)) {
      if (typeof value !== 'object' || value === null) continue;
      const { etag, expiresAt } = value as { etag?: unknown; expiresAt?: unknown };
      if (typeof etag === 'string' && etag !== '' && typeof expiresAt === 'number' && Number.isFinite(expiresAt)) state.entries.set(key, { etag, expiresAt });
    }
    return state;
  }

  /** The entity-tag of a publication that has not expired at `nowMs`. */
  etagOf(key: string, nowMs: number): string | undefined {
    const entry = this.entries.get(key);
    return entry !== undefined && entry.expiresAt > nowMs ? entry.etag : undefined;
  }

  remember(key: string, etag: string, expiresAt: number): void {
    this.entries.set(key, { etag, expiresAt });
  }

  forget(key: string): void {
    this.entries.delete(key);
  }

  /** Writes the entries still alive at `nowMs`. Throws on an I/O error (the caller says so and goes on). */
  save(nowMs: number): void {
    const publications: Record<string, RememberedPublication> = {};
    for (const [key, entry] of this.entries) if (entry.expiresAt > nowMs) publications[key] = entry;
    mkdirSync(dirname(this.path), { recursive: true });
    const temporary = `${this.path}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify({ publications }, null, 2)}\n`, { mode: 0o600 });
    renameSync(temporary, this.path);
  }
}
