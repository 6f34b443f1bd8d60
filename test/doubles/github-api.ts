// A GitHub REST API double on 127.0.0.1: the paths, status codes, headers, bodies, errors, rate limits
// and Link pagination of docs.github.com/rest for the endpoints Millwright calls. Tests set state and faults.
import { createPublicKey, randomBytes, verify as verifySignature } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  answerGraphQL,
  GRAPHQL_DOCS,
  type GraphQLBackend,
  type GraphQLHttpAnswer,
  graphqlNotFound,
  graphqlRateHeaders,
  graphqlRateLimitedAnswer,
  graphqlSecondaryRateLimitedAnswer,
  type RateWindow,
} from './github-graphql.js';

// ---------- public types ----------

export interface RepoSpec {
  /** `owner/name`. */
  name: string;
  private?: boolean;
  defaultBranch?: string;
  /** Branches and tags (`main`, `v1.2.0`) to the commit sha they point at. */
  refs?: Record<string, string>;
}

export interface WorkflowSpec {
  /** `.github/workflows/deploy.yml`, or just `deploy.yml`. */
  path: string;
  name?: string;
  id?: number;
  state?: 'active' | 'disabled_manually' | 'disabled_inactivity';
  /** Whether it has an `on: workflow_dispatch` trigger, and its inputs; default: dispatchable, no inputs. */
  dispatch?: false | { inputs?: Record<string, { required?: boolean }> };
}

export interface RunSpec {
  /** Workflow file name (`deploy.yml`) or id; the workflow is added if missing. */
  workflow: string | number;
  status?: 'queued' | 'in_progress' | 'completed' | 'waiting' | 'requested' | 'pending';
  conclusion?:
    | 'success'
    | 'failure'
    | 'cancelled'
    | 'timed_out'
    | 'skipped'
    | 'neutral'
    | 'action_required'
    | null;
  branch?: string;
  sha?: string;
  event?: string;
  actor?: string;
  createdAt?: string | Date;
  id?: number;
  attempt?: number;
}

export interface DeploymentSpec {
  ref: string;
  sha?: string;
  environment?: string;
  task?: string;
  description?: string | null;
  creator?: string;
  createdAt?: string | Date;
  transient?: boolean;
  production?: boolean;
  /** Statuses oldest first; the last one is the deployment's current state. */
  statuses?: StatusSpec[];
}

export interface StatusSpec {
  state: 'error' | 'failure' | 'inactive' | 'in_progress' | 'queued' | 'pending' | 'success';
  description?: string;
  creator?: string;
  createdAt?: string | Date;
  logUrl?: string;
  targetUrl?: string;
  environmentUrl?: string;
}

/** What an injected fault answers instead of the real handler. */
export type FaultAnswer =
  | 'error500'
  | 'error502'
  | 'error503'
  /** Holds the request open until the client gives up or the double closes. */
  | 'hang'
  /** Drops the connection without an answer (ECONNRESET on the client). */
  | 'reset'
  /** Primary rate limit: 403, `x-ratelimit-remaining: 0`, the reset header, GitHub's body (on /graphql:
   * 200 with a `RATE_LIMITED` error and `x-ratelimit-resource: graphql`, as GitHub answers there). */
  | 'rateLimited'
  /** Secondary rate limit: 403 with `retry-after: 60` and GitHub's body. */
  | 'secondaryRateLimited'
  | { status: number; body?: unknown; headers?: Record<string, string> };

export interface FaultSpec {
  /** Exact path (`/repos/acme/shop/deployments`) or a pattern over the path, without the query. */
  path: string | RegExp;
  method?: string;
  /** How many matching requests get the fault; default 1. `Infinity` for all. */
  times?: number;
  answer: FaultAnswer;
  /** Only requests this accepts get the fault, e.g. the GraphQL query whose variables name one repository. */
  when?: (request: RecordedRequest) => boolean;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  body: unknown;
}

export interface UserRecord {
  login: string;
  id: number;
}

export interface WorkflowRecord {
  id: number;
  name: string;
  path: string;
  state: string;
  dispatchable: boolean;
  inputs: Record<string, { required?: boolean }>;
  createdAt: string;
}

export interface RunRecord {
  id: number;
  workflowId: number;
  name: string;
  path: string;
  runNumber: number;
  status: string;
  conclusion: string | null;
  branch: string;
  sha: string;
  event: string;
  actor: string;
  attempt: number;
  createdAt: string;
  updatedAt: string;
}

export interface StatusRecord {
  id: number;
  state: string;
  description: string;
  creator: string;
  createdAt: string;
  logUrl: string;
  targetUrl: string;
  environmentUrl: string;
}

export interface DeploymentRecord {
  id: number;
  ref: string;
  sha: string;
  environment: string;
  task: string;
  description: string | null;
  creator: string;
  createdAt: string;
  updatedAt: string;
  transient: boolean;
  production: boolean;
  payload: unknown;
  /** Oldest first. */
  statuses: StatusRecord[];
}

export interface DispatchRecord {
  workflowId: number;
  ref: string;
  inputs: Record<string, unknown>;
  at: string;
}

export interface RepoRecord {
  id: number;
  owner: string;
  name: string;
  fullName: string;
  private: boolean;
  defaultBranch: string;
  refs: Map<string, string>;
  workflows: WorkflowRecord[];
  runs: RunRecord[];
  deployments: DeploymentRecord[];
  dispatches: DispatchRecord[];
  /** sha -> status context -> state, for the checks a deployment must pass. */
  checks: Map<string, Map<string, 'success' | 'failure' | 'pending' | 'error'>>;
  protectionRules: ProtectionRuleRecord[];
}

/** The GitHub App the double knows: its id, the public half of its key, its installations. */
export interface GitHubAppSpec {
  /** The App ID: the `iss` its JWTs carry. */
  id: number;
  /** The public key (PEM) matching the App's private key; JWTs must be RS256 under it. */
  publicKey: string;
  /** Installations GitHub knows for this App; a token for any other is 404. */
  installations: number[];
}

/** A custom deployment protection rule GitHub asked the App about, and the reviews it got. */
export interface ProtectionRuleRecord {
  runId: number;
  environment: string;
  installationId: number;
  deploymentId: number;
  state: 'pending' | 'approved' | 'rejected';
  /** Every accepted review call, in order: a comment alone keeps the rule pending. */
  reviews: Array<{ state?: string; comment?: string; installationId: number; at: string }>;
}

export interface ProtectionRuleSpec {
  environment: string;
  installationId: number;
  /** The workflow's actor, `sender.login` in the webhook. */
  actor?: string;
  ref?: string;
  sha?: string;
  /** What triggered the run (`push`, `workflow_dispatch`). */
  event?: string;
}

/** A seed for many tests at once (see test/fixtures/github/). */
export interface GitHubFixture {
  repos: Array<
    RepoSpec & {
      workflows?: WorkflowSpec[];
      runs?: RunSpec[];
      deployments?: DeploymentSpec[];
    }
  >;
}

