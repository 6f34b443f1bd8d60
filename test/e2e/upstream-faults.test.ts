// Fault injection through the real commands: each upstream double answers 5xx, 429 with Retry-After,
// resets and hangs; replies are one clear line, retries stay bounded, circuits open and close.
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { Reply, UpstreamResilience } from '../../src/core/index.js';
import { type GitHubApiDouble, startGitHubApi } from '../doubles/github-api.js';
import { type HttpTargetDouble, startHttpTarget } from '../doubles/http-target.js';
import {
  type KubernetesApiDouble,
  loadKubernetesScenario,
  startKubernetesApi,
} from '../doubles/kubernetes-api.js';
import { startTestBot, type TestBot } from '../helpers/runtime.js';
import {
  ATTEMPTS,
  FAILURES_TO_OPEN,
  type FaultPolicy,
  faultPolicy,
  circuitGauge as gauge,
} from '../helpers/upstream-faults.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SHIPPED = path.resolve(HERE, '../../runbooks');
const SLOS = path.resolve(HERE, '../fixtures/slo/scenarios');
const TOKEN = 'ghp_testtoken0000000000000000';
const DEPLOYMENT = '/apis/apps/v1/namespaces/shop/deployments/checkout';
// Three failed calls in a row open a circuit (FAILURES_TO_OPEN); it lets one probe through a minute later.
// A budget asks dozens of queries, 8 at a time. Once one failed after its tries, the next get one try
// each, and once the circuit opens none reach Prometheus: at most the 8 in flight with their retries,
// plus one try for each started before the circuit opened.
const PROMETHEUS_BOUND = 8 * ATTEMPTS + 8;

/** Ada may run everything; nobody else anything. */
const ADA_IS_ADMIN = `access:
  defaultRoles: []
  roles:
    admin: { allow: ['*'] }
  subjects:
    ada: [admin]
`;

const CDN_STATUS = `apiVersion: millwright/v1
kind: Runbook
metadata:
  name: cdn-status
  description: Read the CDN status page through its HTTP API
  owners: [team-edge]
  tags: [http, cdn]
  services: [checkout]
  estimatedManualMinutes: 1
spec:
  permissions:
    roles: [admin]
  risk: low
  changeClass: standard
  confirm: false
  timeout: 1m
  steps:
    - id: status
      uses: http.request
      with:
        target: cdn
        method: GET
        path: /status
`;

/** A Prometheus HTTP API on 127.0.0.1 whose answer the test sets: success, a status, a reset or a hang. */
interface FakePrometheus {
  url: string;
  requests: number;
  /** Answers in order; the last one repeats. */
  answers: Array<'ok' | 'reset' | 'hang' | { status: number; retryAfter?: string }>;
  close(): Promise<void>;
}

