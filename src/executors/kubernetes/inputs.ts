// What the kubernetes executor accepts, one zod schema per action: the action metadata's JSON Schema
// is derived from it, and every input is checked against it, with the messages kubectl users know.
import { z } from 'zod';
import { badArgument, type MillwrightError } from '../../core/errors.js';
import { IMAGE_REFERENCE } from '../../core/image-reference.js';
import {
  checkName,
  checkNamespace,
  DNS1123_LABEL,
  DNS1123_SUBDOMAIN,
  quoteInput,
} from '../../upstreams/kubernetes/names.js';
import { badLogLines, MAX_LOG_LINES } from '../../upstreams/kubernetes/pods.js';

/** Replica counts `scale` accepts. */
export interface ScaleBounds {
  min: number;
  max: number;
}

const namespace = z
  .string()
  .regex(new RegExp(DNS1123_LABEL))
  .max(63)
  .describe('Kubernetes namespace (must be in kubernetes.allowedNamespaces)');
const deployment = z.string().regex(new RegExp(DNS1123_SUBDOMAIN)).max(253);
const target = { namespace, deployment: deployment.describe('Deployment name (DNS-1123)') };
const rolloutTarget = {
  namespace,
  rollout: z.string().regex(new RegExp(DNS1123_SUBDOMAIN)).max(253).describe('Argo Rollout name (DNS-1123)'),
};
const duration = z.string().regex(/^(?:\d+(?:ms|s|m|h|d|w))+$/);
const image = z
  .string()
  .max(512)
  .regex(IMAGE_REFERENCE)
  .describe('Image reference: registry/path:tag or @sha256:digest');
const container = z.string().regex(new RegExp(DNS1123_LABEL)).max(63);
const trackLabel = z
  .string()
  .regex(/^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/)
  .max(63)
  .default('track')
  .describe('The pod label that tells the stable and canary tracks apart');

/**
 * The input schema of each action; `bounds` are the replica counts `scale` accepts.
 *
 * @example
 * const inputs = kubernetesInputs({ min: 2, max: 10 });
 * parseKubernetesInput('scale', inputs.scale, { namespace: 'shop', deployment: 'checkout', replicas: 5 }, { bounds, allowedNamespaces: ['shop'] });
 */
export function kubernetesInputs(bounds: ScaleBounds) {
  return {
    'rollout-status': z.strictObject({
      ...target,
      wait: z
        .boolean()
        .default(true)
        .describe(
          'Wait like kubectl rollout status and fail when the rollout fails; false: one look, never fails on state',
        ),
      timeout: duration.default('5m').describe('Longest wait (the step timeout bounds it too)'),
      maxRestarts: z
        .int()
        .min(1)
        .max(1000)
        .default(3)
        .describe('A new pod crash-looping or OOMKilled this many times fails the rollout'),
      stuckAfter: duration
        .default('1m')
        .describe('A new pod unable to pull its image or start for this long fails the rollout'),
    }),
    'rollout-check': z.strictObject({
      ...target,
      maxRestarts: z
        .int()
        .min(1)
        .max(1000)
        .default(3)
        .describe('A new pod crash-looping or OOMKilled this many times counts as failed'),
      stuckAfter: duration
        .default('1m')
        .describe('A new pod unable to pull its image or start for this long counts as failed'),
    }),
    restart: z.strictObject(target),
    scale: z.strictObject({
      ...target,
      replicas: z.int().min(bounds.min).max(bounds.max).describe('Wanted replicas'),
    }),
    undo: z.strictObject({
      ...target,
      toRevision: z.int().min(1).optional().describe('Revision to restore; the previous one when absent'),
    }),
    'list-pods': z.strictObject(target),
    'canary-set': z.strictObject({
      ...target,
      image: image.describe('Image the canary runs'),
      replicas: z.int().min(1).max(bounds.max).describe('Canary pods'),
      container: container.optional().describe('The container to change; the only one when absent'),
      trackLabel,
    }),
    'canary-remove': z.strictObject(target),
    'set-image': z.strictObject({
      ...target,
      image,
      container: container.optional().describe('The container to change; the only one when absent'),
    }),
    'argo-status': z.strictObject({
      ...rolloutTarget,
      maxRestarts: z
        .int()
        .min(1)
        .max(1000)
        .default(3)
        .describe('A canary pod crash-looping or OOMKilled this many times counts as failed'),
      stuckAfter: duration
        .default('1m')
        .describe('A canary pod unable to pull its image or start for this long counts as failed'),
    }),
    'argo-set-image': z.strictObject({
      ...rolloutTarget,
      image: image.describe("Image for the Rollout's pod template: a canary Rollout starts its steps"),
      container: container.optional().describe('The container to change; the only one when absent'),
    }),
    'argo-promote': z.strictObject({
      ...rolloutTarget,
      full: z
        .boolean()
        .default(false)
        .describe('Skip every remaining step, pause and analysis (kubectl argo rollouts promote --full)'),
    }),
    'argo-abort': z.strictObject(rolloutTarget),
    logs: z
      .strictObject({
        namespace,
        deployment: deployment.optional().describe('Deployment name (DNS-1123)'),
        pod: deployment.optional().describe("Pod name; the deployment's first pod when absent"),
        container: z.string().regex(new RegExp(DNS1123_LABEL)).max(63).optional().describe('Container name'),
        lines: z.int().min(1).max(MAX_LOG_LINES).default(100).describe('Lines from the end'),
        previous: z.boolean().default(false).describe('The previous (crashed) run of the container'),
      })
      .refine((input) => input.pod !== undefined || input.deployment !== undefined, {
        error: 'logs need a pod or a deployment',
      }),
  };
}

