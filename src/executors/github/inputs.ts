// What the github executor accepts: GitHub's own naming rules, written as patterns so the JSON Schema
// a runbook linter sees and the check run before any request are the same rules.
import { z } from 'zod';
import { badArgument, type MillwrightError } from '../../core/errors.js';
import { RUN_STATES } from '../../upstreams/github/workflows.js';

/** A user or organisation: letters, digits and single inner hyphens, at most 39 (underscore for managed users). */
export const OWNER_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9_]|-(?=[A-Za-z0-9])){0,38}$/;
/** A repository name: letters, digits, `.`, `_`, `-`; never `.` or `..` alone, nor a leading `-` (an option to a CLI). */
export const REPO_PATTERN = /^(?!\.{1,2}$)(?!-)[A-Za-z0-9._-]{1,100}$/;
/** A workflow file name under .github/workflows (`deploy.yml`) or its numeric id. */
export const WORKFLOW_PATTERN = /^(?:[1-9][0-9]{0,18}|[A-Za-z0-9_-][A-Za-z0-9_.-]{0,200}\.ya?ml)$/;
/**
 * A branch, tag or sha in git's check-ref-format rules, narrowed to safe characters: no `..`, `//`,
 * leading `-` or `/`, trailing `/` or `.`, components starting with `.`, or `.lock` endings.
 */
export const REF_PATTERN =
  /^(?!-)(?!\/)(?!.*\/\/)(?!.*\/$)(?!.*\.$)(?!.*\.\.)(?!.*(?:^|\/)\.)(?!.*\.lock(?:\/|$))[A-Za-z0-9._/-]{1,255}$/;
/** A deployment environment (`production`, `staging`, `eu-west/prod`). */
export const ENVIRONMENT_PATTERN = /^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._/-]{0,254}$/;
/** A workflow input name as GitHub allows it in `on.workflow_dispatch.inputs`. */
export const INPUT_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]{0,99}$/;
/**
 * A workflow input value. Workflows often paste inputs into shell steps, so anything a shell or a
 * template reads specially (`;`, `$`, backticks, quotes, braces, newlines, `..`) is refused.
 */