export interface GitHubState {
  addRepo(spec: string | RepoSpec): RepoRecord;
  /** The record of a repository (throws if absent), to inspect dispatches, runs and deployments. */
  repo(fullName: string): RepoRecord;
  /** Points a branch or tag at a sha. */
  setRef(fullName: string, ref: string, sha: string): void;
  addWorkflow(fullName: string, spec: WorkflowSpec): WorkflowRecord;
  addRun(fullName: string, spec: RunSpec): RunRecord;
  addDeployment(fullName: string, spec: DeploymentSpec): DeploymentRecord;
  addDeploymentStatus(fullName: string, deploymentId: number, spec: StatusSpec): StatusRecord;
  /** A commit status on `sha`; a failing or pending one makes deployments of it answer 409. */
  setCommitStatus(
    fullName: string,
    sha: string,
    context: string,
    state: 'success' | 'failure' | 'pending' | 'error',
  ): void;
  /**
   * Sets the primary rate limit; `remaining: 0` makes every request answer 403 until `resetAt`.
   * `resource` picks the REST (`core`) or the GraphQL (`graphql`, in points) window; without it, both.
   */
  setRateLimit(limit: {
    limit?: number;
    remaining?: number;
    resetAt?: Date;
    resource?: 'core' | 'graphql';
  }): void;
  /** The next `times` requests matching `path` (and `method`) get `answer`. */
  fail(fault: FaultSpec): void;
  /** Drops every fault not yet used up. */
  clearFaults(): void;
  load(fixture: GitHubFixture): void;
  /**
   * A workflow run reaches an environment guarded by the App's protection rule: the run (waiting),
   * its deployment and the pending rule are recorded, and the `deployment_protection_rule` webhook
   * payload GitHub would send is returned (send it with `sendGitHubWebhook`).
   */
  requestProtectionRule(
    fullName: string,
    spec: ProtectionRuleSpec,
  ): { rule: ProtectionRuleRecord; payload: Record<string, unknown> };
}

export interface GitHubApiDouble {
  /** Base URL to give Octokit (`baseUrl`) or `github.baseUrl`. */
  url: string;
  state: GitHubState;
  /** Every request received, in order (faulted and rate-limited ones included). */
  requests: RecordedRequest[];
  /** How many requests matched a method and a path (exact string, or pattern). */
  count(method?: string, path?: string | RegExp): number;
  /** Every installation token handed out, to show none of them leaks. */
  installationTokens: string[];
  close(): Promise<void>;
}

export interface GitHubApiOptions {
  /** When set, a request with another token gets 401 Bad credentials; one without is anonymous. */
  token?: string;
  repos?: Array<string | RepoSpec>;
  /** The double's clock for timestamps and rate-limit windows; real time by default. */
  now?: () => Date;
  /** Root of `html_url` links; https://github.com by default. */
  webUrl?: string;
  /** The GitHub App whose JWTs and installation tokens the double accepts. */
  app?: GitHubAppSpec;
}

// ---------- implementation ----------

const DOCS = 'https://docs.github.com/rest';
const DOC = {
  repo: `${DOCS}/repos/repos#get-a-repository`,
  workflow: `${DOCS}/actions/workflows#get-a-workflow`,
  dispatch: `${DOCS}/actions/workflows#create-a-workflow-dispatch-event`,
  runs: `${DOCS}/actions/workflow-runs#list-workflow-runs-for-a-repository`,
  workflowRuns: `${DOCS}/actions/workflow-runs#list-workflow-runs-for-a-workflow`,
  run: `${DOCS}/actions/workflow-runs#get-a-workflow-run`,
  rerunFailed: `${DOCS}/actions/workflow-runs#re-run-failed-jobs-from-a-workflow-run`,
  deployments: `${DOCS}/deployments/deployments#list-deployments`,
  createDeployment: `${DOCS}/deployments/deployments#create-a-deployment`,
  deployment: `${DOCS}/deployments/deployments#get-a-deployment`,
  statuses: `${DOCS}/deployments/statuses#list-deployment-statuses`,
  createStatus: `${DOCS}/deployments/statuses#create-a-deployment-status`,
  commit: `${DOCS}/commits/commits#get-a-commit`,
  installationToken: `${DOCS}/apps/apps#create-an-installation-access-token-for-an-app`,
  reviewRules: `${DOCS}/actions/workflow-runs#review-custom-deployment-protection-rules-for-a-workflow-run`,
  jwt: 'https://docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-json-web-token-jwt-for-a-github-app',
  rateLimit: `${DOCS}/overview/rate-limits-for-the-rest-api`,
  secondary: `${DOCS}/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits`,
};
const STATUS_STATES = ['error', 'failure', 'inactive', 'in_progress', 'queued', 'pending', 'success'];

class HttpAnswer {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {}
}

const notFound = (doc: string) =>
  new HttpAnswer(404, { message: 'Not Found', documentation_url: doc, status: '404' });
const unprocessable = (message: string, doc: string, errors?: unknown[]) =>
  new HttpAnswer(422, { message, ...(errors ? { errors } : {}), documentation_url: doc, status: '422' });
const forbidden = (message: string, doc: string) =>
  new HttpAnswer(403, { message, documentation_url: doc, status: '403' });

function sha1Like(seed: string): string {
  let out = '';
  let h = 2166136261;
  while (out.length < 40) {
    for (const char of `${seed}:${out.length}`) h = Math.imul(h ^ char.charCodeAt(0), 16777619) >>> 0;
    out += h.toString(16).padStart(8, '0');
  }
  return out.slice(0, 40);
}

function userId(login: string): number {
  let h = 7;
  for (const char of login) h = (h * 31 + char.charCodeAt(0)) % 90_000_000;
  return h + 1_000;
}