export type KubernetesInputs = ReturnType<typeof kubernetesInputs>;
export type KubernetesActionName = keyof KubernetesInputs;

/**
 * The order problems are reported in, whatever order zod lists them: names first, then the action's
 * own rule ('': logs need a target), then numbers and flags, and ranges after every other problem.
 */
const FIELD_ORDER = [
  'namespace',
  'deployment',
  'rollout',
  'pod',
  'container',
  '',
  'image',
  'replicas',
  'trackLabel',
  'toRevision',
  'lines',
  'previous',
  'wait',
  'full',
  'timeout',
  'maxRestarts',
  'stuckAfter',
];

/**
 * Checks an action's input against its schema and the allowed namespaces; returns it typed (defaults
 * filled in) or throws `millwright_bad_argument` (`millwright_permission_denied` for a namespace
 * outside the allow-list) naming the first problem.
 *
 * @example
 * parseKubernetesInput('restart', inputs.restart, { namespace: 'shop', deployment: 'checkout' }, { bounds, allowedNamespaces: ['shop'] });
 */
export function parseKubernetesInput<S extends z.ZodObject>(
  action: string,
  schema: S,
  raw: unknown,
  rules: { bounds: ScaleBounds; allowedNamespaces: readonly string[] },
): z.infer<S> {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw badArgument(`${action} needs an object of inputs`);
  const input = raw as Record<string, unknown>;
  const result = schema.safeParse(input);
  const issues = result.success ? [] : result.error.issues;
  const unknown = issues.find((issue) => issue.code === 'unrecognized_keys');
  if (unknown?.code === 'unrecognized_keys') {
    throw badArgument(
      `kubernetes.${action} does not take ${quoteInput(unknown.keys[0])}`,
      `inputs: ${Object.keys(schema.shape).join(', ')}`,
    );
  }
  // Shape first, then the allow-list from config, before any other field is looked at.
  checkNamespace(input.namespace, rules.allowedNamespaces);
  if (result.success) return result.data as z.infer<S>;
  const first = [...issues, ...objectRuleIssues(schema, input, issues)].sort((a, b) => rank(a) - rank(b))[0];
  throw describeIssue(action, first, input, rules.bounds);
}

/**
 * zod skips an object's own rules once a field failed; they are checked again on the fields that
 * passed, so a broken rule is reported before a later field's problem, in FIELD_ORDER.
 */
function objectRuleIssues(
  schema: z.ZodObject,
  input: Record<string, unknown>,
  issues: readonly z.core.$ZodIssue[],
): z.core.$ZodIssue[] {
  if (issues.some((issue) => issue.path.length === 0 && issue.code === 'custom')) return [];
  const failed = new Set(issues.map((issue) => String(issue.path[0])));
  const passed = Object.fromEntries(Object.entries(input).filter(([key]) => !failed.has(key)));
  const again = schema.safeParse(passed);
  return again.success
    ? []
    : again.error.issues.filter((issue) => issue.path.length === 0 && issue.code === 'custom');
}

function rank(issue: z.core.$ZodIssue): number {
  const index = FIELD_ORDER.indexOf(issue.path.length === 0 ? '' : String(issue.path[0]));
  // A number out of range is reported after every other problem, as scale, undo and logs refuse it.
  const range = (issue.code === 'too_small' || issue.code === 'too_big') && issue.origin !== 'string';
  return (index === -1 ? FIELD_ORDER.length : index) + (range ? FIELD_ORDER.length + 1 : 0);
}

function describeIssue(
  action: string,
  issue: z.core.$ZodIssue | undefined,
  input: Record<string, unknown>,
  bounds: ScaleBounds,
): MillwrightError {
  if (!issue) return badArgument(`kubernetes.${action}: invalid input`);
  const field = issue.path.length === 0 ? '' : String(issue.path[0]);
  const value = input[field];
  // The name checks throw the message kubectl users know; each refuses exactly what the schema refuses.
  if (field === 'deployment' || field === 'pod' || field === 'rollout') checkName(value, field, 'subdomain');
  if (field === 'container') checkName(value, field, 'label');
  if (field === '' && issue.code === 'custom') {
    return badArgument(issue.message, 'give pod=NAME or deployment=NAME');
  }
  if (field === 'replicas' || field === 'toRevision' || field === 'lines') {
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      return badArgument(`${field} must be a whole number, got ${quoteInput(value)}`);
    }
    if (field === 'replicas') return replicasOutsideBounds(value, bounds);
    if (field === 'toRevision') return badRevision(value);
    return badLogLines(value);
  }
  if (field === 'previous' || field === 'wait' || field === 'full') {
    return badArgument(`${field} must be true or false, got ${quoteInput(value)}`);
  }
  if (field === 'timeout' || field === 'stuckAfter') {
    return badArgument(`${field} must be a duration like 30s or 5m, got ${quoteInput(value)}`);
  }
  if (field === 'maxRestarts') {
    return badArgument(`maxRestarts must be a whole number from 1 to 1000, got ${quoteInput(value)}`);
  }
  return badArgument(`kubernetes.${action}: ${field || 'input'} ${issue.message}`);
}

/** The refusal of a replica count outside the configured bounds. */
export function replicasOutsideBounds(replicas: unknown, bounds: ScaleBounds): MillwrightError {
  return badArgument(
    `replicas ${JSON.stringify(replicas)} is outside the allowed range ${bounds.min}..${bounds.max}`,
    `pick a whole number from ${bounds.min} to ${bounds.max}; the bounds are the kubernetes executor's scaleBounds`,
  );
}

/** The refusal of a revision to roll back to that cannot be one. */
export function badRevision(toRevision: unknown): MillwrightError {
  return badArgument(`toRevision must be a whole number of 1 or more, got ${JSON.stringify(toRevision)}`);
}
