// What every digest section gets (the period, the services in scope, the sources) and gives back
// (blocks, and a few words for the digest's first line).

import type { AnswerProblem, Block } from '../core/reply.js';
import { formatAbsolute } from '../core/time.js';
import type { DigestConfig } from './schema.js';
import type { DigestSources } from './sources.js';

/** The stretch of time a digest reports on: since the last digest, until now. */
export interface DigestPeriod {
  since: Date;
  until: Date;
}

/** The services a digest covers: every one, or the ones its `services` and `tags` name. */
export interface DigestScope {
  all: boolean;
  services: ReadonlySet<string>;
  includes(service: string): boolean;
}

export interface SectionInput {
  digest: DigestConfig;
  period: DigestPeriod;
  scope: DigestScope;
  /** The service catalog, for which services have a Kubernetes or GitHub side. */
  catalog: Readonly<
    Record<
      string,
      { kubernetes?: unknown; github?: unknown; tags: readonly string[]; team?: string | undefined }
    >
  >;
  sources: DigestSources;
  /** Budget left per SLO id (a ratio) when the last digest was posted, for the change since. */
  previousBudgets: Readonly<Record<string, number>>;
  signal: AbortSignal;
}

export interface SectionResult {
  blocks: Block[];
  /** A few words for the first line: `2 of 7 SLOs need attention`. */
  headline?: string;
  /** Budget left per SLO id now, kept for the next digest's comparison. */
  budgets?: Record<string, number>;
  /** What the section could not read (Prometheus down for an SLO, a cluster refusing): shown, and named in data. */
  problems?: AnswerProblem[];
}

/**
 * The scope of a digest: the catalog services it names or tags; everything when it names none.
 *
 * @example
 * digestScope({ services: ['checkout'] }, catalog).includes('payments') // false
 */
export function digestScope(
  digest: Pick<DigestConfig, 'services' | 'tags'>,
  catalog: SectionInput['catalog'],
): DigestScope {
  if (!digest.services?.length && !digest.tags?.length) {
    return { all: true, services: new Set(Object.keys(catalog)), includes: () => true };
  }
  const names = new Set(digest.services ?? []);
  const tags = new Set(digest.tags ?? []);
  for (const [name, entry] of Object.entries(catalog)) {
    if (entry.tags.some((tag) => tags.has(tag))) names.add(name);
  }
  return { all: false, services: names, includes: (service) => names.has(service) };
}

/** `2026-03-30 09:00 CEST` in the digest's time zone. */
export function when(digest: Pick<DigestConfig, 'timeZone'>, at: Date | string): string {
  return formatAbsolute(typeof at === 'string' ? new Date(at) : at, digest.timeZone);
}

/** Whether an ISO time falls inside the period (after `since`, up to and including `until`). */
export function inPeriod(period: DigestPeriod, iso: string): boolean {
  const at = Date.parse(iso);
  return at > period.since.getTime() && at <= period.until.getTime();
}

export const plural = (count: number, one: string, many = `${one}s`) =>
  `${count} ${count === 1 ? one : many}`;
