/**
 * Where a process's resident memory lies, from /proc/self/smaps (Linux): the
 * glibc main arena ([heap], grown with brk), the other glibc arenas (each a
 * 64 MiB-aligned anonymous reservation, HEAP_MAX_SIZE on 64-bit), the rest of
 * the anonymous mappings (V8's heap pages, its pooled pages, large mallocs,
 * thread stacks), and file-backed mappings (the node binary, libraries).
 * What RSS per subscription is made of beyond V8's heapTotal and external.
 */
import { readFileSync } from 'node:fs';

export interface SmapsSummary {
  /** kB resident, by kind of mapping. */
  brkHeapKb: number;
  mallocArenasKb: number;
  otherAnonymousKb: number;
  fileBackedKb: number;
  totalKb: number;
  /** V8's heap spaces (added by the SUT): kB committed and used in each. */
  spaces?: Record<string, { committedKb: number; usedKb: number }>;
}

const ARENA_KB = 65536;

export function smapsSummary(): SmapsSummary | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/self/smaps', 'latin1');
  } catch {
    return undefined;
  }
  const out: SmapsSummary = { brkHeapKb: 0, mallocArenasKb: 0, otherAnonymousKb: 0, fileBackedKb: 0, totalKb: 0 };
  // A mapping's header line, then its fields; glibc arenas are contiguous runs summing to 64 MiB
  // (the used part rw, the rest PROT_NONE), so runs of adjacent anonymous mappings are grouped.
  let kind: 'brkHeapKb' | 'mallocArenasKb' | 'otherAnonymousKb' | 'fileBackedKb' = 'otherAnonymousKb';
  let runStart = -1;
  let runEnd = -1;
  let runRss = 0;
  const flushRun = () => {
    if (runStart < 0) return;
    const sizeKb = (runEnd - runStart) / 1024;
    // An arena reservation is exactly 64 MiB and aligned to it.
    if (sizeKb === ARENA_KB && runStart % (ARENA_KB * 1024) === 0) out.mallocArenasKb += runRss;
    else out.otherAnonymousKb += runRss;
    runStart = -1;
    runRss = 0;
  };
  for (const line of text.split('\n')) {
    const header = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (header !== null) {
      const start = Number.parseInt(header[1]!, 16);
      const end = Number.parseInt(header[2]!, 16);
      const inode = header[3]!;
      const path = header[4]!;
      if (path === '[heap]') {
        flushRun();
        kind = 'brkHeapKb';
      } else if (inode !== '0' || path.startsWith('/')) {
        flushRun();
        kind = 'fileBackedKb';
      } else if (path === '') {
        kind = 'otherAnonymousKb';
        if (runStart >= 0 && start === runEnd && runEnd - runStart < ARENA_KB * 1024) runEnd = end;
        else {
          flushRun();
          runStart = start;
          runEnd = end;
        }
      } else {
        flushRun();
        kind = 'otherAnonymousKb';
      }
      continue;
    }
    if (line.startsWith('Rss:')) {
      const kb = Number(line.slice(4).trim().split(/\s+/)[0]);
      out.totalKb += kb;
      if (kind === 'otherAnonymousKb' && runStart >= 0) runRss += kb;
      else out[kind] += kb;
    }
  }
  flushRun();
  return out;
}
