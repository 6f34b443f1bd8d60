// Does `deploys` over 200 services cost about what its API calls cost? Prints the ratio of the
// command's time to the same calls made raw and in parallel (https/fetch, no clients) in the same run:
// one Kubernetes list, and one GitHub GraphQL query per batch of repositories.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../src/app.js';
import { fixedClock, silentLogger } from '../src/core/index.js';
import { DEFAULT_CONCURRENCY, Limiter } from '../src/deploys/index.js';
import { buildRuntime, createRouter } from '../src/main.js';
import {
  DEFAULT_BATCH_SIZE,
  latestDeploymentsQuery,
  latestDeploymentsVariables,
} from '../src/upstreams/github/latest-deployments.js';
import { startGitHubApi } from '../test/doubles/github-api.js';
import { loadKubernetesScenario, startKubernetesApi } from '../test/doubles/kubernetes-api.js';

const SERVICES = 200;
const ROUNDS = 10;
const TARGET = 2;
const NOW = new Date('2025-01-01T12:00:00Z');
const TOKEN = 'ghp_bench';

const names = Array.from({ length: SERVICES }, (_, i) => `svc-${String(i).padStart(3, '0')}`);
const kubernetes = await startKubernetesApi({
  now: () => NOW,
  objects: names.flatMap((name) =>
    loadKubernetesScenario('healthy', { deployment: name, now: NOW }).filter((o) => o.kind !== 'PodLog'),
  ),
});
const github = await startGitHubApi({ token: TOKEN, now: () => NOW });
github.state.setRateLimit({ limit: 100_000_000, remaining: 100_000_000 });
for (const name of names) {
  github.state.addRepo(`acme/${name}`);
  github.state.addDeployment(`acme/${name}`, {
    ref: 'v1.4.2',
    environment: 'production',
    creator: 'ana',
    createdAt: new Date(NOW.getTime() - 3_600_000),
    statuses: [{ state: 'success', createdAt: new Date(NOW.getTime() - 3_000_000) }],
  });
}
const dir = await mkdtemp(path.join(tmpdir(), 'millwright-bench-deploys-'));
try {
  const catalog = names
    .map(
      (name) =>
        `  ${name}:\n    kubernetes: { namespace: shop, deployments: [${name}] }\n    github: { repo: acme/${name} }`,
    )
    .join('\n');
  await writeFile(
    path.join(dir, 'millwright.yml'),
    `store:\n  path: ./data\nlog:\n  level: silent\nkubernetes:\n  kubeconfig: ${kubernetes.kubeconfigPath}\ngithub:\n  baseUrl: ${github.url}\n  token: ${TOKEN}\naccess:\n  roles:\n    viewer: { allow: ['*'] }\nservices:\n${catalog}\n`,
  );
  const loaded = await loadConfig(path.join(dir, 'millwright.yml'), { env: {} });
  const runtime = await buildRuntime(loaded, { logger: silentLogger(), clock: fixedClock(NOW) });
  const router = createRouter(runtime);
  const deploys = async () => {
    const answer = await router.handle({
      actor: { id: 'bench' },
      surface: 'shell',
      channel: 'bench',
      text: 'deploys',
    });
    const rows = answer.blocks.find((block) => block.type === 'table');
    if (!answer.ok || rows?.type !== 'table' || rows.rows.length !== SERVICES) {
      throw new Error(`deploys failed: ${answer.error?.message ?? 'not every service listed'}`);
    }
  };
  // The floor: the namespace's deployments in one list, and GitHub's newest deployments of every
  // repository, batch by batch, all at once.
  const agent = new Agent({ ca: kubernetes.caPem, keepAlive: true });
  const kubeList = () =>
    new Promise<void>((resolve, reject) => {
      const req = request(
        `${kubernetes.url}/apis/apps/v1/namespaces/shop/deployments?limit=500`,
        { agent, headers: { authorization: `Bearer ${kubernetes.token}`, accept: 'application/json' } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const body = JSON.parse(Buffer.concat(chunks).toString()) as { items?: unknown[] };
            if (body.items?.length !== SERVICES) reject(new Error('unexpected deployment list'));
            else resolve();
          });
        },
      );
      req.on('error', reject);
      req.end();
    });
  // The same query text and variables `deploys` sends, per batch of repositories.
  const batches: string[][] = [];
  for (let i = 0; i < names.length; i += DEFAULT_BATCH_SIZE)
    batches.push(names.slice(i, i + DEFAULT_BATCH_SIZE));
  const githubQuery = async (batch: string[]) => {
    const response = await fetch(`${github.url}/graphql`, {
      method: 'POST',
      headers: { authorization: `bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        query: latestDeploymentsQuery(batch.length),
        variables: latestDeploymentsVariables(
          batch.map((name) => ({ owner: 'acme', repo: name, environment: 'production' })),
          10,
        ),
      }),
    });
    if (!response.ok) throw new Error(`GitHub answered ${response.status}`);
    const body = (await response.json()) as {
      data?: Record<string, { deployments: { nodes: Array<{ latestStatus: { state: string } | null }> } }>;
    };
    batch.forEach((name, i) => {
      if (body.data?.[`r${i}`]?.deployments.nodes[0]?.latestStatus?.state !== 'SUCCESS') {
        throw new Error(`unexpected deployments for ${name}`);
      }
    });
  };
  // The floor keeps to the same bound on GitHub requests in flight that `deploys` keeps to; the
  // unbounded floor is printed too.
  const rawCalls = (githubBound: number) => {
    const github = new Limiter(githubBound);
    return Promise.all([kubeList(), ...batches.map((batch) => github.run(() => githubQuery(batch)))]);
  };
  for (let i = 0; i < 3; i++) {
    await deploys();
    await rawCalls(DEFAULT_CONCURRENCY.github);
    await rawCalls(batches.length);
  }
  kubernetes.clearRequests();
  const githubBefore = github.requests.length;
  await deploys();
  const calls = { kubernetes: kubernetes.requests.length, github: github.requests.length - githubBefore };

  // Alternating rounds keep drift in machine speed from landing on one side only.
  const deploysMs: number[] = [];
  const rawMs: number[] = [];
  const unboundedMs: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    let t = performance.now();
    await deploys();
    deploysMs.push(performance.now() - t);
    t = performance.now();
    await rawCalls(DEFAULT_CONCURRENCY.github);
    rawMs.push(performance.now() - t);
    t = performance.now();
    await rawCalls(batches.length);
    unboundedMs.push(performance.now() - t);
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const ratio = median(deploysMs) / median(rawMs);
  console.log(
    `deploys: ${SERVICES} services / the same API calls made raw in parallel = ${ratio.toFixed(2)} (target <= ${TARGET}); ` +
      `${calls.kubernetes} Kubernetes + ${calls.github} GitHub calls per deploys (${median(deploysMs).toFixed(1)} ms vs ${median(rawMs).toFixed(1)} ms ` +
      `with at most ${DEFAULT_CONCURRENCY.github} GitHub requests at once; ${(median(deploysMs) / median(unboundedMs)).toFixed(2)} against every request at once, ${median(unboundedMs).toFixed(1)} ms)`,
  );
  agent.destroy();
  await runtime.close();
} finally {
  await Promise.all([kubernetes.close(), github.close()]);
  await rm(dir, { recursive: true, force: true });
}
