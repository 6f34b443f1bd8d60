// The github executor: dispatch workflows, list and re-run runs, create and list deployments, for
// runbooks, through exactly the Executor contract a third-party plugin implements.
import type { z } from 'zod';
import type { Clock } from '../../core/clock.js';
import { badArgument, ErrorCode, MillwrightError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { closest } from '../../core/suggest.js';
import type { GitHubClient, GitHubRetryOptions } from '../../upstreams/github/client.js';
import {
  type GitHubDeployment,
  listDeployments,
  type ReadOptions,
} from '../../upstreams/github/deployments.js';
import {
  getWorkflow,
  getWorkflowRun,
  listWorkflowRuns,
  resolveRef,
  type WorkflowRunSummary,
} from '../../upstreams/github/workflows.js';
import { withInputSchema } from '../input-schema.js';
import {
  type ActionMetadata,
  EXECUTOR_PROTOCOL_VERSION,
  type ExecutionContext,
  type ExecutionResult,
  type Executor,
  type ExecutorMetadata,
} from '../types.js';
import { createDeployment } from './create-deployment.js';
import {
  createDeploymentInput,
  dispatchWorkflowInput,
  listDeploymentsInput,
  listRunsInput,
  parseInput,
  rerunFailedJobsInput,
} from './inputs.js';
import { dispatchWorkflow, rerunFailedJobs } from './workflows.js';

export interface GitHubExecutorOptions {
  /** REST API root (config `github.baseUrl`). Ignored when `client` is given. */
  baseUrl?: string;
  token?: string | undefined;
  logger: Logger;
  /**
   * Repositories runbooks may touch, as `owner/repo` or `owner/*` (case-insensitive). Absent means
   * any repository the token can reach; an empty list allows none.
   */
  allowedRepos?: readonly string[] | undefined;
  retries?: GitHubRetryOptions;
  fetch?: typeof globalThis.fetch;
  clock?: Clock;
  requestTimeoutMs?: number;
  webUrl?: string;
  /** Share one client (and its rate-limit gate) with other readers such as `deploys`. */
  client?: GitHubClient;
}

interface ActionSpec<S extends z.ZodType> {
  schema: S;
  metadata: Omit<ActionMetadata, 'input'>;
  run(ctx: ExecutionContext, input: z.infer<S>, client: GitHubClient): Promise<ExecutionResult>;
}

const define = <S extends z.ZodType>(spec: ActionSpec<S>) => spec;

const runShape = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    name: { type: 'string' },
    workflow: { type: 'string' },
    branch: { type: ['string', 'null'] },
    sha: { type: 'string' },
    status: { type: ['string', 'null'] },
    conclusion: { type: ['string', 'null'] },
    attempt: { type: 'integer' },
    actor: { type: ['string', 'null'] },
    createdAt: { type: 'string' },
    url: { type: 'string' },
  },
};

const deploymentShape = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    environment: { type: 'string' },
    ref: { type: 'string' },
    sha: { type: 'string' },
    state: { type: 'string' },
    creator: { type: ['string', 'null'] },
    createdAt: { type: 'string' },
    link: { type: 'string' },
  },
};