export const INPUT_VALUE_PATTERN = /^(?!.*\.\.)[A-Za-z0-9 ._:/@+=,-]{0,256}$/;
/** Free text shown on GitHub (a deployment description): printable, one line. */
export const DESCRIPTION_PATTERN = /^[^\p{Cc}`$]{0,140}$/u;
/** A commit status context name (`ci/build`). */
export const CONTEXT_PATTERN = /^[A-Za-z0-9][A-Za-z0-9 ._:/()-]{0,99}$/;
export const TASK_PATTERN = /^[A-Za-z0-9][A-Za-z0-9:_.-]{0,49}$/;

const owner = z
  .string()
  .regex(OWNER_PATTERN, {
    error: 'must be a GitHub user or organisation like acme (letters, digits, hyphens)',
  })
  .describe('Repository owner (user or organisation), e.g. acme');
const repo = z
  .string()
  .regex(REPO_PATTERN, { error: 'must be a repository name like shop (letters, digits, . _ -)' })
  .describe('Repository name, e.g. shop');
const ref = z.string().regex(REF_PATTERN, {
  error: 'must be a branch, tag or commit sha (letters, digits, . _ / -; no "..", spaces or leading "-")',
});
const environment = z
  .string()
  .regex(ENVIRONMENT_PATTERN, {
    error: 'must be an environment name like production (letters, digits, . _ / -)',
  })
  .describe('Deployment environment, e.g. production');
const limit = (fallback: number) =>
  z
    .int({ error: 'must be a whole number' })
    .min(1, { error: 'must be at least 1' })
    .max(100, { error: 'must be at most 100' })
    .default(fallback);
/** Run ids arrive as numbers, or as text when a runbook passes an earlier step's output. */
const runId = z
  .union([z.int().min(1), z.string().regex(/^[1-9][0-9]{0,18}$/)], {
    error: 'must be a workflow run id (a whole number like 30433642)',
  })
  .describe('Workflow run id, e.g. 30433642');

export const dispatchWorkflowInput = z.strictObject({
  owner,
  repo,
  workflow: z
    .string()
    .regex(WORKFLOW_PATTERN, { error: 'must be a workflow file name like deploy.yml, or its numeric id' })
    .describe('Workflow file name under .github/workflows, or its id'),
  ref: ref.describe('Branch or tag to run the workflow on'),
  inputs: z
    .record(
      z.string().regex(INPUT_NAME_PATTERN, { error: 'input names are letters, digits, _ and -' }),
      z.union([
        z.string().regex(INPUT_VALUE_PATTERN, {
          error:
            'must be plain text (letters, digits, space and . _ : / @ + = , -; no shell or template characters)',
        }),
        z.number(),
        z.boolean(),
      ]),
    )
    .refine((inputs) => Object.keys(inputs).length <= 25, { error: 'GitHub accepts at most 25 inputs' })
    .optional()
    .describe('Values for the workflow_dispatch inputs'),
});

export const listRunsInput = z.strictObject({
  owner,
  repo,
  workflow: z
    .string()
    .regex(WORKFLOW_PATTERN, { error: 'must be a workflow file name like deploy.yml, or its numeric id' })
    .optional()
    .describe('Only runs of this workflow'),
  branch: ref.optional().describe('Only runs on this branch'),
  status: z.enum(RUN_STATES).optional().describe('Only runs with this status or conclusion'),
  limit: limit(10).describe('How many runs, newest first (1-100)'),
});

export const rerunFailedJobsInput = z.strictObject({ owner, repo, runId });

export const createDeploymentInput = z.strictObject({
  owner,
  repo,
  ref: ref.describe('Branch, tag or sha to deploy'),
  environment: environment.default('production'),
  description: z
    .string()
    .regex(DESCRIPTION_PATTERN, { error: 'must be one printable line of at most 140 characters' })
    .optional(),
  task: z
    .string()
    .regex(TASK_PATTERN, { error: 'must be a task name like deploy or deploy:migrations' })
    .default('deploy'),
  autoMerge: z
    .boolean()
    .default(false)
    .describe('Let GitHub merge the default branch into ref first (GitHub default true; off here)'),
  requiredContexts: z
    .array(z.string().regex(CONTEXT_PATTERN, { error: 'must be a status context name like ci/build' }))
    .max(50)
    .optional()
    .describe('Status checks that must pass; [] deploys without checks; absent means all of them'),
});

export const listDeploymentsInput = z.strictObject({
  owner,
  repo,
  environment: environment.optional(),
  limit: limit(5).describe('How many deployments, newest first (1-100)'),
});

export type DispatchWorkflowInput = z.infer<typeof dispatchWorkflowInput>;
export type ListRunsInput = z.infer<typeof listRunsInput>;
export type RerunFailedJobsInput = z.infer<typeof rerunFailedJobsInput>;
export type CreateDeploymentInput = z.infer<typeof createDeploymentInput>;
export type ListDeploymentsInput = z.infer<typeof listDeploymentsInput>;

/**
 * Checks an action's input and returns it typed, or throws one line naming the field and the rule.
 *
 * @example
 * const input = parseInput('github.list-runs', listRunsInput, { owner: 'acme', repo: 'shop' });
 */
export function parseInput<T extends z.ZodType>(action: string, schema: T, input: unknown): z.infer<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw describeIssue(action, result.error.issues[0], input);
}

function describeIssue(action: string, issue: z.core.$ZodIssue | undefined, input: unknown): MillwrightError {
  if (!issue) return badArgument(`${action}: invalid input`);
  if (issue.code === 'unrecognized_keys') {
    return badArgument(
      `${action}: unknown input ${issue.keys.map((key) => JSON.stringify(key)).join(', ')}`,
      `see "runbook show" or the executor's metadata for the inputs ${action} takes`,
    );
  }
  const field = issue.path.map(String).join('.') || 'input';
  const value = valueAt(input, issue.path);
  const got = value === undefined ? '' : `, got ${preview(value)}`;
  const message = issue.code === 'invalid_type' && value === undefined ? 'is required' : issue.message;
  return badArgument(`${action}: ${field} ${message}${got}`);
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let current = input;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

/** A short, single-line rendering of a refused value (JSON escapes newlines and control characters). */
export function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