function iso(value: string | Date | undefined, now: () => Date): string {
  const date = value === undefined ? now() : new Date(value);
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Starts the double on a random port of 127.0.0.1.
 *
 * @example
 * const github = await startGitHubApi({ token: 'ghp_test', repos: ['acme/shop'] });
 * github.state.addDeployment('acme/shop', { ref: 'main', environment: 'production', statuses: [{ state: 'success' }] });
 * github.state.fail({ path: '/repos/acme/shop/deployments', times: 2, answer: 'error500' });
 * const octokit = new Octokit({ baseUrl: github.url, auth: 'ghp_test' });
 * await github.close();
 */
export async function startGitHubApi(options: GitHubApiOptions = {}): Promise<GitHubApiDouble> {
  const now = options.now ?? (() => new Date());
  const webUrl = (options.webUrl ?? 'https://github.com').replace(/\/+$/, '');
  const repos = new Map<string, RepoRecord>();
  const faults: Array<FaultSpec & { left: number }> = [];
  const requests: RecordedRequest[] = [];
  const hung = new Set<ServerResponse>();
  const ids = {
    repo: 1_296_269,
    workflow: 161_335,
    run: 30_433_642,
    deployment: 1_000_001,
    status: 2_000_001,
  };
  const rate = { limit: 5_000, used: 0, resetAt: undefined as Date | undefined };
  // GraphQL has its own window, counted in points (docs: rate limits for the GraphQL API).
  const graphqlRate: RateWindow = { limit: 5_000, used: 0, resetAt: undefined };
  let base = '';

  const key = (fullName: string) => fullName.toLowerCase();
  const requireRepo = (fullName: string): RepoRecord => {
    const repo = repos.get(key(fullName));
    if (!repo) throw new Error(`github double: no repository ${fullName}; add it with state.addRepo first`);
    return repo;
  };
  const user = (login: string) => ({
    login,
    id: userId(login),
    node_id: Buffer.from(`04:User${userId(login)}`).toString('base64'),
    avatar_url: `https://avatars.githubusercontent.com/u/${userId(login)}?v=4`,
    gravatar_id: '',
    url: `${base}/users/${login}`,
    html_url: `${webUrl}/${login}`,
    type: login.endsWith('[bot]') ? 'Bot' : 'User',
    site_admin: false,
  });

  const resolveRef = (repo: RepoRecord, ref: string): string | undefined => {
    const name = ref.replace(/^refs\/(heads|tags)\//, '');
    const direct = repo.refs.get(name);
    if (direct) return direct;
    const known = new Set(repo.refs.values());
    for (const deployment of repo.deployments) known.add(deployment.sha);
    for (const run of repo.runs) known.add(run.sha);
    if (/^[0-9a-f]{40}$/.test(ref) && known.has(ref)) return ref;
    if (/^[0-9a-f]{7,39}$/.test(ref)) return [...known].find((sha) => sha.startsWith(ref));
    return undefined;
  };

  const findWorkflow = (repo: RepoRecord, idOrFile: string | number): WorkflowRecord | undefined => {
    const text = String(idOrFile);
    return repo.workflows.find(
      (workflow) =>
        String(workflow.id) === text || workflow.path.split('/').pop() === text || workflow.path === text,
    );
  };

  const state: GitHubState = {
    addRepo: (spec) => {
      const { name, ...rest } = typeof spec === 'string' ? { name: spec } : spec;
      const [owner, repoName] = name.split('/');
      if (!owner || !repoName) throw new Error(`github double: repository names are owner/name, got ${name}`);
      const defaultBranch = rest.defaultBranch ?? 'main';
      const record: RepoRecord = {
        id: ids.repo++,
        owner,
        name: repoName,
        fullName: name,
        private: rest.private ?? true,
        defaultBranch,
        refs: new Map(Object.entries(rest.refs ?? { [defaultBranch]: sha1Like(`${name}:${defaultBranch}`) })),
        workflows: [],
        runs: [],
        deployments: [],
        dispatches: [],
        checks: new Map(),
        protectionRules: [],
      };
      repos.set(key(name), record);
      return record;
    },
    repo: requireRepo,
    setRef: (fullName, ref, sha) => {
      requireRepo(fullName).refs.set(ref, sha);
    },
    addWorkflow: (fullName, spec) => {
      const repo = requireRepo(fullName);
      const path = spec.path.includes('/') ? spec.path : `.github/workflows/${spec.path}`;
      const file = path.split('/').pop() ?? path;
      const workflow: WorkflowRecord = {
        id: spec.id ?? ids.workflow++,
        name: spec.name ?? file.replace(/\.ya?ml$/, ''),
        path,
        state: spec.state ?? 'active',
        dispatchable: spec.dispatch !== false,
        inputs: spec.dispatch ? (spec.dispatch.inputs ?? {}) : {},
        createdAt: iso(undefined, now),
      };
      repo.workflows.push(workflow);
      return workflow;
    },
    addRun: (fullName, spec) => {
      const repo = requireRepo(fullName);
      const workflow =
        findWorkflow(repo, spec.workflow) ?? state.addWorkflow(fullName, { path: String(spec.workflow) });
      const branch = spec.branch ?? repo.defaultBranch;
      const createdAt = iso(spec.createdAt, now);
      const status = spec.status ?? 'completed';
      const run: RunRecord = {
        id: spec.id ?? ids.run++,
        workflowId: workflow.id,
        name: workflow.name,
        path: workflow.path,
        runNumber: repo.runs.filter((r) => r.workflowId === workflow.id).length + 1,
        status,
        conclusion:
          spec.conclusion === undefined ? (status === 'completed' ? 'success' : null) : spec.conclusion,
        branch,
        sha: spec.sha ?? resolveRef(repo, branch) ?? sha1Like(`${fullName}:${branch}`),
        event: spec.event ?? 'push',
        actor: spec.actor ?? 'octocat',
        attempt: spec.attempt ?? 1,
        createdAt,
        updatedAt: createdAt,
      };
      repo.runs.push(run);
      return run;
    },
    addDeployment: (fullName, spec) => {
      const repo = requireRepo(fullName);
      const createdAt = iso(spec.createdAt, now);
      const environment = spec.environment ?? 'production';
      const deployment: DeploymentRecord = {
        id: ids.deployment++,
        ref: spec.ref,
        sha: spec.sha ?? resolveRef(repo, spec.ref) ?? sha1Like(`${fullName}:${spec.ref}`),
        environment,
        task: spec.task ?? 'deploy',
        description: spec.description ?? null,
        creator: spec.creator ?? 'octocat',
        createdAt,
        updatedAt: createdAt,
        transient: spec.transient ?? false,
        production: spec.production ?? environment === 'production',
        payload: {},
        statuses: [],
      };
      repo.deployments.push(deployment);
      for (const status of spec.statuses ?? []) state.addDeploymentStatus(fullName, deployment.id, status);
      return deployment;
    },
    addDeploymentStatus: (fullName, deploymentId, spec) => {
      const deployment = requireRepo(fullName).deployments.find((d) => d.id === deploymentId);
      if (!deployment) throw new Error(`github double: no deployment ${deploymentId} in ${fullName}`);
      const status: StatusRecord = {
        id: ids.status++,
        state: spec.state,
        description: spec.description ?? '',
        creator: spec.creator ?? deployment.creator,
        createdAt: iso(spec.createdAt, now),
        logUrl: spec.logUrl ?? spec.targetUrl ?? '',
        targetUrl: spec.targetUrl ?? spec.logUrl ?? '',
        environmentUrl: spec.environmentUrl ?? '',
      };
      deployment.statuses.push(status);
      deployment.updatedAt = status.createdAt;
      return status;
    },
    setCommitStatus: (fullName, sha, context, value) => {
      const repo = requireRepo(fullName);
      const contexts = repo.checks.get(sha) ?? new Map();
      contexts.set(context, value);
      repo.checks.set(sha, contexts);
    },
    setRateLimit: (limit) => {
      const windows = limit.resource ? [limit.resource === 'core' ? rate : graphqlRate] : [rate, graphqlRate];
      for (const window of windows) {
        if (limit.limit !== undefined) window.limit = limit.limit;
        if (limit.remaining !== undefined) window.used = window.limit - limit.remaining;
        if (limit.resetAt !== undefined) window.resetAt = limit.resetAt;
      }
    },
    fail: (fault) => {
      faults.push({ ...fault, left: fault.times ?? 1 });
    },
    clearFaults: () => {
      faults.length = 0;
    },
    load: (fixture) => {
      for (const spec of fixture.repos) {
        const { workflows, runs, deployments, ...repoSpec } = spec;
        state.addRepo(repoSpec);
        for (const workflow of workflows ?? []) state.addWorkflow(spec.name, workflow);
        for (const run of runs ?? []) state.addRun(spec.name, run);
        for (const deployment of deployments ?? []) state.addDeployment(spec.name, deployment);
      }
    },
    requestProtectionRule: (fullName, spec) => {
      const repo = requireRepo(fullName);
      const ref = spec.ref ?? repo.defaultBranch;
      const actor = spec.actor ?? 'octocat';
      const run = state.addRun(fullName, {
        workflow: 'deploy.yml',
        status: 'waiting',
        conclusion: null,
        branch: ref,
        event: spec.event ?? 'push',
        actor,
        ...(spec.sha ? { sha: spec.sha } : {}),
      });
      const deployment = state.addDeployment(fullName, {
        ref,
        sha: run.sha,
        environment: spec.environment,
        creator: actor,
      });
      const rule: ProtectionRuleRecord = {
        runId: run.id,
        environment: spec.environment,
        installationId: spec.installationId,
        deploymentId: deployment.id,
        state: 'pending',
        reviews: [],
      };
      repo.protectionRules.push(rule);
      // The shape of docs.github.com/webhooks/webhook-events-and-payloads#deployment_protection_rule.
      const payload = {
        action: 'requested',
        environment: spec.environment,
        event: run.event,
        sha: run.sha,
        ref: `refs/heads/${ref}`,
        deployment_callback_url: `${base}/repos/${repo.fullName}/actions/runs/${run.id}/deployment_protection_rule`,
        deployment: deploymentJson(repo, deployment),
        pull_requests: [],
        repository: repoJson(repo),
        organization: {
          login: repo.owner,
          id: userId(repo.owner),
          node_id: Buffer.from(`012:Organization${userId(repo.owner)}`).toString('base64'),
          url: `${base}/orgs/${repo.owner}`,
          description: null,
        },
        installation: {
          id: spec.installationId,
          node_id: Buffer.from(`023:Installation${spec.installationId}`).toString('base64'),
        },
        sender: user(actor),
      };
      return { rule, payload };
    },
  };
  for (const spec of options.repos ?? []) state.addRepo(spec);

  // ----- JSON renderings, in the shape of GitHub's responses -----

  const repoJson = (repo: RepoRecord) => ({
    id: repo.id,
    node_id: Buffer.from(`010:Repository${repo.id}`).toString('base64'),
    name: repo.name,
    full_name: repo.fullName,
    private: repo.private,
    owner: user(repo.owner),
    html_url: `${webUrl}/${repo.fullName}`,
    url: `${base}/repos/${repo.fullName}`,
    default_branch: repo.defaultBranch,
    visibility: repo.private ? 'private' : 'public',
  });
  const workflowJson = (repo: RepoRecord, workflow: WorkflowRecord) => ({
    id: workflow.id,
    node_id: Buffer.from(`011:Workflow${workflow.id}`).toString('base64'),
    name: workflow.name,
    path: workflow.path,
    state: workflow.state,
    created_at: workflow.createdAt,
    updated_at: workflow.createdAt,
    url: `${base}/repos/${repo.fullName}/actions/workflows/${workflow.id}`,
    html_url: `${webUrl}/${repo.fullName}/blob/${repo.defaultBranch}/${workflow.path}`,
    badge_url: `${webUrl}/${repo.fullName}/workflows/${encodeURIComponent(workflow.name)}/badge.svg`,
  });
  const runJson = (repo: RepoRecord, run: RunRecord) => {
    const api = `${base}/repos/${repo.fullName}/actions/runs/${run.id}`;
    return {
      id: run.id,
      name: run.name,
      node_id: Buffer.from(`012:WorkflowRun${run.id}`).toString('base64'),
      head_branch: run.branch,
      head_sha: run.sha,
      path: run.path,
      display_title: run.name,
      run_number: run.runNumber,
      event: run.event,
      status: run.status,
      conclusion: run.conclusion,
      workflow_id: run.workflowId,
      check_suite_id: run.id + 7,
      url: api,
      html_url: `${webUrl}/${repo.fullName}/actions/runs/${run.id}`,
      pull_requests: [],
      created_at: run.createdAt,
      updated_at: run.updatedAt,
      actor: user(run.actor),
      triggering_actor: user(run.actor),
      run_attempt: run.attempt,
      run_started_at: run.createdAt,
      jobs_url: `${api}/jobs`,
      logs_url: `${api}/logs`,
      check_suite_url: `${base}/repos/${repo.fullName}/check-suites/${run.id + 7}`,
      artifacts_url: `${api}/artifacts`,
      cancel_url: `${api}/cancel`,
      rerun_url: `${api}/rerun`,
      workflow_url: `${base}/repos/${repo.fullName}/actions/workflows/${run.workflowId}`,
      repository: repoJson(repo),
      head_repository: repoJson(repo),
    };
  };
  const deploymentJson = (repo: RepoRecord, deployment: DeploymentRecord) => {
    const api = `${base}/repos/${repo.fullName}/deployments/${deployment.id}`;
    return {
      url: api,
      id: deployment.id,
      node_id: Buffer.from(`010:Deployment${deployment.id}`).toString('base64'),
      sha: deployment.sha,
      ref: deployment.ref,
      task: deployment.task,
      payload: deployment.payload,
      original_environment: deployment.environment,
      environment: deployment.environment,
      description: deployment.description,
      creator: user(deployment.creator),
      created_at: deployment.createdAt,
      updated_at: deployment.updatedAt,
      statuses_url: `${api}/statuses`,
      repository_url: `${base}/repos/${repo.fullName}`,
      transient_environment: deployment.transient,
      production_environment: deployment.production,
    };
  };
  const statusJson = (repo: RepoRecord, deployment: DeploymentRecord, status: StatusRecord) => ({
    url: `${base}/repos/${repo.fullName}/deployments/${deployment.id}/statuses/${status.id}`,
    id: status.id,
    node_id: Buffer.from(`016:DeploymentStatus${status.id}`).toString('base64'),
    state: status.state,
    creator: user(status.creator),
    description: status.description,
    environment: deployment.environment,
    target_url: status.targetUrl,
    log_url: status.logUrl,
    environment_url: status.environmentUrl,
    created_at: status.createdAt,
    updated_at: status.createdAt,
    deployment_url: `${base}/repos/${repo.fullName}/deployments/${deployment.id}`,
    repository_url: `${base}/repos/${repo.fullName}`,
  });
  const commitJson = (repo: RepoRecord, sha: string) => ({
    sha,
    node_id: Buffer.from(`06:Commit${sha}`).toString('base64'),
    commit: {
      author: { name: 'The Octocat', email: 'octocat@github.com', date: iso(undefined, now) },
      committer: { name: 'GitHub', email: 'noreply@github.com', date: iso(undefined, now) },
      message: `commit ${sha.slice(0, 7)}`,
      tree: {
        sha: sha1Like(`tree:${sha}`),
        url: `${base}/repos/${repo.fullName}/git/trees/${sha1Like(`tree:${sha}`)}`,
      },
      url: `${base}/repos/${repo.fullName}/git/commits/${sha}`,
      comment_count: 0,
    },
    url: `${base}/repos/${repo.fullName}/commits/${sha}`,
    html_url: `${webUrl}/${repo.fullName}/commit/${sha}`,
    author: user('octocat'),
    committer: user('web-flow'),
    parents: [],
    stats: { total: 0, additions: 0, deletions: 0 },
    files: [],
  });

  /** One page of `items` with GitHub's `Link` header (next, last, first, prev). */
  const page = (url: URL, items: unknown[], wrap?: (slice: unknown[]) => unknown): HttpAnswer => {
    const perPage = Math.min(100, Math.max(1, Number(url.searchParams.get('per_page') ?? 30) || 30));
    const current = Math.max(1, Number(url.searchParams.get('page') ?? 1) || 1);
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const slice = items.slice((current - 1) * perPage, current * perPage);
    const link = (n: number) => {
      const target = new URL(url.toString());
      target.searchParams.set('per_page', String(perPage));
      target.searchParams.set('page', String(n));
      return `<${base}${target.pathname}${target.search}>`;
    };
    const rels: string[] = [];
    if (current > 1) rels.push(`${link(current - 1)}; rel="prev"`);
    if (current < last) rels.push(`${link(current + 1)}; rel="next"`, `${link(last)}; rel="last"`);
    if (current > 1) rels.push(`${link(1)}; rel="first"`);
    return new HttpAnswer(200, wrap ? wrap(slice) : slice, rels.length > 0 ? { link: rels.join(', ') } : {});
  };

  // ----- routes -----

  type Handler = (
    match: RegExpExecArray,
    request: { url: URL; body: Record<string, unknown>; anonymous: boolean; headers: IncomingHttpHeaders },
  ) => HttpAnswer;
  const routes: Array<{ method: string; pattern: RegExp; doc: string; handle: Handler }> = [];
  const route = (method: string, pattern: RegExp, doc: string, handle: Handler) =>
    routes.push({ method, pattern, doc, handle });
  const REPO = '/repos/([^/]+)/([^/]+)';

  /** The repository named in the path, or 404 as GitHub answers (also for a private one seen anonymously). */
  const repoFrom = (match: RegExpExecArray, anonymous: boolean, doc: string): RepoRecord => {
    const repo = repos.get(
      key(`${decodeURIComponent(match[1] ?? '')}/${decodeURIComponent(match[2] ?? '')}`),
    );
    if (!repo || (repo.private && anonymous)) throw notFound(doc);
    return repo;
  };

  // ----- GitHub App: installation tokens (JWT in), the protection rule review (installation token in) -----

  const issued = new Map<string, { installationId: number; expiresAt: Date }>();
  const installationTokens: string[] = [];
  const unauthorized = (message: string, doc: string) =>
    new HttpAnswer(401, { message, documentation_url: doc, status: '401' });

  /** The App a request's `Authorization: Bearer <JWT>` proves, as GitHub checks it: RS256 under the App's key, iss, iat, exp. */
  const checkAppJwt = (headers: IncomingHttpHeaders): void => {
    const app = options.app;
    const jwt = /^Bearer\s+(\S+)$/i.exec(String(headers.authorization ?? ''))?.[1];
    if (!app || !jwt) throw unauthorized('A JSON web token could not be decoded', DOC.jwt);
    const [head = '', body = '', signature = ''] = jwt.split('.');
    let header: { alg?: unknown };
    let claims: { iss?: unknown; iat?: unknown; exp?: unknown };
    try {
      header = JSON.parse(Buffer.from(head, 'base64url').toString('utf8'));
      claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      throw unauthorized('A JSON web token could not be decoded', DOC.jwt);
    }
    const signed =
      header.alg === 'RS256' &&
      verifySignature(
        'RSA-SHA256',
        Buffer.from(`${head}.${body}`),
        createPublicKey(app.publicKey),
        Buffer.from(signature, 'base64url'),
      );
    if (!signed) throw unauthorized('A JSON web token could not be decoded', DOC.jwt);
    if (String(claims.iss) !== String(app.id))
      throw unauthorized(`'Issuer' claim ('iss') must be an Integer`, DOC.jwt);
    const nowSeconds = Math.floor(now().getTime() / 1000);
    if (typeof claims.exp !== 'number' || claims.exp <= nowSeconds || claims.exp - nowSeconds > 600 + 60)
      throw unauthorized(
        "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
        DOC.jwt,
      );
    if (typeof claims.iat !== 'number' || claims.iat > nowSeconds + 60)
      throw unauthorized(
        "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued",
        DOC.jwt,
      );
  };

  /** The installation whose unexpired token the request carries (`token` or `Bearer`). */
  const installationOf = (headers: IncomingHttpHeaders): number => {
    const token = String(headers.authorization ?? '').replace(/^(token|bearer)\s+/i, '');
    const found = issued.get(token);
    if (!found || found.expiresAt.getTime() <= now().getTime()) throw unauthorized('Bad credentials', DOCS);
    return found.installationId;
  };

  route('POST', /^\/app\/installations\/(\d+)\/access_tokens$/, DOC.installationToken, (m, r) => {
    checkAppJwt(r.headers);
    const installationId = Number(m[1]);
    if (!options.app?.installations.includes(installationId)) throw notFound(DOC.installationToken);
    const token = `ghs_${randomBytes(18).toString('hex')}`;
    const expiresAt = new Date(now().getTime() + 3_600_000);
    issued.set(token, { installationId, expiresAt });
    installationTokens.push(token);
    return new HttpAnswer(201, {
      token,
      expires_at: iso(expiresAt, now),
      permissions: { actions: 'read', deployments: 'write', metadata: 'read' },
      repository_selection: 'all',
    });
  });

  route(
    'POST',
    new RegExp(`^${REPO}/actions/runs/(\\d+)/deployment_protection_rule$`),
    DOC.reviewRules,
    (m, r) => {
      const installationId = installationOf(r.headers);
      const repo = repoFrom(m, false, DOC.reviewRules);
      const runId = Number(m[3]);
      if (!repo.runs.some((run) => run.id === runId)) throw notFound(DOC.reviewRules);
      const { environment_name: environment, state: verdict, comment } = r.body;
      if (typeof environment !== 'string' || environment === '')
        throw unprocessable('Invalid request.\n\n"environment_name" wasn\'t supplied.', DOC.reviewRules);
      if (verdict !== undefined && verdict !== 'approved' && verdict !== 'rejected')
        throw unprocessable(
          `Invalid request.\n\nFor 'properties/state', "${String(verdict)}" is not a member of enum.`,
          DOC.reviewRules,
        );
      if (verdict === undefined && (typeof comment !== 'string' || comment === ''))
        throw unprocessable('Invalid request.\n\n"comment" wasn\'t supplied.', DOC.reviewRules);
      const rule = repo.protectionRules.find(
        (candidate) =>
          candidate.runId === runId &&
          candidate.environment === environment &&
          candidate.installationId === installationId,
      );
      // GitHub Apps review only their own rules, and only while the rule is pending.
      if (rule?.state !== 'pending')
        throw unprocessable('No pending deployment protection rule for this environment', DOC.reviewRules);
      rule.reviews.push({
        ...(verdict ? { state: verdict } : {}),
        ...(typeof comment === 'string' ? { comment } : {}),
        installationId,
        at: iso(undefined, now),
      });
      if (verdict) rule.state = verdict;
      return new HttpAnswer(204, undefined);
    },
  );

  route(
    'GET',
    new RegExp(`^${REPO}$`),
    DOC.repo,
    (m, r) => new HttpAnswer(200, repoJson(repoFrom(m, r.anonymous, DOC.repo))),
  );

  route('GET', new RegExp(`^${REPO}/actions/workflows/([^/]+)$`), DOC.workflow, (m, r) => {
    const repo = repoFrom(m, r.anonymous, DOC.workflow);
    const workflow = findWorkflow(repo, decodeURIComponent(m[3] ?? ''));
    if (!workflow) throw notFound(DOC.workflow);
    return new HttpAnswer(200, workflowJson(repo, workflow));
  });

  route('POST', new RegExp(`^${REPO}/actions/workflows/([^/]+)/dispatches$`), DOC.dispatch, (m, r) => {
    const repo = repoFrom(m, r.anonymous, DOC.dispatch);
    const workflow = findWorkflow(repo, decodeURIComponent(m[3] ?? ''));
    if (!workflow) throw notFound(DOC.dispatch);
    const ref = r.body.ref;
    if (typeof ref !== 'string' || ref === '')
      throw unprocessable('Invalid request.\n\n"ref" wasn\'t supplied.', DOC.dispatch);
    const sha = resolveRef(repo, ref);
    if (!sha) throw unprocessable(`No ref found for: ${ref}`, DOC.dispatch);
    if (!workflow.dispatchable)
      throw unprocessable("Workflow does not have 'workflow_dispatch' trigger", DOC.dispatch);
    const inputs = (r.body.inputs ?? {}) as Record<string, unknown>;
    const unexpected = Object.keys(inputs).filter((name) => !(name in workflow.inputs));
    if (unexpected.length > 0)
      throw unprocessable(`Unexpected inputs provided: ${JSON.stringify(unexpected)}`, DOC.dispatch);
    for (const [name, spec] of Object.entries(workflow.inputs)) {
      if (spec.required && inputs[name] === undefined)
        throw unprocessable(`Required input '${name}' not provided`, DOC.dispatch);
    }
    repo.dispatches.push({ workflowId: workflow.id, ref, inputs, at: iso(undefined, now) });
    state.addRun(repo.fullName, {
      workflow: workflow.id,
      status: 'queued',
      conclusion: null,
      branch: ref.replace(/^refs\/(heads|tags)\//, ''),
      sha,
      event: 'workflow_dispatch',
    });
    return new HttpAnswer(204, undefined);
  });

  const listRuns = (repo: RepoRecord, url: URL, workflow?: WorkflowRecord) => {
    const q = url.searchParams;
    const runs = repo.runs
      .filter((run) => !workflow || run.workflowId === workflow.id)
      .filter((run) => !q.get('branch') || run.branch === q.get('branch'))
      .filter((run) => !q.get('event') || run.event === q.get('event'))
      .filter((run) => !q.get('head_sha') || run.sha === q.get('head_sha'))
      .filter((run) => !q.get('actor') || run.actor === q.get('actor'))
      // `status` takes a status or a conclusion.
      .filter(
        (run) => !q.get('status') || run.status === q.get('status') || run.conclusion === q.get('status'),
      )
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id - a.id);
    return page(
      url,
      runs.map((run) => runJson(repo, run)),
      (slice) => ({ total_count: runs.length, workflow_runs: slice }),
    );
  };

  route('GET', new RegExp(`^${REPO}/actions/workflows/([^/]+)/runs$`), DOC.workflowRuns, (m, r) => {
    const repo = repoFrom(m, r.anonymous, DOC.workflowRuns);
    const workflow = findWorkflow(repo, decodeURIComponent(m[3] ?? ''));
    if (!workflow) throw notFound(DOC.workflowRuns);
    return listRuns(repo, r.url, workflow);
  });

  route('GET', new RegExp(`^${REPO}/actions/runs$`), DOC.runs, (m, r) =>
    listRuns(repoFrom(m, r.anonymous, DOC.runs), r.url),
  );

  route('GET', new RegExp(`^${REPO}/actions/runs/(\\d+)$`), DOC.run, (m, r) => {
    const repo = repoFrom(m, r.anonymous, DOC.run);
    const run = repo.runs.find((candidate) => String(candidate.id) === m[3]);
    if (!run) throw notFound(DOC.run);
    return new HttpAnswer(200, runJson(repo, run));
  });

  route('POST', new RegExp(`^${REPO}/actions/runs/(\\d+)/rerun-failed-jobs$`), DOC.rerunFailed, (m, r) => {
    const repo = repoFrom(m, r.anonymous, DOC.rerunFailed);
    const run = repo.runs.find((candidate) => String(candidate.id) === m[3]);
    if (!run) throw notFound(DOC.rerunFailed);
    if (run.status !== 'completed') throw forbidden('This workflow is already running', DOC.rerunFailed);
    if (run.conclusion === 'success') throw forbidden('This workflow run cannot be retried', DOC.rerunFailed);
    run.status = 'queued';
    run.conclusion = null;
    run.attempt += 1;
    run.updatedAt = iso(undefined, now);
    return new HttpAnswer(201, {});
  });

  route('GET', new RegExp(`^${REPO}/deployments$`), DOC.deployments, (m, r) => {
    const repo = repoFrom(m, r.anonymous, DOC.deployments);
    const q = r.url.searchParams;
    const found = repo.deployments
      .filter((d) => !q.get('environment') || d.environment === q.get('environment'))
      .filter((d) => !q.get('ref') || d.ref === q.get('ref'))
      .filter((d) => !q.get('sha') || d.sha === q.get('sha'))
      .filter((d) => !q.get('task') || d.task === q.get('task'))
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id - a.id);
    return page(
      r.url,
      found.map((d) => deploymentJson(repo, d)),
    );
  });

  route('POST', new RegExp(`^${REPO}/deployments$`), DOC.createDeployment, (m, r) => {
    const repo = repoFrom(m, r.anonymous, DOC.createDeployment);
    const {
      ref,
      environment = 'production',
      task = 'deploy',
      description = null,
      required_contexts,
    } = r.body as {
      ref?: unknown;
      environment?: unknown;
      task?: unknown;
      description?: unknown;
      required_contexts?: unknown;
    };
    if (typeof ref !== 'string' || ref === '') {
      throw unprocessable('Invalid request.\n\n"ref" wasn\'t supplied.', DOC.createDeployment);
    }
    if (typeof environment !== 'string' || environment.length > 255) {
      throw unprocessable('Validation Failed', DOC.createDeployment, [
        {
          resource: 'Deployment',
          code: 'custom',
          field: 'environment',
          message: 'environment is too long (maximum is 255 characters)',
        },
      ]);
    }
    const sha = resolveRef(repo, ref);
    if (!sha) throw unprocessable(`No ref found for: ${ref}`, DOC.createDeployment);
    const contexts = repo.checks.get(sha) ?? new Map<string, string>();
    const required = Array.isArray(required_contexts)
      ? (required_contexts as string[])
      : [...contexts.keys()];
    if (required.some((context) => contexts.get(context) !== 'success')) {
      return new HttpAnswer(409, {
        message: `Conflict: Commit status checks failed for ${ref}.`,
        documentation_url: DOC.createDeployment,
        status: '409',
      });
    }
    const deployment = state.addDeployment(repo.fullName, {
      ref,
      sha,
      environment,
      task: String(task),
      description: description === null ? null : String(description),
      creator: r.anonymous ? 'ghost' : 'millwright-bot',
    });
    return new HttpAnswer(201, deploymentJson(repo, deployment), {
      location: `${base}/repos/${repo.fullName}/deployments/${deployment.id}`,
    });
  });

  const deploymentFrom = (m: RegExpExecArray, repo: RepoRecord, doc: string) => {
    const deployment = repo.deployments.find((d) => String(d.id) === m[3]);
    if (!deployment) throw notFound(doc);
    return deployment;
  };

  route('GET', new RegExp(`^${REPO}/deployments/(\\d+)$`), DOC.deployment, (m, r) => {
    const repo = repoFrom(m, r.anonymous, DOC.deployment);
    return new HttpAnswer(200, deploymentJson(repo, deploymentFrom(m, repo, DOC.deployment)));
  });

  route('GET', new RegExp(`^${REPO}/deployments/(\\d+)/statuses$`), DOC.statuses, (m, r) => {
    const repo = repoFrom(m, r.anonymous, DOC.statuses);
    const deployment = deploymentFrom(m, repo, DOC.statuses);
    const newestFirst = [...deployment.statuses].reverse();
    return page(
      r.url,
      newestFirst.map((status) => statusJson(repo, deployment, status)),
    );
  });

  route('POST', new RegExp(`^${REPO}/deployments/(\\d+)/statuses$`), DOC.createStatus, (m, r) => {
    const repo = repoFrom(m, r.anonymous, DOC.createStatus);
    const deployment = deploymentFrom(m, repo, DOC.createStatus);
    const body = r.body as Record<string, unknown>;
    if (typeof body.state !== 'string' || !STATUS_STATES.includes(body.state)) {
      throw unprocessable('Validation Failed', DOC.createStatus, [
        {
          resource: 'DeploymentStatus',
          code: 'custom',
          field: 'state',
          message: 'state is not included in the list',
        },
      ]);
    }
    const text = (name: string) => (typeof body[name] === 'string' ? (body[name] as string) : undefined);
    const status = state.addDeploymentStatus(repo.fullName, deployment.id, {
      state: body.state as StatusSpec['state'],
      ...(text('description') ? { description: text('description') as string } : {}),
      ...(text('log_url') ? { logUrl: text('log_url') as string } : {}),
      ...(text('target_url') ? { targetUrl: text('target_url') as string } : {}),
      ...(text('environment_url') ? { environmentUrl: text('environment_url') as string } : {}),
      creator: r.anonymous ? 'ghost' : 'millwright-bot',
    });
    return new HttpAnswer(201, statusJson(repo, deployment, status));
  });

  route('GET', new RegExp(`^${REPO}/commits/(.+)$`), DOC.commit, (m, r) => {
    const repo = repoFrom(m, r.anonymous, DOC.commit);
    const ref = decodeURIComponent(m[3] ?? '');
    const sha = resolveRef(repo, ref);
    if (!sha) throw unprocessable(`No commit found for SHA: ${ref}`, DOC.commit);
    if (String(r.headers.accept ?? '').includes('application/vnd.github.sha')) {
      return new HttpAnswer(200, sha, { 'content-type': 'application/vnd.github.sha; charset=utf-8' });
    }
    return new HttpAnswer(200, commitJson(repo, sha));
  });

  // ----- the server -----

  const rateHeaders = (): Record<string, string> => {
    const resetAt = rate.resetAt ?? new Date(now().getTime() + 3_600_000);
    return {
      'x-ratelimit-limit': String(rate.limit),
      'x-ratelimit-remaining': String(Math.max(0, rate.limit - rate.used)),
      'x-ratelimit-reset': String(Math.floor(resetAt.getTime() / 1000)),
      'x-ratelimit-used': String(Math.min(rate.used, rate.limit)),
      'x-ratelimit-resource': 'core',
    };
  };
  const requestId = () =>
    [2, 2, 3, 3, 4].map((bytes) => randomBytes(bytes).toString('hex').toUpperCase()).join(':');

  const send = (res: ServerResponse, answer: HttpAnswer, extra: Record<string, string> = {}) => {
    const isText = typeof answer.body === 'string';
    const headers: Record<string, string> = {
      'content-type': 'application/json; charset=utf-8',
      'x-github-media-type': 'github.v3; format=json',
      'x-github-api-version-selected': '2022-11-28',
      'x-github-request-id': requestId(),
      ...rateHeaders(),
      ...extra,
      ...answer.headers,
    };
    if (answer.status === 204 || answer.body === undefined) {
      delete headers['content-type'];
      res.writeHead(answer.status, headers).end();
      return;
    }
    res.writeHead(answer.status, headers).end(isText ? (answer.body as string) : JSON.stringify(answer.body));
  };

  const faultAnswer = (
    answer: FaultAnswer,
    anonymous: boolean,
    graphql: boolean,
  ): HttpAnswer | 'hang' | 'reset' => {
    if (answer === 'hang' || answer === 'reset') return answer;
    if (graphql && answer === 'rateLimited')
      return fromGraphQL(graphqlRateLimitedAnswer(graphqlBackend, { exhausted: true }));
    if (graphql && answer === 'secondaryRateLimited')
      return fromGraphQL(graphqlSecondaryRateLimitedAnswer(graphqlBackend));
    if (answer === 'error500' || answer === 'error502' || answer === 'error503') {
      const status = Number(answer.slice(5));
      // GitHub's 5xx pages are often not JSON; a 502 is typically an HTML body from the edge.
      return status === 500
        ? new HttpAnswer(500, { message: 'Server Error', documentation_url: DOCS, status: '500' })
        : new HttpAnswer(status, '<html><body><h1>Unicorn!</h1></body></html>', {
            'content-type': 'text/html; charset=utf-8',
          });
    }
    if (answer === 'rateLimited') return rateLimited(anonymous);
    if (answer === 'secondaryRateLimited') {
      return new HttpAnswer(
        403,
        {
          message:
            'You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID 0000:1111:2222:3333:44444444.',
          documentation_url: DOC.secondary,
          status: '403',
        },
        { 'retry-after': '60' },
      );
    }
    return new HttpAnswer(answer.status, answer.body, answer.headers ?? {});
  };

  const rateLimited = (anonymous: boolean) => {
    const resetAt = rate.resetAt ?? new Date(now().getTime() + 3_600_000);
    return new HttpAnswer(
      403,
      {
        message: anonymous
          ? "API rate limit exceeded for 127.0.0.1. (But here's the good news: Authenticated requests get a higher rate limit. Check out the documentation for more details.)"
          : `API rate limit exceeded for user ID ${userId('millwright-bot')}. If you reach out to GitHub Support for help, please include the request ID 0000:1111:2222:3333:44444444.`,
        documentation_url: DOC.rateLimit,
        status: '403',
      },
      {
        'x-ratelimit-limit': String(rate.limit),
        'x-ratelimit-remaining': '0',
        'x-ratelimit-used': String(rate.limit),
        'x-ratelimit-reset': String(Math.floor(resetAt.getTime() / 1000)),
        'x-ratelimit-resource': 'core',
      },
    );
  };

  // ----- GraphQL (POST /graphql; Octokit posts to /api/graphql when given a GHE /api/v3 baseUrl) -----

  const GRAPHQL_PATHS = new Set(['/graphql', '/api/graphql']);
  const graphqlBackend: GraphQLBackend = {
    repository: (owner, name) => repos.get(key(`${owner}/${name}`)),
    viewer: 'millwright-bot',
    actorId: userId,
    now,
    webUrl,
    window: graphqlRate,
  };
  const fromGraphQL = (answer: GraphQLHttpAnswer) =>
    new HttpAnswer(answer.status, answer.body, {
      'x-github-media-type': 'github.v4; format=json',
      ...answer.headers,
    });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: unknown = raw;
    let badJson = false;
    if (raw !== '') {
      try {
        body = JSON.parse(raw);
      } catch {
        // Kept as text in the log; GitHub answers 400 "Problems parsing JSON".
        badJson = true;
      }
    }
    const recorded: RecordedRequest = {
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body,
    };
    requests.push(recorded);

    const authorization = String(req.headers.authorization ?? '');
    const presented = authorization.replace(/^(token|bearer)\s+/i, '');
    const anonymous = authorization === '';
    const graphql = GRAPHQL_PATHS.has(url.pathname);
    // The App's own routes check the JWT or the installation token themselves.
    const appCall = options.app !== undefined && (url.pathname.startsWith('/app/') || issued.has(presented));
    if (!anonymous && !appCall && options.token !== undefined && presented !== options.token) {
      send(
        res,
        graphql
          ? fromGraphQL({
              status: 401,
              body: { message: 'Bad credentials', documentation_url: GRAPHQL_DOCS },
              headers: graphqlRateHeaders(graphqlRate, now()),
            })
          : new HttpAnswer(401, { message: 'Bad credentials', documentation_url: DOCS, status: '401' }),
      );
      return;
    }
    // Unlike REST, GraphQL has no anonymous access.
    if (graphql && anonymous) {
      send(
        res,
        fromGraphQL({
          status: 401,
          body: {
            message: 'This endpoint requires you to be authenticated.',
            documentation_url: `${GRAPHQL_DOCS}/guides/forming-calls-with-graphql#authenticating-with-graphql`,
          },
          headers: graphqlRateHeaders(graphqlRate, now()),
        }),
      );
      return;
    }

    const fault = faults.find(
      (candidate) =>
        candidate.left > 0 &&
        (!candidate.method || candidate.method.toUpperCase() === method) &&
        (typeof candidate.path === 'string'
          ? candidate.path === url.pathname
          : candidate.path.test(url.pathname)) &&
        (!candidate.when || candidate.when(recorded)),
    );
    if (fault) {
      fault.left -= 1;
      const answer = faultAnswer(fault.answer, anonymous, graphql);
      if (answer === 'hang') {
        hung.add(res);
        res.on('close', () => hung.delete(res));
        return;
      }
      if (answer === 'reset') {
        req.socket.destroy();
        return;
      }
      send(res, answer, graphql ? graphqlRateHeaders(graphqlRate, now()) : {});
      return;
    }

    if (graphql) {
      if (method !== 'POST') send(res, fromGraphQL(graphqlNotFound(graphqlBackend)));
      else if (badJson)
        send(
          res,
          fromGraphQL({
            status: 400,
            body: { message: 'Problems parsing JSON', documentation_url: GRAPHQL_DOCS },
            headers: graphqlRateHeaders(graphqlRate, now()),
          }),
        );
      else send(res, fromGraphQL(await answerGraphQL(body, graphqlBackend)));
      return;
    }

    // Primary rate limit: a window of `limit` requests that resets at `resetAt`.
    if (rate.resetAt && now().getTime() >= rate.resetAt.getTime()) {
      rate.used = 0;
      rate.resetAt = undefined;
    }
    rate.resetAt ??= new Date(now().getTime() + 3_600_000);
    if (rate.used >= rate.limit) {
      send(res, rateLimited(anonymous));
      return;
    }
    rate.used += 1;

    if (badJson) {
      send(
        res,
        new HttpAnswer(400, { message: 'Problems parsing JSON', documentation_url: DOCS, status: '400' }),
      );
      return;
    }
    for (const candidate of routes) {
      if (candidate.method !== method) continue;
      const match = candidate.pattern.exec(url.pathname);
      if (!match) continue;
      try {
        send(
          res,
          candidate.handle(match, {
            url,
            body: body !== null && typeof body === 'object' ? (body as Record<string, unknown>) : {},
            anonymous,
            headers: req.headers,
          }),
        );
      } catch (error) {
        if (error instanceof HttpAnswer) send(res, error);
        else
          send(res, new HttpAnswer(500, { message: String(error), documentation_url: DOCS, status: '500' }));
      }
      return;
    }
    send(res, notFound(DOCS));
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent)
        send(res, new HttpAnswer(500, { message: String(error), documentation_url: DOCS }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: base,
    state,
    requests,
    installationTokens,
    count: (method, path) =>
      requests.filter(
        (request) =>
          (!method || request.method === method.toUpperCase()) &&
          (path === undefined ||
            (typeof path === 'string' ? request.path === path : path.test(request.path))),
      ).length,
    close: async () => {
      for (const res of hung) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
    },
  };
}
