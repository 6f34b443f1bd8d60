// Follows GitHub's `Link: <...>; rel="next"` pages up to a limit, passing the caller's signal on every
// page (Octokit's paginate iterator drops per-call request options, so it would not be cancellable).
import type { GitHubClient } from './client.js';

/**
 * Reads pages of a list endpoint until `limit` items are in hand or there is no next page.
 *
 * @example
 * const runs = await collectPages(github, 'GET /repos/{owner}/{repo}/actions/runs', { owner, repo, per_page: 100 },
 *   150, (data) => (data as { workflow_runs: unknown[] }).workflow_runs, { signal });
 */
export async function collectPages<T>(
  client: GitHubClient,
  route: string,
  parameters: Record<string, unknown>,
  limit: number,
  itemsOf: (data: unknown) => T[],
  signal: AbortSignal | undefined,
): Promise<T[]> {
  const request = signal ? { signal } : {};
  const items: T[] = [];
  let response = await client.octokit.request(route, { ...parameters, request });
  for (;;) {
    items.push(...itemsOf(response.data));
    const next = nextPage(response.headers.link, client.baseUrl);
    if (items.length >= limit || next === undefined) break;
    response = await client.octokit.request({ method: 'GET', url: next, request });
  }
  return items.slice(0, limit);
}

/** The `rel="next"` URL, if it points back at the same API (never follow a link elsewhere). */
export function nextPage(link: string | undefined, baseUrl: string): string | undefined {
  const match = /<([^>]+)>;\s*rel="next"/.exec(link ?? '');
  if (!match?.[1]) return undefined;
  const next = new URL(match[1]);
  return next.origin === new URL(baseUrl).origin ? next.toString() : undefined;
}
