// Finds where a query string sits in an SLO file's YAML, so a problem at character N of the query is
// reported at the line and column an editor shows, whatever the scalar style (plain, quoted, block).
import { isMap, isScalar, isSeq, LineCounter, type Node, parseAllDocuments } from 'yaml';
import { formatPath } from './load.js';

interface QueryScalar {
  document: number;
  /** The value as Millwright reads it: trimmed, Sloth's `{{.window}}` written `{{window}}`. */
  value: string;
  start: number;
  end: number;
  path: string;
}

/** A position in the file for a character of a query, and the YAML path of the scalar that holds it. */
export interface QueryPosition {
  line: number;
  column: number;
  path: string;
}

/** Where the SLO is, so a query two SLOs share is found in the one that has the problem. */
export interface SloPlace {
  document?: number;
  path?: string;
}

/** Positions in one SLO file. */
export interface SloFileLocator {
  /** Character `offset` of `query`, in the scalar that holds it (the SLO's own when two share it). */
  query(query: string, offset: number, near?: SloPlace): QueryPosition | undefined;
  /** The SLO itself, or its key `key` (like `objective`) when it has one. */
  slo(near: SloPlace, key?: string): QueryPosition | undefined;
}

/**
 * Maps characters of the queries in `text` (one SLO file, any format) back to lines and columns.
 * A query that was rewritten on import (an OpenSLO counter wrapped in `sum(rate(...))`) is found by
 * the part written in the file.
 *
 * @example
 * locateQueries(yaml).query('sum(rtae(x[{{window}}]))', 4) // { line: 7, column: 25, path: 'slos[0].sli.events.errorQuery' }
 */
export function locateQueries(text: string): SloFileLocator {
  const lineCounter = new LineCounter();
  const scalars: QueryScalar[] = [];
  const nodes = new Map<string, number>();
  let document = 0;
  const walk = (node: unknown, segments: Array<string | number>) => {
    const start = (node as Node | undefined)?.range?.[0];
    if (start !== undefined) nodes.set(`${document}:${formatPath(segments)}`, start);
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : '?';
        walk(pair.value, [...segments, key]);
      }
    } else if (isSeq(node)) {
      for (const [index, item] of node.items.entries()) walk(item, [...segments, index]);
    } else if (isScalar(node) && typeof node.value === 'string' && (node as Node).range) {
      const value = normalized(node.value);
      if (value !== '') {
        scalars.push({
          document,
          value,
          start: node.range![0],
          end: node.range![1],
          path: formatPath(segments),
        });
      }
    }
  };
  const docs = parseAllDocuments(text, { lineCounter });
  for (const doc of Array.isArray(docs) ? docs : []) {
    walk(doc.contents, []);
    document++;
  }
  const position = (offset: number, path: string): QueryPosition => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col, path };
  };
  const query: SloFileLocator['query'] = (query, offset, near = {}) => {
    const target = normalized(query);
    const shift = query.length - query.trimStart().length;
    const inside = (candidate: QueryScalar) =>
      candidate.document === near.document &&
      near.path !== undefined &&
      (near.path === '' ||
        candidate.path.startsWith(`${near.path}.`) ||
        candidate.path.startsWith(`${near.path}[`));
    // The longest part of the query written in the file; of equal ones (a query two SLOs share), the SLO's own.
    const scalar = scalars
      .filter((candidate) => target.includes(candidate.value))
      .sort((a, b) => b.value.length - a.value.length || Number(inside(b)) - Number(inside(a)))[0];
    if (!scalar) return undefined;
    const within = Math.max(0, Math.min(offset - shift - target.indexOf(scalar.value), scalar.value.length));
    return position(alignedOffset(text, scalar, within), scalar.path);
  };
  const slo: SloFileLocator['slo'] = (near, key) => {
    if (near.path === undefined) return undefined;
    const keyed = key === undefined ? near.path : near.path === '' ? key : `${near.path}.${key}`;
    for (const path of [keyed, near.path]) {
      const start = nodes.get(`${near.document ?? 0}:${path}`);
      if (start !== undefined) return position(start, path);
    }
    return undefined;
  };
  return { query, slo };
}

function normalized(value: string): string {
  return value.trim().replace(/\{\{\s*\.?window\s*\}\}/g, '{{window}}');
}

/**
 * The source offset of character `index` of the scalar's value: walks value and source together,
 * skipping what the source has and the value does not (quotes, escapes, indentation, line folds).
 */
function alignedOffset(text: string, scalar: QueryScalar, index: number): number {
  let cursor = scalar.start;
  for (let i = 0; i <= index && i < scalar.value.length; i++) {
    let probe = cursor;
    while (probe < scalar.end && text[probe] !== scalar.value[i]) probe++;
    // Not found verbatim (an escape like \n in a quoted string): stay where we are.
    if (probe >= scalar.end) continue;
    if (i === index) return probe;
    cursor = probe + 1;
  }
  return Math.min(cursor, scalar.end);
}
