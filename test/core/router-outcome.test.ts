// What the audit trail and the metrics say about a command that failed without throwing: a handler
// that returns an error reply is an error (with its code), one that refuses is denied.
import {
  type CommandObservation,
  defineCommand,
  ErrorCode,
  errorReply,
  MillwrightError,
  reply,
  text,
} from '../../src/core/index.js';
import { createRouter } from '../../src/main.js';
import { startTestBot, type TestBot } from '../helpers/runtime.js';

describe('the router audits how a command ended', () => {
  let bot: TestBot;
  const observed: CommandObservation[] = [];

  beforeEach(async () => {
    observed.length = 0;
    bot = await startTestBot({
      prepare: (runtime) => {
        const { registry } = runtime.services;
        registry.register(
          defineCommand({
            name: 'budget-check',
            summary: 'answers with an error reply when Prometheus is down',
            examples: ['budget-check'],
            handler: (ctx) =>
              errorReply(
                new MillwrightError(ErrorCode.DependencyUnavailable, 'Prometheus did not answer in 10s', {
                  hint: 'check prometheus.url',
                }),
                ctx.ref,
              ),
          }),
        );
        registry.register(
          defineCommand({
            name: 'freeze-check',
            summary: 'answers with a refusal',
            examples: ['freeze-check'],
            handler: (ctx) =>
              errorReply(
                new MillwrightError(ErrorCode.PermissionDenied, 'checkout is frozen until Monday'),
                ctx.ref,
              ),
          }),
        );
        registry.register(
          defineCommand({
            name: 'guarded',
            summary: 'throws a refusal of its own, past the router’s role check',
            examples: ['guarded'],
            handler: () => {
              throw new MillwrightError(ErrorCode.PermissionDenied, 'only the on-call may do this');
            },
          }),
        );
        registry.register(
          defineCommand({
            name: 'fine',
            summary: 'succeeds',
            examples: ['fine'],
            handler: () => reply(text('all good')),
          }),
        );
      },
    });
  });
  afterEach(() => bot.close());

  /** Runs a line as ana (admin) through a router with a metrics hook, and returns its audit record. */
  async function run(line: string) {
    const router = createRouter(bot.runtime, { observe: (o) => observed.push(o) });
    const answer = await router.handle({
      actor: { id: 'ana' },
      surface: 'shell',
      channel: 'shell',
      text: line,
    });
    const [record] = await bot.runtime.services.audit.recent({ limit: 1 });
    return { answer, record, observation: observed.at(-1) };
  }

  it('a handler that returns an error reply is audited as an error with the reply’s code', async () => {
    const { answer, record, observation } = await run('budget-check');
    expect(answer.ok).toBe(false);
    expect(record).toMatchObject({
      action: 'command.budget-check',
      outcome: 'error',
      code: ErrorCode.DependencyUnavailable,
      ref: answer.ref,
    });
    expect(observation).toMatchObject({
      verb: 'budget-check',
      outcome: 'error',
      code: ErrorCode.DependencyUnavailable,
    });
  });

  it('a handler that returns a refusal is audited as denied', async () => {
    const { record, observation } = await run('freeze-check');
    expect(record).toMatchObject({ outcome: 'denied', code: ErrorCode.PermissionDenied });
    expect(observation).toMatchObject({ outcome: 'denied', code: ErrorCode.PermissionDenied });
  });

  it('a handler that throws a refusal is audited as denied, like the router’s own role check', async () => {
    const { answer, record, observation } = await run('guarded');
    expect(answer.error?.message).toBe('only the on-call may do this');
    expect(record).toMatchObject({ outcome: 'denied', code: ErrorCode.PermissionDenied });
    expect(observation).toMatchObject({ outcome: 'denied' });
  });

  it('a command that succeeds is still ok, with no code', async () => {
    const { record, observation } = await run('fine');
    expect(record?.outcome).toBe('ok');
    expect(record?.code).toBeUndefined();
    expect(observation).toMatchObject({ verb: 'fine', outcome: 'ok' });
    expect(observation?.code).toBeUndefined();
  });
});