const ACTIONS = {
  'dispatch-workflow': define({
    schema: dispatchWorkflowInput,
    metadata: {
      description: 'Start a workflow_dispatch run of a GitHub Actions workflow on a branch or tag',
      effect: 'write',
      dryRun: 'describe',
      output: {
        type: 'object',
        properties: {
          repository: { type: 'string' },
          workflow: { type: 'string' },
          ref: { type: 'string' },
          sha: { type: 'string', description: 'Set in dry runs, where the ref is resolved' },
          runsUrl: { type: 'string' },
        },
      },
    },
    run: async (ctx, input, client) => {
      const where = `${input.owner}/${input.repo}`;
      const runsUrl = `${client.webUrl}/${where}/actions/workflows/${encodeURIComponent(input.workflow)}`;
      const options = readOptions(ctx);
      if (ctx.dryRun) {
        // Read-only checks that catch most mistakes before the real run: the workflow and the ref exist.
        const workflow = await getWorkflow(client, input, options);
        const sha = await resolveRef(client, input, options);
        const disabled = workflow.state === 'active' ? '' : ` (workflow is ${workflow.state})`;
        return {
          summary: `would dispatch ${input.workflow} on ${input.ref} (${short(sha)}) in ${where}${disabled}`,
          output: { repository: where, workflow: input.workflow, ref: input.ref, sha, runsUrl },
        };
      }
      await dispatchWorkflow(client, input, options);
      return {
        summary: `dispatched ${input.workflow} on ${input.ref} in ${where}`,
        output: { repository: where, workflow: input.workflow, ref: input.ref, runsUrl },
      };
    },
  }),
  'list-runs': define({
    schema: listRunsInput,
    metadata: {
      description: 'List workflow runs, newest first, with status and conclusion',
      effect: 'read',
      dryRun: 'describe',
      output: {
        type: 'object',
        properties: {
          runs: { type: 'array', items: runShape },
          count: { type: 'integer' },
          latestRunId: {
            type: ['integer', 'null'],
            description: 'Id of the newest run listed, for a later step',
          },
        },
      },
    },
    run: async (ctx, input, client) => {
      const runs = await listWorkflowRuns(client, input, readOptions(ctx));
      const where = `${input.owner}/${input.repo}`;
      const latest = runs[0];
      const what = [input.status, input.workflow ? `${input.workflow} runs` : 'workflow runs']
        .filter(Boolean)
        .join(' ');
      return {
        summary: latest
          ? `${runs.length} ${what} in ${where}; newest: #${latest.runNumber} ${describeRun(latest)}`
          : `no ${what} in ${where}${input.branch ? ` on ${input.branch}` : ''}`,
        output: { runs, count: runs.length, latestRunId: latest?.id ?? null },
      };
    },
  }),
  'rerun-failed-jobs': define({
    schema: rerunFailedJobsInput,
    metadata: {
      description: 'Re-run the failed jobs of a completed workflow run',
      effect: 'write',
      dryRun: 'describe',
      output: {
        type: 'object',
        properties: {
          runId: { type: 'integer' },
          url: { type: 'string' },
          previousConclusion: { type: 'string' },
        },
      },
    },
    run: async (ctx, input, client) => {
      const runId = Number(input.runId);
      const where = `${input.owner}/${input.repo}`;
      const options = readOptions(ctx);
      const run = await getWorkflowRun(client, { owner: input.owner, repo: input.repo, runId }, options);
      if (run.status !== 'completed') {
        throw badArgument(
          `run ${runId} (${run.name} on ${run.branch ?? run.sha.slice(0, 7)}) in ${where} is still ${run.status}; only a finished run can be re-run`,
          'wait for it to finish, or re-run it from GitHub',
        );
      }
      if (run.conclusion === 'success' || run.conclusion === 'skipped' || run.conclusion === 'neutral') {
        throw badArgument(
          `run ${runId} (${run.name} on ${run.branch ?? run.sha.slice(0, 7)}) in ${where} ended ${run.conclusion}; it has no failed jobs to re-run`,
          'pick a failed run: github.list-runs with status=failure',
        );
      }
      const output = { runId, url: run.url, previousConclusion: run.conclusion ?? 'unknown' };
      if (ctx.dryRun) {
        return {
          summary: `would re-run the failed jobs of run ${runId} (${describeRun(run)}) in ${where}`,
          output,
        };
      }
      await rerunFailedJobs(client, { owner: input.owner, repo: input.repo, runId }, options);
      return {
        summary: `re-running the failed jobs of run ${runId} (${describeRun(run)}) in ${where}`,
        output,
      };
    },
  }),
  'create-deployment': define({
    schema: createDeploymentInput,
    metadata: {
      description: 'Create a GitHub deployment of a ref to an environment',
      effect: 'write',
      dryRun: 'describe',
      output: deploymentShape,
    },
    run: async (ctx, input, client) => {
      const where = `${input.owner}/${input.repo}`;
      const options = readOptions(ctx);
      if (ctx.dryRun) {
        const sha = await resolveRef(client, input, options);
        return {
          summary: `would create a ${input.environment} deployment of ${input.ref} (${short(sha)}) in ${where}`,
          output: { environment: input.environment, ref: input.ref, sha },
        };
      }
      const deployment = await createDeployment(client, input, options);
      return {
        summary: `created ${deployment.environment} deployment ${deployment.id} of ${deployment.ref} (${short(deployment.sha)}) in ${where}`,
        output: { ...deployment },
      };
    },
  }),
  'list-deployments': define({
    schema: listDeploymentsInput,
    metadata: {
      description: 'List deployments, newest first, each with its latest status, creator, ref and sha',
      effect: 'read',
      dryRun: 'describe',
      output: {
        type: 'object',
        properties: { deployments: { type: 'array', items: deploymentShape }, count: { type: 'integer' } },
      },
    },
    run: async (ctx, input, client) => {
      const deployments = await listDeployments(client, input, readOptions(ctx));
      const where = `${input.owner}/${input.repo}`;
      const latest = deployments[0];
      const to = input.environment ? ` to ${input.environment}` : '';
      return {
        summary: latest
          ? `${deployments.length} deployment${deployments.length === 1 ? '' : 's'}${to} in ${where}; newest: ${describeDeployment(latest)}`
          : `no deployments${to} in ${where}`,
        output: { deployments, count: deployments.length },
      };
    },
  }),
};

