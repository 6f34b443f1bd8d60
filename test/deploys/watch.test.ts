// `deploys SERVICE --watch`: follows a rollout on an injected clock and sleep until it completes,
// fails, stops being readable or times out; one message is posted and then edited in place.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { type MessageHandle, type Reply, type ReplySink, replyToText } from '../../src/core/index.js';
import { createDeployService } from '../../src/deploys/index.js';
import { startTestBot, type TestBot } from '../helpers/runtime.js';
import { shellOutput } from '../helpers/shell-output.js';
import { type Fleet, startFleet } from './fleet.js';

const SCHEMA = JSON.parse(
  readFileSync(
    path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/schemas/deploys.schema.json'),
    'utf8',
  ),
) as { $id: string };
const validateWatch = new Ajv({ strict: false, allErrors: true })
  .addSchema(SCHEMA)
  .getSchema(`${SCHEMA.$id}#/definitions/watch`)!;

/** A reply sink that keeps what was posted and every edit of it, like a chat message's history. */
function recordingSink(): ReplySink & { posted: Reply[]; edits: Reply[] } {
  const posted: Reply[] = [];
  const edits: Reply[] = [];
  return {
    posted,
    edits,
    send: async (reply): Promise<MessageHandle> => {
      posted.push(reply);
      return { update: async (next) => void edits.push(next) };
    },
  };
}

