// Shared setup for the github executor tests: the GitHub double seeded from a fixture, a fixed clock,
// a logger whose lines the tests read, and an execution context like the runbook engine passes.
import { readFileSync } from 'node:fs';
import { fixedClock } from '../../../src/core/clock.js';
import { createLogger, type Logger } from '../../../src/core/logger.js';
import { createGitHubExecutor, type GitHubExecutorOptions } from '../../../src/executors/github/index.js';
import type { ExecutionContext, Executor } from '../../../src/executors/types.js';
import { type GitHubApiDouble, type GitHubFixture, startGitHubApi } from '../../doubles/github-api.js';

export const NOW = new Date('2026-11-26T13:53:00Z');
/** Shaped like a real token so the redaction patterns would also catch it. */
export const TOKEN = 'ghp_M1llwr1ghtT3stT0k3nAbCdEf0123456789';

export const shopFixture = JSON.parse(
  readFileSync(new URL('../../fixtures/github/acme-shop.json', import.meta.url), 'utf8'),
) as GitHubFixture;

export interface Harness {
  github: GitHubApiDouble;
  executor: Executor;
  clock: ReturnType<typeof fixedClock>;
  logLines: string[];
  logger: Logger;
  close(): Promise<void>;
}

export async function startHarness(options: Partial<GitHubExecutorOptions> = {}): Promise<Harness> {
  const clock = fixedClock(NOW);
  const github = await startGitHubApi({ token: TOKEN, now: () => clock.now() });
  github.state.load(shopFixture);
  const logLines: string[] = [];
  const logger = createLogger({
    level: 'trace',
    destination: { write: (line: string) => logLines.push(line) },
  });
  const executor = createGitHubExecutor({
    baseUrl: github.url,
    token: TOKEN,
    logger,
    clock,
    // Real backoff shape, tiny delays: the tests count requests, not time.
    retries: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
    ...options,
  });
  return { github, executor, clock, logLines, logger, close: () => github.close() };
}

export function executionContext(
  logger: Logger,
  overrides: Partial<ExecutionContext> = {},
): ExecutionContext {
  return {
    signal: new AbortController().signal,
    deadline: new Date(Date.now() + 60_000),
    dryRun: false,
    actor: 'ana',
    ref: 'ref-test-1',
    logger,
    ...overrides,
  };
}
