// Three `millwright serve` processes on one real PostgreSQL database behind a round-robin client,
// driven by signed Slack requests against the Slack double, as a Deployment with three replicas is:
// 1,000 mixed commands; 20 racing change requests for one service, approved on another replica than
// the one that filed them, run one at a time and each once (counted at the Kubernetes double); one
// event delivered to two replicas, acted on once; one digest slot, posted once; then `kill -9` of the
// replica running a change mid-way, and another finishes it without repeating a step. The audit
// trail verifies at the end.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { ChangeRequest } from '../../src/changes/types.js';
import {
  type KubernetesApiDouble,
  loadKubernetesScenario,
  startKubernetesApi,
} from '../doubles/kubernetes-api.js';
import { SlackApiDouble } from '../doubles/slack-api.js';
import { describeWithPostgres, type RunningPostgres, startPostgres } from '../helpers/postgres.js';
import { buttonsOf, type Replica, SignedSlack, startReplicas, stopReplicas } from '../helpers/replicas.js';
import { millwright, ROOT } from '../helpers/spawn.js';

const SECRET = 'three-replicas-signing-secret-01';
const AUDIT_KEY = 'three-replicas-audit-key-0123456789';
const OPS = 'C0OPS0001';
const DIGESTS = 'C0DIGEST1';
const ENGINEER = 'U0ENGINEER';
const APPROVER = 'U0APPROVER';
const COMMANDS = ['whoami', 'help', 'change list', 'runbook list', 'digest list', 'incident list', 'audit'];

/** A `${NAME}` reference the config loader fills from the environment. */
const ref = (name: string) => `"$\{${name}}"`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

/** Runs `work` on every item with at most `width` at once. */
async function inParallel<T, R>(
  items: readonly T[],
  width: number,
  work: (item: T, i: number) => Promise<R>,
) {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await work(items[i]!, i);
      }
    }),
  );
  return results;
}