describe('deploys SERVICE --watch', () => {
  let fleet: Fleet;
  let bot: TestBot;
  /** What each fake sleep does to the cluster before the next look, in order. */
  let script: Array<() => void>;
  let sleeps: number[];

  beforeEach(async () => {
    fleet = await startFleet(['search', 'cart', 'checkout']);
    script = [];
    sleeps = [];
    bot = await startTestBot({
      clock: fleet.clock,
      config: fleet.config(),
      // The same service as main.ts builds, with a sleep that moves the clock instead of waiting.
      prepare: (runtime) => {
        runtime.services.deploys = createDeployService(runtime.services.config, {
          clock: fleet.clock,
          logger: runtime.logger,
          sleep: async (ms) => {
            sleeps.push(ms);
            fleet.clock.set(new Date(fleet.clock.now().getTime() + ms));
            script.shift()?.();
          },
        });
      },
    });
  });
  afterEach(async () => {
    await bot.close();
    await fleet.close();
  });

  it('follows a rollout to completion, editing one message as it goes', async () => {
    script = [() => {}, () => fleet.kubernetes.state.reconcile('catalog', 'search')];
    const sink = recordingSink();
    const answer = await bot.run('deploys search --watch interval=10s', 'ana', { sink });
    expect(answer.ok).toBe(true);
    expect(sleeps).toEqual([10_000, 10_000]);
    // Posted once while progressing; the look that saw no change edited nothing.
    expect(sink.posted).toHaveLength(1);
    expect(replyToText(sink.posted[0]!)).toContain(
      'Waiting for deployment "search" rollout to finish: 2 out of 3 new replicas have been updated...',
    );
    expect(sink.edits.map((e) => replyToText(e).split('\n')[0])).toEqual([
      'search: healthy',
      'search: rollout complete after 20s.',
    ]);
    const text = replyToText(answer);
    expect(text.split('\n')[0]).toBe('search: rollout complete after 20s');
    expect(text).toContain('catalog/search  healthy  3        3      3          3        1.5.0');
  });

  it('ends as soon as the rollout fails, with a failing answer that names the reason', async () => {
    script = [
      () => {
        const search = fleet.kubernetes.state.get('Deployment', 'catalog', 'search')!;
        const progressing = search.status!.conditions!.find((c) => c.type === 'Progressing')!;
        Object.assign(progressing, {
          status: 'False',
          reason: 'ProgressDeadlineExceeded',
          message: 'ReplicaSet "search-7b9c6f5d48" has timed out progressing.',
        });
        fleet.kubernetes.state.apply(search);
      },
    ];
    const answer = await bot.run('deploys search --watch');
    expect(sleeps).toEqual([5_000]);
    expect(answer.ok).toBe(false);
    expect(answer.error).toEqual({
      code: 'millwright_rollout_failed',
      message:
        'search rollout failed: deployment "search" exceeded its progress deadline: pod search-7b9c6f5d48-k9d3s NotReady',
      hint: 'see deploys search for conditions and pods',
    });
    expect(replyToText(answer)).toContain('search: rollout failed after 5s');
  });

  it('answers at once, without a progress message, when nothing is rolling out', async () => {
    const sink = recordingSink();
    const answer = await bot.run('deploys checkout --watch', 'ana', { sink });
    expect(answer.ok).toBe(true);
    expect(replyToText(answer).split('\n')[0]).toBe('checkout: rollout complete at the first look');
    expect(sink.posted).toEqual([]);
    expect(sleeps).toEqual([]);
  });

  it('ends at the first look when the rollout crash-loops, naming the pods, instead of watching it for 10 minutes', async () => {
    const answer = await bot.run('deploys cart --watch');
    expect(sleeps).toEqual([]);
    expect(answer.error).toEqual({
      code: 'millwright_rollout_failed',
      message:
        'cart rollout failed: deployment "cart" rollout failed: pod cart-6d9f7c8b5d-m4q9z CrashLoopBackOff (8 restarts), pod cart-6d9f7c8b5d-x7k2p CrashLoopBackOff (9 restarts)',
      hint: 'see deploys cart for conditions and pods',
    });
    const text = replyToText(answer);
    expect(text).toContain('cart: rollout failed at the first look');
    expect(text).toMatch(
      /shop\/cart +failing: 2 CrashLoopBackOff; 17 restarts +3 +1 +1 +3 +1\.4\.2 1\/3 new/,
    );
    expect(validateWatch(answer.data) ? [] : validateWatch.errors).toEqual([]);
    expect(answer.data).toMatchObject({
      outcome: 'failed',
      state: 'failing',
      elapsedSeconds: 0,
      deployments: [
        {
          name: 'cart',
          serving: [{ version: '1.4.2', ready: 1, pods: 3, isNew: true }],
          troubles: [
            { pod: 'cart-6d9f7c8b5d-m4q9z', reason: 'CrashLoopBackOff', restarts: 8 },
            { pod: 'cart-6d9f7c8b5d-x7k2p', reason: 'CrashLoopBackOff', restarts: 9 },
          ],
        },
      ],
    });
  });

  it('gives up at the timeout, measured on the injected clock', async () => {
    const answer = await bot.run('deploys search --watch timeout=30s interval=10s');
    expect(sleeps).toEqual([10_000, 10_000, 10_000]);
    expect(answer.error).toMatchObject({
      code: 'millwright_timeout',
      message:
        'search rollout did not finish within 30s: Waiting for deployment "search" rollout to finish: 2 out of 3 new replicas have been updated...',
    });
    expect(replyToText(answer)).toContain('Watching for 30s (look 4)');
  });

  it('keeps looking through a failed read, and stops after three in a row', async () => {
    const deployments = '/apis/apps/v1/namespaces/catalog/deployments';
    fleet.kubernetes.inject({ path: deployments, method: 'GET', times: 1, fault: 403 });
    script = [
      () => {},
      () =>
        fleet.kubernetes.inject({
          path: deployments,
          method: 'GET',
          times: Number.POSITIVE_INFINITY,
          fault: 403,
        }),
    ];
    const sink = recordingSink();
    const answer = await bot.run('deploys search --watch', 'ana', { sink });
    // Look 1 failed, look 2 read the rollout, looks 3 to 5 failed.
    expect(sleeps).toHaveLength(4);
    expect(replyToText(sink.posted[0]!)).toMatch(
      /^search: error\n\nthe Kubernetes API refused to list deployments/,
    );
    expect(answer.error).toMatchObject({ code: 'millwright_dependency_unavailable' });
    expect(answer.error?.message).toMatch(
      /^stopped watching search: the Kubernetes API refused to list deployments/,
    );
  });

  it('prints every change in the shell', async () => {
    script = [() => fleet.kubernetes.state.reconcile('catalog', 'search')];
    const { answer, printed } = await shellOutput(bot.router, 'deploys search --watch');
    expect(answer.ok).toBe(true);
    const printedReplies = printed.split(/\n\n(?=search: |\(update\) )/);
    expect(printedReplies.map((reply) => reply.split('\n')[0])).toEqual([
      'search: progressing',
      '(update) search: healthy',
      '(update) search: rollout complete after 5s.',
      'search: rollout complete after 5s',
    ]);
  });

  it('refuses watch options that make no sense', async () => {
    expect((await bot.run('deploys --watch')).error?.message).toBe('deploys --watch needs SERVICE');
    expect((await bot.run('deploys cart timeout=5m')).error?.message).toBe(
      'timeout= and interval= only apply with --watch',
    );
    expect((await bot.run('deploys cart --watch interval=100ms')).error).toMatchObject({
      message: 'interval must be between 1s and 5m',
      field: 'interval',
    });
    expect((await bot.run('deploys cart --watch timeout=2h')).error?.message).toBe(
      'timeout must be between 1s and 1h',
    );
    expect(sleeps).toEqual([]);
  });
});
