import { accessSync, closeSync, constants, openSync, readSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { StoreError } from './store-error.js';

/** The first 16 bytes of every SQLite 3 database file (SQLite file format §1.3). */
const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
/** The database header is 100 bytes; a shorter non-empty file cannot be a database. */
const HEADER_SIZE = 100;

function reasonOf(error: unknown): string {
  if (error instanceof Error && 'code' in error && typeof error.code === 'string') return error.code;
  return error instanceof Error ? error.message : String(error);
}

function printable(bytes: Buffer): string {
  return JSON.stringify(bytes.toString('latin1').replace(/[^\x20-\x7e]/g, '.'));
}

/**
 * Checks, with plain file-system calls and before SQLite touches it, that
 * `file` can be a store: an existing file must be a readable and writable
 * SQLite database (by its header), a new one must be creatable in an
 * existing, writable directory. Throws STORE_ERR_OPEN or STORE_ERR_CORRUPT
 * naming the file; never writes. Returns whether the file exists (with data).
 */
export function checkStoreFile(file: string): { exists: boolean } {
  let stat: ReturnType<typeof statSync> | undefined;
  try {
    stat = statSync(file);
  } catch (error) {
    const reason = reasonOf(error);
    // ENOTDIR: a path component is a file; reported below as such.
    if (reason !== 'ENOENT' && reason !== 'ENOTDIR') throw new StoreError('STORE_ERR_OPEN', `store ${file}: cannot be read (${reason})`, { cause: error, file });
  }
  if (stat === undefined) {
    const dir = dirname(file);
    let dirStat: ReturnType<typeof statSync>;
    try {
      dirStat = statSync(dir);
    } catch (error) {
      const reason = reasonOf(error);
      const why = reason === 'ENOENT' ? `directory ${dir} does not exist` : reason === 'ENOTDIR' ? `${dir} is not a directory` : `directory ${dir}: ${reason}`;
      throw new StoreError('STORE_ERR_OPEN', `store ${file}: cannot be created (${why})`, { cause: error, file });
    }
    if (!dirStat.isDirectory()) throw new StoreError('STORE_ERR_OPEN', `store ${file}: cannot be created (${dir} is not a directory)`, { file });
    try {
      accessSync(dir, constants.W_OK | constants.X_OK);
    } catch (error) {
      throw new StoreError('STORE_ERR_OPEN', `store ${file}: cannot be created (directory ${dir} is not writable: ${reasonOf(error)})`, { cause: error, file });
    }
    return { exists: false };
  }
  if (stat.isDirectory()) throw new StoreError('STORE_ERR_OPEN', `store ${file}: is a directory, not a file`, { file });
  if (!stat.isFile()) throw new StoreError('STORE_ERR_OPEN', `store ${file}: is not a regular file`, { file });
  try {
    accessSync(file, constants.R_OK | constants.W_OK);
  } catch (error) {
    throw new StoreError('STORE_ERR_OPEN', `store ${file}: cannot be opened for reading and writing (${reasonOf(error)})`, { cause: error, file });
  }
  // An empty file is a database with nothing in it yet (SQLite treats it so).
  if (stat.size === 0) return { exists: false };
  const header = Buffer.alloc(HEADER_SIZE);
  let read = 0;
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    read = readSync(fd, header, 0, HEADER_SIZE, 0);
  } catch (error) {
    throw new StoreError('STORE_ERR_OPEN', `store ${file}: cannot be read (${reasonOf(error)})`, { cause: error, file });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  if (read < HEADER_SIZE || !header.subarray(0, SQLITE_MAGIC.length).equals(SQLITE_MAGIC)) {
    const what = read < HEADER_SIZE ? `only ${read} bytes long` : `it starts with ${printable(header.subarray(0, 16))}`;
    throw new StoreError('STORE_ERR_CORRUPT', `store ${file}: not a SQLite database (${what}); left untouched`, { file });
  }
  return { exists: true };
}