async function startFakePrometheus(): Promise<FakePrometheus> {
  const hung = new Set<ServerResponse>();
  const fake: FakePrometheus = { url: '', requests: 0, answers: ['ok'], close: async () => {} };
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      fake.requests++;
      const answer = fake.answers.length > 1 ? fake.answers.shift()! : fake.answers[0]!;
      if (answer === 'reset') return req.socket.destroy();
      if (answer === 'hang') {
        hung.add(res);
        return;
      }
      const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
        res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
      if (answer !== 'ok') {
        return json(
          answer.status,
          { status: 'error', errorType: 'unavailable', error: 'overloaded' },
          answer.retryAfter ? { 'retry-after': answer.retryAfter } : {},
        );
      }
      const now = Date.now() / 1000;
      if (req.url?.includes('query_range')) {
        return json(200, {
          status: 'success',
          data: {
            resultType: 'matrix',
            result: [
              {
                metric: {},
                values: [
                  [now - 60, '0.0001'],
                  [now, '0.0001'],
                ],
              },
            ],
          },
        });
      }
      return json(200, {
        status: 'success',
        data: { resultType: 'vector', result: [{ metric: {}, value: [now, '0.0001'] }] },
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = async () => {
    for (const res of hung) res.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return fake;
}

let k8s: KubernetesApiDouble;
let github: GitHubApiDouble;
let cdn: HttpTargetDouble;
let prometheus: FakePrometheus;
let runbooks: string;
let runId: number;

let bot: TestBot;
let upstreams: UpstreamResilience;
let circuitClock: FaultPolicy['circuitClock'];
/** Every wait the policy asked for, in ms (each runs on a real timer, capped at 20 ms). */
let waits: number[];

beforeAll(async () => {
  k8s = await startKubernetesApi({ objects: loadKubernetesScenario('healthy') });
  github = await startGitHubApi({ token: TOKEN, repos: ['acme/checkout'] });
  github.state.addWorkflow('acme/checkout', { path: '.github/workflows/ci.yml' });
  runId = github.state.addRun('acme/checkout', {
    workflow: '.github/workflows/ci.yml',
    status: 'completed',
    conclusion: 'failure',
  }).id;
  cdn = await startHttpTarget();
  prometheus = await startFakePrometheus();
  runbooks = await mkdtemp(path.join(os.tmpdir(), 'millwright-faults-'));
  await mkdir(runbooks, { recursive: true });
  for (const name of ['restart-deployment.yml', 'rerun-failed-workflow.yml', 'purge-cache.yml']) {
    await copyFile(path.join(SHIPPED, name), path.join(runbooks, name));
  }
  await writeFile(path.join(runbooks, 'cdn-status.yml'), CDN_STATUS);
});

afterAll(async () => {
  await Promise.all([k8s.close(), github.close(), cdn.close(), prometheus.close()]);
  await rm(runbooks, { recursive: true, force: true });
});

beforeEach(async () => {
  ({ upstreams, circuitClock, waits } = faultPolicy());
  k8s.clearFaults();
  k8s.clearRequests();
  github.state.clearFaults();
  prometheus.answers = ['ok'];
  prometheus.requests = 0;
  cdn.requests.length = 0;
  cdn.clearRules();
  bot = await startTestBot({
    upstreams,
    config: `
runbooks:
  dir: ${runbooks}
prometheus:
  url: ${prometheus.url}
  timeout: 200ms
slo:
  dir: ${SLOS}
kubernetes:
  kubeconfig: ${k8s.kubeconfigPath}
  allowedNamespaces: [shop]
  timeout: 300ms
github:
  baseUrl: ${github.url}
  token: ${TOKEN}
  timeout: 300ms
http:
  targets:
    cdn:
      baseUrl: ${cdn.url}/v1/
      timeout: 300ms
${ADA_IS_ADMIN}`,
  });
});

afterEach(async () => {
  await bot.close();
});

/** Runs a command and checks the reply is a refusal of one line with a code and a hint. */
async function failing(line: string): Promise<NonNullable<Reply['error']>> {
  const answer = await bot.run(line, 'ada');
  expect(answer.ok).toBe(false);
  const error = answer.error!;
  expect(error.code).toMatch(/^millwright_[a-z_]+$/);
  expect(error.message).not.toContain('\n');
  expect(error.hint).toBeTruthy();
  return error;
}

/** The audit records of one command: no action is recorded twice for the same step and outcome. */
async function expectAuditedOnce(): Promise<void> {
  const records = await bot.runtime.services.audit.recent({ limit: 500 });
  const keys = records.map((record) => {
    const { action, outcome, ref } = record as unknown as { action: string; outcome?: string; ref?: string };
    // A runbook's executor records name their step in `origin`; the same step twice is a double.
    const step = (record.args as { origin?: string } | undefined)?.origin;
    return `${ref} ${action} ${outcome} ${step ?? ''}`;
  });
  expect(keys.length).toBeGreaterThan(0);
  expect(new Set(keys).size).toBe(keys.length);
}

const circuitGauge = (upstream: string, target: string) => gauge(upstreams, upstream, target);

const circuit = (upstream: string) => upstreams.circuits().find((row) => row.upstream === upstream);

const cdnRequests = (method: string, pathname: string) =>
  cdn.requests.filter((request) => request.method === method && request.path === pathname).length;

describe('an HTTP target', () => {
  it('a 503 on a read is retried a bounded number of times, then one clear error', async () => {
    cdn.on('GET', '/v1/status', { status: 503, body: { error: 'overloaded' } });
    const error = await failing('runbook run cdn-status');
    expect(error.message).toMatch(/503/);
    expect(cdnRequests('GET', '/v1/status')).toBe(ATTEMPTS);
    expect(waits).toHaveLength(ATTEMPTS - 1);
    await expectAuditedOnce();
  });

  it('a 429 with Retry-After is waited out for a read, then the read succeeds', async () => {
    cdn.on('GET', '/v1/status', { status: 200, body: { up: true } });
    cdn.on('GET', '/v1/status', { status: 429, headers: { 'retry-after': '7' } }, 1);
    const answer = await bot.run('runbook run cdn-status', 'ada');
    expect(answer.ok).toBe(true);
    expect(waits).toEqual([7_000]);
    expect(cdnRequests('GET', '/v1/status')).toBe(2);
  });

  it('a Retry-After longer than the policy waits fails at once, saying when to retry', async () => {
    cdn.on('GET', '/v1/status', { status: 429, headers: { 'retry-after': '120' } });
    const error = await failing('runbook run cdn-status');
    expect(error.code).toBe('millwright_rate_limited');
    expect(error.message).toMatch(/retry after 120s/);
    expect(cdnRequests('GET', '/v1/status')).toBe(1);
    expect(waits).toEqual([]);
  });

  it('a reset connection is retried a bounded number of times', async () => {
    cdn.on('GET', '/v1/status', { reset: true });
    const error = await failing('runbook run cdn-status');
    expect(error.code).toBe('millwright_dependency_unavailable');
    expect(cdnRequests('GET', '/v1/status')).toBe(ATTEMPTS);
    await expectAuditedOnce();
  });

  it('a hang is cut at the target timeout, well within the runbook deadline', async () => {
    cdn.on('GET', '/v1/status', { hang: true });
    const error = await failing('runbook run cdn-status');
    expect(error.code).toBe('millwright_timeout');
    expect(error.message).toMatch(/did not answer .* within 300ms/);
    expect(cdnRequests('GET', '/v1/status')).toBe(1);
    await expectAuditedOnce();
  });

  it('a write that gets a 503 is sent once and audited once', async () => {
    cdn.on('POST', '/v1/purge', { status: 503, body: { error: 'overloaded' } });
    await failing('runbook run purge-cache prefix=/static --yes');
    expect(cdnRequests('POST', '/v1/purge')).toBe(1);
    expect(waits).toEqual([]);
    await expectAuditedOnce();
  });

  it('opens its circuit after repeated failures, fails fast, and closes after a good probe', async () => {
    cdn.on('GET', '/v1/status', { status: 503, body: { error: 'overloaded' } }, FAILURES_TO_OPEN * ATTEMPTS);
    for (let run = 0; run < FAILURES_TO_OPEN; run++) await failing('runbook run cdn-status');
    expect(cdnRequests('GET', '/v1/status')).toBe(FAILURES_TO_OPEN * ATTEMPTS);
    expect(await circuitGauge('http', 'cdn')).toBe('2');

    // Open: neither a read nor a write reaches the target.
    const open = await failing('runbook run cdn-status');
    expect(open.message).toMatch(
      /http target cdn \(http:\/\/127\.0\.0\.1:\d+\) is unavailable: circuit open since 12:03:00 UTC, next try 12:04:00 UTC$/,
    );
    await failing('runbook run purge-cache prefix=/static --yes');
    expect(cdn.requests).toHaveLength(FAILURES_TO_OPEN * ATTEMPTS);

    // A minute later one probe goes through; it succeeds, and the circuit closes.
    cdn.on('GET', '/v1/status', { status: 200, body: { up: true } });
    circuitClock.set('2026-12-04T12:04:01.000Z');
    expect((await bot.run('runbook run cdn-status', 'ada')).ok).toBe(true);
    expect(cdn.requests).toHaveLength(FAILURES_TO_OPEN * ATTEMPTS + 1);
    expect(await circuitGauge('http', 'cdn')).toBe('0');
    await expectAuditedOnce();
  });
});

describe('Prometheus', () => {
  it('5xx answers leave the budget unknown with a clear error, retries bounded, then the circuit opens', async () => {
    prometheus.answers = [{ status: 503 }];
    const error = await failing('budget');
    expect(error.code).toBe('millwright_prometheus_unavailable');
    expect(prometheus.requests).toBeGreaterThanOrEqual(FAILURES_TO_OPEN);
    expect(prometheus.requests).toBeLessThanOrEqual(PROMETHEUS_BOUND);
    expect(circuit('prometheus')).toEqual({ upstream: 'prometheus', target: prometheus.url, state: 'open' });

    const before = prometheus.requests;
    const open = await failing('budget');
    expect(open.message).toBe(
      `Prometheus at ${prometheus.url} is unavailable: circuit open since 12:03:00 UTC, next try 12:04:00 UTC`,
    );
    expect(prometheus.requests).toBe(before);

    prometheus.answers = ['ok'];
    circuitClock.set('2026-12-04T12:04:00.000Z');
    await bot.run('budget', 'ada');
    expect(prometheus.requests).toBeGreaterThan(before);
    expect(circuit('prometheus')?.state).toBe('closed');
    await expectAuditedOnce();
  });

  it('a 429 with Retry-After is waited out, then the query is answered', async () => {
    prometheus.answers = [{ status: 429, retryAfter: '4' }, 'ok'];
    await bot.run('budget', 'ada');
    expect(waits[0]).toBe(4_000);
    expect(circuit('prometheus')?.state).toBe('closed');
  });

  it('reset connections and hangs end in a clear error, bounded', async () => {
    prometheus.answers = ['reset'];
    const reset = await failing('budget');
    expect(reset.message).toMatch(/^Prometheus at .* is unavailable: (connection reset|circuit open since)/);
    expect(prometheus.requests).toBeLessThanOrEqual(PROMETHEUS_BOUND);

    circuitClock.set('2026-12-04T12:10:00.000Z');
    prometheus.requests = 0;
    prometheus.answers = ['hang'];
    const hang = await failing('budget');
    expect(hang.message).toMatch(
      /^Prometheus at .* is unavailable: (no answer within 0.2s|circuit open since)/,
    );
    expect(prometheus.requests).toBeLessThanOrEqual(PROMETHEUS_BOUND);
    await expectAuditedOnce();
  });
});

describe('the Kubernetes API', () => {
  const restart = 'runbook run restart-deployment deployment=checkout --yes';

  it('a 503 on a read is retried a bounded number of times, and nothing is written', async () => {
    k8s.inject({ path: DEPLOYMENT, method: 'GET', times: Infinity, fault: 503 });
    const error = await failing(restart);
    expect(error.message).not.toMatch(/circuit/);
    expect(k8s.requestsTo('GET', DEPLOYMENT)).toHaveLength(ATTEMPTS);
    expect(k8s.requestsTo('PATCH', DEPLOYMENT)).toHaveLength(0);
    await expectAuditedOnce();
  });

  it('a 429 with Retry-After is waited out', async () => {
    k8s.inject({ path: DEPLOYMENT, method: 'GET', fault: { status: 429, retryAfterSeconds: 5 } });
    const answer = await bot.run(restart, 'ada');
    expect(answer.ok).toBe(true);
    expect(waits).toEqual([5_000]);
  });

  it('a write that gets a 503 is sent once', async () => {
    k8s.inject({ path: DEPLOYMENT, method: 'PATCH', times: Infinity, fault: 503 });
    await failing(restart);
    expect(k8s.requestsTo('PATCH', DEPLOYMENT)).toHaveLength(1);
    await expectAuditedOnce();
  });

  it('a read that hangs is cut at kubernetes.timeout and retried, bounded, with one clear error', async () => {
    k8s.inject({ path: DEPLOYMENT, method: 'GET', times: Infinity, fault: 'hang' });
    const error = await failing(restart);
    expect(error.code).toBe('millwright_timeout');
    expect(error.message).toMatch(
      /: the Kubernetes API at https:\/\/127\.0\.0\.1:\d+ did not answer within 300ms after 3 attempts \(get deployment shop\/checkout\)$/,
    );
    expect(k8s.requestsTo('GET', DEPLOYMENT)).toHaveLength(ATTEMPTS);
    expect(k8s.requestsTo('PATCH', DEPLOYMENT)).toHaveLength(0);
    await expectAuditedOnce();
  });

  it('hangs open the circuit too; a good probe closes it', async () => {
    k8s.inject({ path: DEPLOYMENT, method: 'GET', times: FAILURES_TO_OPEN * ATTEMPTS, fault: 'hang' });
    for (let run = 0; run < FAILURES_TO_OPEN; run++) await failing(restart);
    expect(await circuitGauge('kubernetes', circuit('kubernetes')!.target)).toBe('2');
    const open = await failing(restart);
    expect(open.message).toMatch(/is unavailable: circuit open since 12:03:00 UTC, next try 12:04:00 UTC$/);
    expect(k8s.requestsTo('GET', DEPLOYMENT)).toHaveLength(FAILURES_TO_OPEN * ATTEMPTS);
    circuitClock.set('2026-12-04T12:04:00.000Z');
    expect((await bot.run(restart, 'ada')).ok).toBe(true);
    expect(circuit('kubernetes')?.state).toBe('closed');
    await expectAuditedOnce();
  });

  it('resets are bounded; then the circuit opens, fails fast, and closes after a good probe', async () => {
    k8s.inject({ path: DEPLOYMENT, method: 'GET', times: FAILURES_TO_OPEN * ATTEMPTS, fault: 'reset' });
    for (let run = 0; run < FAILURES_TO_OPEN; run++) await failing(restart);
    expect(k8s.requestsTo('GET', DEPLOYMENT)).toHaveLength(FAILURES_TO_OPEN * ATTEMPTS);
    const open = await failing(restart);
    expect(open.message).toMatch(
      /the Kubernetes API at https:\/\/127\.0\.0\.1:\d+ is unavailable: circuit open since 12:03:00 UTC, next try 12:04:00 UTC$/,
    );
    expect(k8s.requests.filter((request) => request.path === DEPLOYMENT)).toHaveLength(
      FAILURES_TO_OPEN * ATTEMPTS,
    );
    circuitClock.set('2026-12-04T12:04:00.000Z');
    expect((await bot.run(restart, 'ada')).ok).toBe(true);
    expect(circuit('kubernetes')?.state).toBe('closed');
    await expectAuditedOnce();
  });
});

describe('GitHub', () => {
  const rerun = () => `runbook run rerun-failed-workflow runId=${runId}`;
  const RUN = () => `/repos/acme/checkout/actions/runs/${runId}`;

  it('5xx on reads is bounded, a 5xx on the rerun is sent once, and the circuit opens and closes', async () => {
    const before = github.count();
    github.state.fail({ path: new RegExp(`^${RUN()}`), method: 'GET', times: Infinity, answer: 'error503' });
    const error = await failing(rerun());
    expect(error.message).toMatch(/503|GitHub/);
    const reads = github.count() - before;
    expect(reads).toBeLessThanOrEqual(ATTEMPTS * 2);
    for (let run = 1; run < FAILURES_TO_OPEN; run++) await failing(rerun());
    const sent = github.count();
    const open = await failing(rerun());
    expect(open.message).toMatch(
      /GitHub at http:\/\/127\.0\.0\.1:\d+ is unavailable: circuit open since 12:03:00 UTC/,
    );
    expect(github.count()).toBe(sent);
    await expectAuditedOnce();
  });

  it('a read that hangs is cut at github.timeout with one clear error, and counts towards the circuit', async () => {
    const before = github.count();
    github.state.fail({ path: new RegExp(`^${RUN()}`), method: 'GET', times: Infinity, answer: 'hang' });
    const error = await failing(rerun());
    expect(error.message).toMatch(/: GitHub did not answer within 300ms$/);
    expect(github.count() - before).toBeLessThanOrEqual(ATTEMPTS * 2);
    for (let run = 1; run < FAILURES_TO_OPEN; run++) await failing(rerun());
    const sent = github.count();
    const open = await failing(rerun());
    expect(open.message).toMatch(
      /GitHub at http:\/\/127\.0\.0\.1:\d+ is unavailable: circuit open since 12:03:00 UTC, next try 12:04:00 UTC/,
    );
    expect(github.count()).toBe(sent);
    await expectAuditedOnce();
  });

  it('a 429 with Retry-After on a read is waited out, then the rerun goes through', async () => {
    github.state.fail({
      path: new RegExp(`^${RUN()}$`),
      method: 'GET',
      answer: {
        status: 429,
        headers: { 'retry-after': '3' },
        body: { message: 'You have exceeded a secondary rate limit.' },
      },
    });
    const answer = await bot.run(rerun(), 'ada');
    expect(answer.ok).toBe(true);
    expect(waits).toContain(3_000);
  });

  it('a Retry-After longer than the policy waits fails at once, saying when to retry', async () => {
    const before = github.count();
    github.state.fail({ path: new RegExp(`^${RUN()}$`), method: 'GET', answer: 'secondaryRateLimited' });
    const error = await failing(rerun());
    expect(error.message).toMatch(/GitHub secondary rate limit hit .*; retry after 1m/);
    expect(github.count() - before).toBe(1);
    expect(waits).toEqual([]);
  });

  it('a reset read is retried a bounded number of times', async () => {
    const before = github.count();
    github.state.fail({ path: new RegExp(`^${RUN()}`), method: 'GET', times: Infinity, answer: 'reset' });
    await failing(rerun());
    expect(github.count() - before).toBeLessThanOrEqual(ATTEMPTS * 2);
    await expectAuditedOnce();
  });
});

describe('the resilience section of millwright.yml', () => {
  it('sets the tries and the circuit threshold every upstream gets', async () => {
    const configured = await startTestBot({
      config: `
runbooks:
  dir: ${runbooks}
http:
  targets:
    cdn:
      baseUrl: ${cdn.url}/v1/
resilience:
  attempts: 2
  backoff: 10ms
  failureThreshold: 1
  halfOpenAfter: 1h
${ADA_IS_ADMIN}`,
    });
    try {
      cdn.on('GET', '/v1/status', { status: 503, body: { error: 'overloaded' } });
      expect((await configured.run('runbook run cdn-status', 'ada')).ok).toBe(false);
      expect(cdnRequests('GET', '/v1/status')).toBe(2);
      const open = await configured.run('runbook run cdn-status', 'ada');
      expect(open.error?.message).toMatch(/is unavailable: circuit open since \d\d:\d\d:\d\d UTC/);
      expect(cdnRequests('GET', '/v1/status')).toBe(2);
    } finally {
      await configured.close();
    }
  });
});