describeWithPostgres(
  'three serve replicas on one PostgreSQL database, driven over signed Slack requests',
  () => {
    let postgres: RunningPostgres;
    let db: pg.Client;
    let slack: SlackApiDouble;
    let k8s: KubernetesApiDouble;
    let dir: string;
    let env: NodeJS.ProcessEnv;
    let replicas: Replica[] = [];
    let client: SignedSlack;
    let digestSlot: Date;

    const changes = async (): Promise<ChangeRequest[]> =>
      (
        await db.query<{ data: ChangeRequest }>(
          "SELECT data FROM millwright_records WHERE collection = 'changes' ORDER BY position",
        )
      ).rows.map((row) => row.data);
    const change = async (id: string) => (await changes()).find((c) => c.id === id);
    /** The writes that set checkout's replicas, as the Kubernetes double received them. */
    const scaleWrites = () =>
      k8s.requests.filter(
        (r) => r.method !== 'GET' && r.path === '/apis/apps/v1/namespaces/shop/deployments/checkout/scale',
      );
    /** Sets checkout's replicas in the double (outside Millwright) and forgets the requests so far. */
    const scaleCheckoutTo = (replicasNow: number) => {
      const deployment = k8s.state.get('Deployment', 'shop', 'checkout')!;
      k8s.state.write({ ...deployment, spec: { ...deployment.spec, replicas: replicasNow } });
      k8s.clearRequests();
    };
    /** Files `change request` on one replica and clicks its Approve button on the next one. */
    async function requestAndApprove(replicasWanted: number, on: Replica, approveOn: Replica, since: number) {
      const filed = await client.slash(
        on,
        `change request scale-deployment deployment=checkout replicas=${replicasWanted}`,
        ENGINEER,
        OPS,
      );
      expect(filed.status).toBe(200);
      // A change request is answered in the channel for everyone to see, with its Approve button.
      const asked = `replicas=${replicasWanted} namespace=shop`;
      const posted = await until(
        `the request for ${replicasWanted} replicas in ${OPS}`,
        async () =>
          slack.messages
            .slice(since)
            .find((m) => m.channel === OPS && m.text?.includes(asked) && /waits for approval/.test(m.text)),
        60_000,
      );
      const id = /CR-\d+/.exec(posted.text ?? '')?.[0];
      const approve = buttonsOf(posted.blocks).find((button) => button.actionId.endsWith('.approve'));
      if (id === undefined || approve === undefined)
        throw new Error(`no change id or Approve button in ${posted.text}`);
      const clicked = await client.click(approveOn, approve.value, APPROVER, OPS);
      expect(clicked.status).toBe(200);
      return { id, clicked };
    }

    beforeAll(async () => {
      postgres = await startPostgres();
      const url = await postgres.createDatabase();
      db = new pg.Client({ connectionString: url });
      await db.connect();
      slack = await SlackApiDouble.start();
      k8s = await startKubernetesApi({
        objects: loadKubernetesScenario('healthy', { deployment: 'checkout' }),
      });
      dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-three-replicas-'));
      await mkdir(path.join(dir, 'data'));
      await mkdir(path.join(dir, 'runbooks'));
      // The shipped scale runbook as a normal change (a person approves it), from 1 replica.
      const scale = await readFile(path.join(ROOT, 'runbooks', 'scale-deployment.yml'), 'utf8');
      await writeFile(
        path.join(dir, 'runbooks', 'scale-deployment.yml'),
        scale.replace('changeClass: standard', 'changeClass: normal').replace('min: 2', 'min: 1'),
      );
      // One digest slot: the first whole minute at least 75 s from now.
      digestSlot = new Date(Math.ceil((Date.now() + 75_000) / 60_000) * 60_000);
      await writeFile(
        path.join(dir, 'millwright.yml'),
        `server: { host: 127.0.0.1, port: 0 }
store: { kind: postgres, path: ./data, url: ${ref('DATABASE_URL')}, migrate: onStart }
audit: { key: ${ref('MILLWRIGHT_AUDIT_KEY')}, keyId: k1 }
slack:
  botToken: ${ref('SLACK_BOT_TOKEN')}
  signingSecret: ${ref('SLACK_SIGNING_SECRET')}
  apiUrl: ${slack.apiUrl}
  stillWorkingAfter: 0s
runbooks: { dir: ./runbooks }
kubernetes: { kubeconfig: ${k8s.kubeconfigPath}, allowedNamespaces: [shop] }
services:
  checkout: { channel: ${OPS}, kubernetes: { namespace: shop, deployments: [checkout] } }
access:
  defaultRoles: [operator]
  roles:
    operator: { allow: ['*'] }
    approver: { allow: ['change.*'] }
  subjects:
    ${APPROVER}: [approver]
policy:
  rules: [{ kind: change-class }, { kind: lock }]
  verify: { window: 2s, interval: 1s }
  handOverAfter: 3s
  workerInterval: 1s
digests:
  - name: minutely
    schedule: "${digestSlot.getUTCMinutes()} ${digestSlot.getUTCHours()} * * *"
    target: ${DIGESTS}
    sections: [changes]
`,
      );
      env = {
        DATABASE_URL: url,
        MILLWRIGHT_AUDIT_KEY: AUDIT_KEY,
        SLACK_BOT_TOKEN: slack.botToken,
        SLACK_SIGNING_SECRET: SECRET,
      };
      // Started together: all three see the empty schema; one migrates while the others wait for it.
      replicas = await startReplicas(dir, 3, env);
      client = new SignedSlack(slack, SECRET, () => replicas);
    }, 180_000);

    afterAll(async () => {
      await stopReplicas(replicas);
      await db?.end();
      await Promise.all([slack?.close(), k8s?.close()]);
      await postgres?.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('acknowledges and answers 1,000 mixed commands sent round robin, each once', async () => {
      const sent = await inParallel(
        Array.from({ length: 1000 }, (_, i) => COMMANDS[i % COMMANDS.length]!),
        // As many in flight as a busy workspace sends; the doubles share this test process's one core.
        8,
        (text, i) => client.slash(client.next(), text, i % 2 ? ENGINEER : APPROVER, OPS),
      );
      expect(sent.filter((s) => s.status === 200)).toHaveLength(1000);
      // Each command answered exactly once, and none with an error.
      const urls = new Set(sent.map((s) => s.responseUrl));
      const answered = () => slack.responsePosts.filter((post) => urls.has(post.url));
      await until(
        'an answer to every command',
        async () => (answered().length >= 1000 ? true : undefined),
        120_000,
      ).catch((error: Error) => {
        const statuses = answered().map((post) => post.status);
        throw new Error(
          `${error.message}: ${answered().length} answers, statuses ${JSON.stringify([...new Set(statuses)])}; ` +
            `replica output: ${replicas.map((r) => r.output().slice(-1500)).join('\n---\n')}`,
        );
      });
      expect(answered()).toHaveLength(1000);
      const replies = answered();
      const failed = replies.filter((r) =>
        /millwright_[a-z_]+|went wrong|Error:/.test(JSON.stringify(r.body)),
      );
      expect(failed.map((r) => r.body.text)).toEqual([]);
      // Every acknowledged command is in the one trail.
      const audited = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM millwright_audit
       WHERE (line::json)->>'surface' = 'slack' AND (line::json)->>'action' LIKE 'command.%'`,
      );
      expect(audited.rows[0]!.n).toBeGreaterThanOrEqual(1000);
    }, 240_000);

    it('runs 20 racing change requests for one service one at a time, each once, approved on another replica', async () => {
      scaleCheckoutTo(25);
      const since = slack.messages.length;
      const filed = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          requestAndApprove(1 + i, replicas[i % 3]!, replicas[(i + 1) % 3]!, since),
        ),
      );
      const ids = filed.map((f) => f.id);
      expect(new Set(ids).size).toBe(20);
      const done = await until(
        'all 20 changes to finish',
        async () => {
          const all = (await changes()).filter((c) => ids.includes(c.id));
          return all.every((c) => ['succeeded', 'failed', 'denied', 'rolled-back'].includes(c.state))
            ? all
            : undefined;
        },
        240_000,
      );
      expect(
        done.filter((c) => c.state !== 'succeeded').map((c) => [c.id, c.state, c.timeline.slice(-4)]),
      ).toEqual([]);
      // Each approved by the approver (on the other replica) and none run twice: one scale per change.
      expect(done.every((c) => c.approvals.some((a) => a.by === APPROVER))).toBe(true);
      const replicaCounts = scaleWrites().map(
        (r) => (r.body as { spec?: { replicas?: number } }).spec?.replicas,
      );
      expect([...replicaCounts].sort((a, b) => a! - b!)).toEqual(Array.from({ length: 20 }, (_, i) => 1 + i));
      // One holder of checkout's lock at a time: no two runs (executing to succeeded) overlap.
      const runs = done
        .map((c) => ({
          start: Date.parse(c.timeline.find((t) => t.event === 'executing')!.at),
          end: Date.parse(c.timeline.find((t) => t.event === 'succeeded')!.at),
        }))
        .sort((a, b) => a.start - b.start);
      for (const [i, run] of runs.entries())
        if (i > 0) expect(run.start).toBeGreaterThanOrEqual(runs[i - 1]!.end);
    }, 300_000);

    it('acts once on one event that reaches every replica (a retry, and a copy of the request)', async () => {
      const ts = `${Math.floor(Date.now() / 1000)}.000777`;
      const body = {
        ...JSON.parse(
          await readFile(path.join(ROOT, 'test', 'fixtures', 'slack', 'app-mention.json'), 'utf8'),
        ),
        team_id: 'T0001',
        event_id: `Ev${Date.now()}TWICE`,
        event_time: Math.floor(Date.now() / 1000),
        event: {
          type: 'app_mention',
          user: ENGINEER,
          text: '<@U0BOT> whoami',
          ts,
          channel: OPS,
          event_ts: ts,
        },
      };
      const before = slack.calls.length;
      const now = Math.floor(Date.now() / 1000);
      // The delivery, Slack's retry of it (signed anew) on another replica, and an exact copy of the
      // delivery on the third, all at once.
      const statuses = await Promise.all([
        client.event(replicas[0]!, body, { timestamp: now - 1 }),
        client.event(replicas[1]!, body, { retryNum: 1, timestamp: now }),
        client.event(replicas[2]!, body, { timestamp: now - 1 }),
      ]);
      expect(statuses[0]).toBe(200);
      expect(statuses[1]).toBe(200);
      // whoami answers the person who mentioned the bot, privately in the channel.
      const inThread = () =>
        slack.calls
          .slice(before)
          .filter(
            (call) => call.args.channel === OPS && String(call.args.text).startsWith(`You are ${ENGINEER}`),
          );
      await until('the answer', async () => (inThread().length > 0 ? true : undefined), 30_000).catch(
        (error: Error) => {
          throw new Error(
            `${error.message}; Slack calls: ${JSON.stringify(slack.calls.slice(-3).map((c) => [c.method, c.args]))}; replica output: ${replicas.map((r) => r.output().slice(-1000)).join('\n---\n')}`,
          );
        },
      );
      await sleep(3_000);
      expect(inThread()).toHaveLength(1);
    }, 60_000);

    it('posts the digest of its one slot exactly once', async () => {
      await sleep(Math.max(0, digestSlot.getTime() + 25_000 - Date.now()));
      await until(
        'the digest',
        async () => (slack.messages.some((m) => m.channel === DIGESTS) ? true : undefined),
        30_000,
      );
      await sleep(3_000);
      expect(slack.messages.filter((m) => m.channel === DIGESTS)).toHaveLength(1);
    }, 200_000);

    it('after kill -9 of the replica running a change mid-way, another finishes it without repeating a step', async () => {
      // The rollout waits until the double's controller is told to act: the change stays mid-way.
      scaleCheckoutTo(25);
      k8s.state.controller = 'manual';
      const { id } = await requestAndApprove(2, replicas[0]!, replicas[1]!, slack.messages.length);
      const midway = await until(
        `${id} waiting for its rollout`,
        async () => {
          const c = await change(id);
          return c?.state === 'executing' && c.execution?.progress?.inFlight?.position === 2 ? c : undefined;
        },
        60_000,
      );
      const holderPid = Number(midway.execution!.progress!.by.split(':')[1]);
      const holder = replicas.find((r) => r.pid === holderPid);
      expect(holder).toBeDefined();
      holder!.child.kill('SIGKILL');
      await holder!.exited;
      expect(scaleWrites()).toHaveLength(1);
      k8s.state.controller = 'instant';
      k8s.state.reconcile('shop', 'checkout');
      const finished = await until(
        `${id} to finish on another replica`,
        async () => {
          const c = await change(id);
          return c && ['succeeded', 'failed', 'rolled-back'].includes(c.state) ? c : undefined;
        },
        90_000,
      );
      expect(finished.state).toBe('succeeded');
      const resumed = finished.timeline.find((t) => t.event === 'resumed');
      expect(resumed?.detail).toMatch(/carries on from step 2/);
      // Said by a live replica about the killed one.
      const [newHolder] = resumed!.detail!.split(' ');
      expect(Number(newHolder!.split(':')[1])).not.toBe(holderPid);
      expect(resumed?.detail).toContain(`after ${midway.execution!.progress!.by} stopped`);
      // The scale step ran once: the new holder carried on with the rollout check.
      expect(scaleWrites()).toHaveLength(1);
      expect((scaleWrites()[0]!.body as { spec?: { replicas?: number } }).spec?.replicas).toBe(2);
    }, 180_000);

    it('keeps one intact audit chain across the three replicas, the killed one included', async () => {
      const live = replicas.filter((r) => r.child.exitCode === null && r.child.signalCode === null);
      await stopReplicas(live);
      const verified = await millwright(['audit', 'verify', '--config', path.join(dir, 'millwright.yml')], {
        cwd: dir,
        env,
      });
      expect({ code: verified.code, out: verified.stdout + verified.stderr }).toMatchObject({ code: 0 });
      expect(verified.stdout).toMatch(/intact|verified|ok/i);
    }, 120_000);
  },
);
