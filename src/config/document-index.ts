// Where each value of a parsed YAML document sits, by YAML path, so every problem can name a line and column.
import { type Alias, isAlias, isMap, isScalar, isSeq, type Pair, type Scalar, type YAMLMap } from 'yaml';

export type PathSegment = string | number;

/** `['slos', 2, 'objective']` -> `slos[2].objective`; keys that are not plain names are quoted. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) out = appendSegment(out, segment);
  return out;
}

/** `formatPath([...path, segment])` given `formatPath(path)`, so a walk formats each path once. */
function appendSegment(formatted: string, segment: PropertyKey): string {
  if (typeof segment === 'number') return `${formatted}[${segment}]`;
  const name = String(segment);
  if (PLAIN_NAME.test(name)) return formatted === '' ? name : `${formatted}.${name}`;
  return `${formatted}[${JSON.stringify(name)}]`;
}

const PLAIN_NAME = /^[A-Za-z_][\w-]*$/;

type Span = readonly [start: number, end: number];

interface Entry {
  path: PathSegment[];
  key: Span | undefined;
  value: Span | undefined;
}

/**
 * What load needs from one walk of a parsed document (references to interpolate, aliases, odd and
 * repeated keys), and positions by YAML path, looked up lazily: a config with 50,000 services
 * has millions of nodes, and an index of all of them cost more than parsing it.
 */
export class DocumentIndex {
  /** String scalars holding a `$` (the only ones `${VAR}` can be in), in document order. */
  readonly strings: Array<{ node: Scalar; path: PathSegment[] }> = [];
  readonly aliases: Array<{ node: Alias; path: PathSegment[] }> = [];
  /** Mapping keys written as a list, a mapping, an alias or binary data (`[a]: 1`, `*x : 1`), which no section has. */
  readonly collectionKeys: Array<{ node: unknown; path: PathSegment[] }> = [];
  /**
   * Keys that repeat one earlier in the same mapping, at the repeat. Found here with a set per
   * mapping because the YAML library's own check compares each key with every earlier one, which
   * made 50,000 services take a minute; the document is parsed with `uniqueKeys: false`.
   */
  readonly duplicateKeys: Array<{ node: unknown; path: PathSegment[] }> = [];
  readonly #contents: unknown;
  /** Per mapping, its pairs by key text; built the first time a lookup passes through it. */
  readonly #pairsByKey = new WeakMap<object, Map<string, Pair>>();

  constructor(contents: unknown) {
    this.#contents = contents;
    this.#scan(contents, []);
  }

  /** Offset of the value at `path`; for a missing key, of the nearest ancestor's key (where it should go). */
  offsetOf(path: readonly PropertyKey[]): number {
    const found = this.#lookup(path);
    for (let depth = found.length - 1; depth >= 0; depth--) {
      const entry = found[depth]!;
      const span = depth === path.length ? (entry.value ?? entry.key) : (entry.key ?? entry.value);
      if (span) return span[0];
    }
    return 0;
  }

  /** Offset of the key at `path` itself, for problems about the key rather than its value. */
  keyOffsetOf(path: readonly PropertyKey[]): number {
    const found = this.#lookup(path);
    return (
      (found.length === path.length + 1 ? found[path.length]?.key?.[0] : undefined) ?? this.offsetOf(path)
    );
  }

  /** The deepest YAML path whose key or value spans `offset`, for parser errors that only know an offset. */
  pathAt(offset: number): string {
    const entries: Entry[] = [];
    walkEntries(this.#contents, [], undefined, entries);
    // Ranges end before their last offset; errors at the very end of the input sit just past it.
    const best = deepestAt(entries, offset, 0) ?? deepestAt(entries, offset, 1);
    return best ? formatPath(best.path) : '';
  }

  /** The entries from the root down `path` as far as it exists: index i is the node at depth i. */
  #lookup(path: readonly PropertyKey[]): Entry[] {
    const found: Entry[] = [{ path: [], key: undefined, value: spanOf(this.#contents) }];
    let node: unknown = this.#contents;
    for (const [depth, segment] of path.entries()) {
      let key: unknown;
      if (isMap(node)) {
        const pair = this.#pairs(node).get(String(segment));
        if (pair === undefined) break;
        key = pair.key;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number') {
        if (segment >= node.items.length) break;
        node = node.items[segment];
      } else break;
      found.push({ path: path.slice(0, depth + 1) as PathSegment[], key: spanOf(key), value: spanOf(node) });
    }
    return found;
  }

  #pairs(map: YAMLMap): Map<string, Pair> {
    let pairs = this.#pairsByKey.get(map);
    if (pairs === undefined) {
      pairs = new Map();
      // The first occurrence wins, like the lookups the schema problems come from.
      for (const pair of map.items) if (!pairs.has(keyText(pair.key))) pairs.set(keyText(pair.key), pair);
      this.#pairsByKey.set(map, pairs);
    }
    return pairs;
  }

  /** One pass with one path stack, copied only for the few nodes kept. */
  #scan(node: unknown, path: PathSegment[]): void {
    if (isMap(node)) {
      const seen = new Set<unknown>();
      for (const pair of node.items) {
        const key = keyText(pair.key);
        if (isScalar(pair.key)) {
          if (seen.has(pair.key.value)) this.duplicateKeys.push({ node: pair.key, path: [...path, key] });
          seen.add(pair.key.value);
        }
        if (isMap(pair.key) || isSeq(pair.key) || isAlias(pair.key) || isObjectScalar(pair.key))
          this.collectionKeys.push({ node: pair.key, path: [...path, key] });
        path.push(key);
        this.#scan(pair.value, path);
        path.pop();
      }
    } else if (isSeq(node)) {
      for (const [i, item] of node.items.entries()) {
        path.push(i);
        this.#scan(item, path);
        path.pop();
      }
    } else if (isScalar(node) && typeof node.value === 'string') {
      if (node.value.includes('$')) this.strings.push({ node: node as Scalar, path: [...path] });
    } else if (isAlias(node)) {
      this.aliases.push({ node, path: [...path] });
    }
  }
}

function keyText(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}

function walkEntries(node: unknown, path: PathSegment[], keyNode: unknown, into: Entry[]): void {
  into.push({ path, key: spanOf(keyNode), value: spanOf(node) });
  if (isMap(node)) {
    for (const pair of node.items) walkEntries(pair.value, [...path, keyText(pair.key)], pair.key, into);
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => {
      walkEntries(item, [...path, i], undefined, into);
    });
  }
}

function deepestAt(entries: readonly Entry[], offset: number, slack: number): Entry | undefined {
  let best: Entry | undefined;
  for (const entry of entries) {
    const inside = contains(entry.key, offset, slack) || contains(entry.value, offset, slack);
    if (inside && (best === undefined || entry.path.length > best.path.length)) best = entry;
  }
  return best;
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
