// Where each value of a parsed YAML document sits, by YAML path, so every problem can name a line and column.
import { type Alias, isAlias, isMap, isScalar, isSeq, type Scalar } from 'yaml';

export type PathSegment = string | number;

/** `['slos', 2, 'objective']` -> `slos[2].objective`; keys that are not plain names are quoted. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_][\w-]*$/.test(String(segment)))
      out += out === '' ? String(segment) : `.${String(segment)}`;
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out;
}

type Span = readonly [start: number, end: number];

interface Entry {
  path: PathSegment[];
  key: Span | undefined;
  value: Span | undefined;
}

export class DocumentIndex {
  private readonly entries = new Map<string, Entry>();
  /** Every string scalar, in document order: the places `${VAR}` may appear. */
  readonly strings: Array<{ node: Scalar; path: PathSegment[] }> = [];
  readonly aliases: Array<{ node: Alias; path: PathSegment[] }> = [];
  /** Mapping keys written as a list, a mapping, an alias or binary data (`[a]: 1`, `*x : 1`), which no section has. */
  readonly collectionKeys: Array<{ node: unknown; path: PathSegment[] }> = [];

  constructor(contents: unknown) {
    this.walk(contents, [], undefined);
  }

  /** Offset of the value at `path`; for a missing key, of the nearest ancestor's key (where it should go). */
  offsetOf(path: readonly PropertyKey[]): number {
    for (let depth = path.length; depth >= 0; depth--) {
      const entry = this.entries.get(formatPath(path.slice(0, depth)));
      const span = depth === path.length ? (entry?.value ?? entry?.key) : (entry?.key ?? entry?.value);
      if (span) return span[0];
    }
    return 0;
  }

  /** Offset of the key at `path` itself, for problems about the key rather than its value. */
  keyOffsetOf(path: readonly PropertyKey[]): number {
    return this.entries.get(formatPath(path))?.key?.[0] ?? this.offsetOf(path);
  }

  /** The deepest YAML path whose key or value spans `offset`, for parser errors that only know an offset. */
  pathAt(offset: number): string {
    // Ranges end before their last offset; errors at the very end of the input sit just past it.
    const best = this.deepestAt(offset, 0) ?? this.deepestAt(offset, 1);
    return best ? formatPath(best.path) : '';
  }

  private deepestAt(offset: number, slack: number): Entry | undefined {
    let best: Entry | undefined;
    for (const entry of this.entries.values()) {
      const inside = contains(entry.key, offset, slack) || contains(entry.value, offset, slack);
      if (inside && (best === undefined || entry.path.length > best.path.length)) best = entry;
    }
    return best;
  }

  private walk(node: unknown, path: PathSegment[], keyNode: unknown): void {
    this.entries.set(formatPath(path), { path, key: spanOf(keyNode), value: spanOf(node) });
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        if (isMap(pair.key) || isSeq(pair.key) || isAlias(pair.key) || isObjectScalar(pair.key))
          this.collectionKeys.push({ node: pair.key, path: [...path, key] });
        this.walk(pair.value, [...path, key], pair.key);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => {
        this.walk(item, [...path, i], undefined);
      });
    } else if (isScalar(node) && typeof node.value === 'string') {
      this.strings.push({ node, path });
    } else if (isAlias(node)) {
      this.aliases.push({ node, path });
    }
  }
}

/** A scalar whose tag made it an object (`!!binary`), which toJS can only turn into text. */
function isObjectScalar(node: unknown): boolean {
  return isScalar(node) && node.value !== null && typeof node.value === 'object';
}

function spanOf(node: unknown): Span | undefined {
  const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
  return range ? [range[0], range[2]] : undefined;
}

function contains(span: Span | undefined, offset: number, slack: number): boolean {
  return span !== undefined && span[0] <= offset && offset < span[1] + slack;
}