type ActionName = keyof typeof ACTIONS;

/**
 * Creates the github executor.
 *
 * @example
 * const github = createGitHubExecutor({ baseUrl: config.github.baseUrl, token: config.github.token, logger,
 *   allowedRepos: config.github.allowedRepos });
 * await github.execute(ctx, { action: 'rerun-failed-jobs', input: { owner: 'acme', repo: 'shop', runId: 42 } });
 */
export function createGitHubExecutor(options: GitHubExecutorOptions): Executor {
  // The client (Octokit) loads on the first call, so a Millwright that never calls GitHub never loads it.
  let client: Promise<GitHubClient> | undefined = options.client
    ? Promise.resolve(options.client)
    : undefined;
  const connect = () =>
    (client ??= import('../../upstreams/github/client.js').then(({ createGitHubClient }) =>
      createGitHubClient({
        baseUrl: options.baseUrl ?? 'https://api.github.com',
        token: options.token,
        logger: options.logger,
        ...(options.retries ? { retries: options.retries } : {}),
        ...(options.fetch ? { fetch: options.fetch } : {}),
        ...(options.clock ? { clock: options.clock } : {}),
        ...(options.requestTimeoutMs ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
        ...(options.webUrl ? { webUrl: options.webUrl } : {}),
      }),
    ));
  const allowed = options.allowedRepos?.map((entry) => entry.toLowerCase());
  const metadata: ExecutorMetadata = {
    name: 'github',
    version: '1.0.0',
    protocolVersion: EXECUTOR_PROTOCOL_VERSION,
    description: 'GitHub Actions workflows and deployments through the REST API',
    configSchema: {
      type: 'object',
      properties: {
        baseUrl: {
          type: 'string',
          description: 'REST API root; https://HOST/api/v3 for GitHub Enterprise Server',
        },
        token: {
          type: 'string',
          description:
            'A token with actions and deployments access, from the GITHUB_TOKEN environment variable',
        },
        allowedRepos: {
          type: 'array',
          items: { type: 'string', pattern: '^[A-Za-z0-9_.-]+/([A-Za-z0-9_.-]+|\\*)$' },
        },
      },
      additionalProperties: false,
    },
    actions: Object.fromEntries(
      Object.entries(ACTIONS).map(([name, spec]) => [name, withInputSchema(spec.metadata, spec.schema)]),
    ),
  };

  const checkAllowed = (owner: string, repo: string) => {
    if (!allowed) return;
    const full = `${owner}/${repo}`.toLowerCase();
    if (allowed.includes(full) || allowed.includes(`${owner.toLowerCase()}/*`)) return;
    throw new MillwrightError(
      ErrorCode.PermissionDenied,
      `repository ${owner}/${repo} is not in github.allowedRepos`,
      {
        hint: `add "${owner}/${repo}" (or "${owner}/*") to github.allowedRepos in millwright.yml`,
      },
    );
  };

  return {
    metadata: () => metadata,
    execute: async (ctx, request) => {
      const spec = ACTIONS[request.action as ActionName] as ActionSpec<z.ZodType> | undefined;
      if (!spec || !Object.hasOwn(ACTIONS, request.action)) {
        const suggestion = closest(request.action, Object.keys(ACTIONS));
        throw badArgument(
          `github has no action ${JSON.stringify(request.action)}`,
          suggestion ? `did you mean "github.${suggestion}"?` : `actions: ${Object.keys(ACTIONS).join(', ')}`,
        );
      }
      const input = parseInput(`github.${request.action}`, spec.schema, request.input) as {
        owner: string;
        repo: string;
      };
      checkAllowed(input.owner, input.repo);
      const result = await spec.run(ctx, input, await connect());
      ctx.logger.info(
        {
          executor: 'github',
          action: request.action,
          repository: `${input.owner}/${input.repo}`,
          dryRun: ctx.dryRun,
          ref: ctx.ref,
        },
        result.summary,
      );
      return result;
    },
  } satisfies Executor;
}

function readOptions(ctx: ExecutionContext): ReadOptions {
  return { signal: ctx.signal, deadline: ctx.deadline };
}

function short(sha: string): string {
  return sha.slice(0, 7);
}

function describeRun(run: WorkflowRunSummary): string {
  const outcome = run.status === 'completed' ? (run.conclusion ?? 'completed') : (run.status ?? 'unknown');
  return `${run.name || run.workflow}: ${outcome} on ${run.branch ?? short(run.sha)}`;
}

function describeDeployment(deployment: GitHubDeployment): string {
  const who = deployment.creator ? ` by ${deployment.creator}` : '';
  return `${deployment.state} ${deployment.ref} (${short(deployment.sha)}) to ${deployment.environment}${who}`;
}
