import { readFileSync } from 'node:fs';

/**
 * Reading a V8 heap snapshot (`.heapsnapshot`, JSON). Its nodes and edges are
 * flat arrays of numbers, several per node or edge; which number is which is
 * told by the snapshot's own `meta` (node_fields, edge_fields), and a type is
 * an index into meta's node_types[0] / edge_types[0]. Nodes here are counted
 * by ordinal (0, 1, 2…), edges by ordinal too; the edges of node n follow those
 * of node n-1, `edge_count` of them.
 */

export interface RawHeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]]; edge_fields: string[]; edge_types: [string[], ...unknown[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** The parsed snapshot in `file` (the whole file is read: give node --max-old-space-size room for large ones). */
export function readHeapSnapshot(file: string): RawHeapSnapshot {
  return JSON.parse(readFileSync(file, 'utf8')) as RawHeapSnapshot;
}

export class HeapSnapshotLayout {
  readonly nodeCount: number;
  readonly edgeCount: number;
  readonly strings: readonly string[];
  private readonly nodes: readonly number[];
  private readonly edges: readonly number[];
  private readonly nodeWidth: number;
  private readonly edgeWidth: number;
  private readonly typeAt: number;
  private readonly nameAt: number;
  private readonly idAt: number;
  private readonly sizeAt: number;
  private readonly edgeCountAt: number;
  private readonly edgeTypeAt: number;
  private readonly edgeNameAt: number;
  private readonly edgeToAt: number;
  private readonly nodeTypes: readonly string[];
  private readonly edgeTypes: readonly string[];
  private readonly weak: number;
  private readonly shortcut: number;
  private firstEdges: Uint32Array | undefined;

  constructor(s: RawHeapSnapshot) {
    const nf = s.snapshot.meta.node_fields;
    const ef = s.snapshot.meta.edge_fields;
    this.nodes = s.nodes;
    this.edges = s.edges;
    this.strings = s.strings;
    this.nodeWidth = nf.length;
    this.edgeWidth = ef.length;
    this.typeAt = nf.indexOf('type');
    this.nameAt = nf.indexOf('name');
    this.idAt = nf.indexOf('id');
    this.sizeAt = nf.indexOf('self_size');
    this.edgeCountAt = nf.indexOf('edge_count');
    this.edgeTypeAt = ef.indexOf('type');
    this.edgeNameAt = ef.indexOf('name_or_index');
    this.edgeToAt = ef.indexOf('to_node');
    this.nodeTypes = s.snapshot.meta.node_types[0];
    this.edgeTypes = s.snapshot.meta.edge_types[0];
    this.weak = this.edgeTypes.indexOf('weak');
    this.shortcut = this.edgeTypes.indexOf('shortcut');
    this.nodeCount = s.nodes.length / this.nodeWidth;
    this.edgeCount = s.edges.length / this.edgeWidth;
  }

  /** `object`, `closure`, `string`, `array`, `native`, `hidden`, `code`…; `?` if the snapshot names none. */
  typeOf(n: number): string {
    return this.nodeTypes[this.nodes[n * this.nodeWidth + this.typeAt]!] ?? '?';
  }

  /** The constructor's name for objects, the function's for closures, the text for strings; `?` if none. */
  nameOf(n: number): string {
    return this.strings[this.nodes[n * this.nodeWidth + this.nameAt]!] ?? '?';
  }

  /** V8's id of the object: the same in every snapshot of one process. */
  idOf(n: number): number {
    return this.nodes[n * this.nodeWidth + this.idAt]!;
  }

  selfSizeOf(n: number): number {
    return this.nodes[n * this.nodeWidth + this.sizeAt]!;
  }

  /** The ordinal of node n's first edge; its edges are [firstEdge(n), firstEdge(n + 1)). */
  firstEdge(n: number): number {
    if (this.firstEdges === undefined) {
      const first = new Uint32Array(this.nodeCount + 1);
      for (let i = 0; i < this.nodeCount; i++) first[i + 1] = first[i]! + this.nodes[i * this.nodeWidth + this.edgeCountAt]!;
      this.firstEdges = first;
    }
    return this.firstEdges[n]!;
  }

  /** `context`, `element`, `property`, `internal`, `hidden`, `shortcut`, `weak`. */
  edgeTypeOf(e: number): string | undefined {
    return this.edgeTypes[this.edges[e * this.edgeWidth + this.edgeTypeAt]!];
  }

  /** Neither weak nor a shortcut: an edge that keeps its target alive. */
  isStrong(e: number): boolean {
    const t = this.edges[e * this.edgeWidth + this.edgeTypeAt]!;
    return t !== this.weak && t !== this.shortcut;
  }

  /** An index for `element` and `hidden` edges, else an index into `strings`. */
  edgeNameOrIndex(e: number): number {
    return this.edges[e * this.edgeWidth + this.edgeNameAt]!;
  }

  /** The ordinal of the node the edge points to. */
  edgeTo(e: number): number {
    return this.edges[e * this.edgeWidth + this.edgeToAt]! / this.nodeWidth;
  }
}
