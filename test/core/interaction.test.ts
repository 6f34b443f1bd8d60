// The interaction flow lives once in core: a signed button runs its command as the person who clicked,
// on Slack, on Teams and on a surface written in a few lines; features and surfaces plug in as modules.
import { EventEmitter } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { buildRuntime, loadConfig, MODULES, startServer } from '../../src/app.js';
import { StoreSpentActions } from '../../src/auth/index.js';
import { ConfigError } from '../../src/config/index.js';
import {
  ActionSigner,
  badArgument,
  type ChatSurface,
  type CommandDefinition,
  type CommandRequest,
  defineCommand,
  defineModule,
  ErrorCode,
  errorReply,
  formError,
  type InteractionSurface,
  MillwrightError,
  type Reply,
  reply,
  replyToText,
  runInteraction,
  silentLogger,
  text,
} from '../../src/core/index.js';
import { createRouter } from '../../src/main.js';
import { LowdbStore } from '../../src/store/index.js';
import { type ClickDriver, slackDriver, teamsDriver } from '../helpers/click-drivers.js';

/** `pressed` answers who pressed it and where; `guarded` needs the approver role. */
function buttonCommands(ran: string[]): CommandDefinition[] {
  return [
    defineCommand({
      name: 'pressed',
      summary: 'Says who pressed the button',
      examples: ['pressed'],
      handler: (ctx) => {
        ran.push(`pressed by ${ctx.actor.id} on ${ctx.surface}`);
        return reply(text(`pressed by ${ctx.actor.id}`));
      },
    }),
    defineCommand({
      name: 'guarded',
      summary: 'Only approvers may',
      examples: ['guarded'],
      handler: (ctx) => {
        ran.push(`guarded by ${ctx.actor.id}`);
        return reply(text(`guarded ran for ${ctx.actor.id}`));
      },
    }),
  ];
}

describe.each([
  ['Slack', slackDriver],
  ['Teams', teamsDriver],
])('a signed button clicked in %s', (_name, start) => {
  let surface: ClickDriver;
  let ran: string[];

  beforeEach(async () => {
    surface = await start();
    ran = [];
    for (const command of buttonCommands(ran)) surface.register(command);
  });
  afterEach(async () => {
    await surface.close();
  });

  test('runs its command as the person who clicked, not the one it was posted for', async () => {
    const shown = await surface.click(surface.sign('pressed'), 'engineer');
    expect(shown).toContain(`pressed by ${surface.people.engineer}`);
    expect(ran).toEqual([`pressed by ${surface.people.engineer} on ${surface.surface}`]);
    const [record] = await surface.runtime.services.audit.recent({ limit: 1 });
    expect(record).toMatchObject({
      actor: surface.people.engineer,
      surface: surface.surface,
      channel: surface.channel,
      action: 'command.pressed',
      outcome: 'ok',
    });
  });

  test.each([
    [
      'a forged token',
      (driver: ClickDriver) => forged(driver.sign('pressed')),
      'this button has an invalid signature',
    ],
    ['an expired token', (driver: ClickDriver) => driver.signExpired('pressed'), 'this button has expired'],
    [
      'a token signed for another channel',
      (driver: ClickDriver) => driver.sign('pressed', `${driver.channel}x`),
      'this button belongs to another channel',
    ],
  ])('refuses %s with a one-line reason, running nothing', async (_kind, tokenFor, reason) => {
    const shown = await surface.click(tokenFor(surface), 'approver');
    expect(shown).toContain(reason);
    expect(shown).not.toMatch(/\n\s*at /);
    expect(ran).toEqual([]);
  });

  test("re-checks the clicker's permission: the engineer is refused, the approver runs it", async () => {
    const token = surface.sign('guarded');
    const refused = await surface.click(token, 'engineer');
    expect(refused).toContain(
      `permission denied: ${surface.people.engineer} (roles: engineer) may not run guarded`,
    );
    expect(ran).toEqual([]);
    const [denied] = await surface.runtime.services.audit.recent({ limit: 1 });
    expect(denied).toMatchObject({
      actor: surface.people.engineer,
      action: 'command.guarded',
      outcome: 'denied',
    });

    expect(await surface.click(token, 'approver')).toContain(`guarded ran for ${surface.people.approver}`);
    expect(ran).toEqual([`guarded by ${surface.people.approver}`]);
  });

  test('a double click runs the command once; the second is told who used the button and when', async () => {
    const token = surface.sign('guarded');
    expect(await surface.click(token, 'approver')).toContain(`guarded ran for ${surface.people.approver}`);
    const again = await surface.click(token, 'approver');
    expect(again).toMatch(/this was already done by .+ at \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    // One line: who and when, nothing more to do.
    expect(again).not.toMatch(/hint/i);
    expect(ran).toEqual([`guarded by ${surface.people.approver}`]);
    const records = await surface.runtime.services.audit.recent({ limit: 10 });
    expect(records.filter((record) => record.action === 'command.guarded')).toHaveLength(1);
  });

  test('two people clicking one button at the same moment: exactly one runs it', async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    surface.register(
      defineCommand({
        name: 'slowpress',
        summary: 'Waits, then says who pressed it',
        examples: ['slowpress'],
        // Anyone who may press `pressed` may press this one.
        permission: 'pressed',
        handler: async (ctx) => {
          await gate;
          ran.push(`slowpress by ${ctx.actor.id}`);
          return reply(text(`slowpress ran for ${ctx.actor.id}`));
        },
      }),
    );
    const token = surface.sign('slowpress');
    const clicks = Promise.all([surface.click(token, 'approver'), surface.click(token, 'engineer')]);
    setTimeout(open, 300);
    const shown = await clicks;
    expect(ran).toHaveLength(1);
    expect(shown.filter((answer) => answer.includes('slowpress ran for'))).toHaveLength(1);
    // The second click came while the first still ran: it is told so, not that it was done.
    expect(shown.filter((answer) => /started this at .+ and it is still running/.test(answer))).toHaveLength(
      1,
    );
  });
});

/** The token with its command rewritten and the old signature kept. */
function forged(token: string): string {
  const [body, signature] = token.split('.');
  const payload = JSON.parse(Buffer.from(body!, 'base64url').toString('utf8')) as Record<string, unknown>;
  const tampered = Buffer.from(JSON.stringify({ ...payload, command: 'guarded' })).toString('base64url');
  return `${tampered}.${signature}`;
}

/** A temp directory holding one millwright.yml. */
async function configFile(body: string): Promise<{ file: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-interaction-'));
  const file = path.join(dir, 'millwright.yml');
  await writeFile(file, body);
  return { file, remove: () => rm(dir, { recursive: true, force: true }) };
}

const PAGER_ACCESS = 'access:\n  defaultRoles: [viewer]\n  roles:\n    viewer: { allow: [pressed] }\n';

describe('a chat surface written in a few lines through the module contract', () => {
  /** A pager that posts clicks as JSON and shows answers as text: all it adds is parsing and sending. */
  function pagerModule(posted: Array<{ target: string; text: string }>) {
    const surface: ChatSurface = {
      name: 'pager',
      owns: (target) => target.startsWith('pager:'),
      post: async (target, message) => {
        posted.push({ target, text: replyToText(message) });
        return { update: async () => {} };
      },
    };
    return defineModule({
      name: 'pager',
      kind: 'surface',
      config: { pager: z.strictObject({ team: z.string() }).optional() },
      needs: ['config', 'actions', 'notices'],
      enabled: ({ config }) => (config as { pager?: unknown }).pager !== undefined,
      serve({ routes, handle, services }) {
        routes.route('POST', '/pager/click', async (_req, res, ctx) => {
          const click = JSON.parse((await ctx.readBody()).toString('utf8')) as Record<string, string>;
          const answer = (status: number, body: unknown) => {
            res.writeHead(status, { 'content-type': 'application/json' });
            res.end(JSON.stringify(body));
          };
          await runInteraction(
            { surface: 'pager', channel: click.channel!, token: click.token!, actor: { id: click.user! } },
            { services, handle },
            {
              refuse: async (failure) => answer(403, { refused: failure.message }),
              deliver: async (result: Reply) => answer(200, { ok: result.ok, text: replyToText(result) }),
            },
          );
        });
        services.notices.register(surface);
      },
    });
  }

  test('a click runs as the clicker and is audited; a notice for a target it owns reaches it', async () => {
    const config = await configFile(
      `server:\n  host: 127.0.0.1\n  port: 0\nstore:\n  path: ./data\nlog:\n  level: silent\npager:\n  team: sre\n${PAGER_ACCESS}`,
    );
    const posted: Array<{ target: string; text: string }> = [];
    const ran: string[] = [];
    const signals = new EventEmitter();
    const modules = [...MODULES, pagerModule(posted)];
    const loaded = await loadConfig(config.file, { env: {}, modules });
    const running = await startServer(loaded, { logger: silentLogger(), signals, modules });
    try {
      for (const command of buttonCommands(ran)) running.runtime.services.registry.register(command);
      expect(running.runtime.services.notices.names).toEqual(['pager']);
      const token = running.runtime.services.actions.sign({ command: 'pressed', channel: 'pager:ops' });
      const click = (body: Record<string, string>) =>
        fetch(`http://127.0.0.1:${running.port}/pager/click`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });

      const response = await click({ user: 'dana', channel: 'pager:ops', token });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ ok: true, text: 'pressed by dana' });
      expect(ran).toEqual(['pressed by dana on pager']);
      const [record] = await running.runtime.services.audit.recent({ limit: 1 });
      expect(record).toMatchObject({
        actor: 'dana',
        surface: 'pager',
        channel: 'pager:ops',
        action: 'command.pressed',
        outcome: 'ok',
      });

      const elsewhere = await click({ user: 'dana', channel: 'pager:web', token });
      expect(elsewhere.status).toBe(403);
      expect(await elsewhere.json()).toEqual({ refused: 'this button belongs to another channel' });
      expect(ran).toHaveLength(1);

      await running.runtime.services.notices.post(
        'pager:ops',
        reply(text('checkout: 62% of the budget left')),
      );
      expect(posted).toEqual([{ target: 'pager:ops', text: 'checkout: 62% of the budget left' }]);
    } finally {
      signals.emit('SIGTERM', 'SIGTERM');
      await running.stopped;
      await config.remove();
    }
  });
});

describe('a feature written as a module with its own config section and command', () => {
  const greeter = defineModule({
    name: 'greeter',
    config: {
      greeter: z
        .strictObject({ greeting: z.string().min(1), times: z.number().int().positive().default(1) })
        .optional(),
    },
    commands: [
      defineCommand({
        name: 'greet',
        summary: 'Greets whoever asks',
        examples: ['greet'],
        handler: (ctx) => {
          const config = (ctx.services.config as { greeter?: { greeting: string; times: number } }).greeter;
          const greeting = config ? Array(config.times).fill(config.greeting).join(' ') : 'hello';
          return reply(text(`${greeting}, ${ctx.actor.id}`));
        },
      }),
    ],
  });
  const modules = [...MODULES, greeter];
  const access = 'access:\n  defaultRoles: [viewer]\n  roles:\n    viewer: { allow: [greet] }\n';

  test('its section is validated with the file, line and column of a bad value', async () => {
    const config = await configFile(`store:\n  path: ./data\ngreeter:\n  greeting: hi\n  times: -2\n`);
    try {
      const error = await loadConfig(config.file, { env: {}, modules }).then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).message).toMatch(/millwright\.yml:5:10 greeter\.times: /);
      // Without the module the section is unknown, like any misspelt key.
      await expect(loadConfig(config.file, { env: {} })).rejects.toThrow(
        /millwright\.yml:3:1 greeter: unknown key/,
      );
    } finally {
      await config.remove();
    }
  });

  test('its command answers through the router with the config it declared', async () => {
    const config = await configFile(
      `store:\n  path: ./data\ngreeter:\n  greeting: ahoy\n  times: 2\n${access}`,
    );
    const runtime = await buildRuntime(await loadConfig(config.file, { env: {}, modules }), {
      logger: silentLogger(),
      modules,
    });
    try {
      const router = createRouter(runtime);
      const answer = await router.handle({
        actor: { id: 'ana' },
        surface: 'shell',
        channel: 'shell',
        text: 'greet',
      });
      expect(answer.ok).toBe(true);
      expect(replyToText(answer)).toBe('ahoy ahoy, ana');
      expect(runtime.services.registry.get('greet')).toBeDefined();
    } finally {
      await runtime.close();
      await config.remove();
    }
  });
});

describe('the order of a click, as a surface sees it', () => {
  const signer = new ActionSigner('a-secret-of-at-least-some-length', 3600, () => new Date());
  let token: string;
  let dir: string;
  let store: LowdbStore;
  let spentActions: StoreSpentActions;

  beforeEach(async () => {
    token = signer.sign({ command: 'scale', channel: 'ops' });
    dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-spent-'));
    store = await LowdbStore.open(dir);
    spentActions = new StoreSpentActions(store, () => new Date());
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** A surface that writes down each step it is asked to take. */
  function recordingSurface(steps: string[], extra: Partial<InteractionSurface> = {}): InteractionSurface {
    return {
      refuse: async (failure) => void steps.push(`refuse: ${failure.message}`),
      acknowledge: async () => void steps.push('acknowledge'),
      pending: async () => void steps.push('pending'),
      later: (work) => {
        steps.push('later');
        void work();
      },
      deliver: async (answer, line) => void steps.push(`deliver ${answer.ok ? 'ok' : 'error'}: ${line}`),
      ...extra,
    };
  }

  test('a form answer with a bad value is shown in the form and never delivered', async () => {
    const steps: string[] = [];
    await runInteraction(
      {
        surface: 'test',
        channel: 'ops',
        token,
        actor: { id: 'ana' },
        form: [['replicas', '50']],
        answerWithinMs: 1000,
      },
      {
        services: { actions: signer, spentActions },
        handle: async () => errorReply(badArgument('too many', undefined, 'replicas'), 'r1'),
      },
      recordingSurface(steps, {
        showInForm: async (answer) => {
          steps.push(`show beside ${formError(answer)?.field}`);
          return true;
        },
      }),
    );
    expect(steps).toEqual(['show beside replicas']);
  });

  test('a slow command is acknowledged, shown as pending, and delivered once later', async () => {
    const steps: string[] = [];
    let finish!: (answer: Reply) => void;
    const answer = new Promise<Reply>((resolve) => {
      finish = resolve;
    });
    const lines: string[] = [];
    await runInteraction(
      {
        surface: 'test',
        channel: 'ops',
        token,
        actor: { id: 'ana' },
        form: { note: 'say "hi"' },
        answerWithinMs: 10,
      },
      {
        services: { actions: signer, spentActions },
        handle: (request) => {
          lines.push(request.text);
          return answer;
        },
      },
      recordingSurface(steps),
    );
    expect(steps).toEqual(['acknowledge', 'pending', 'later']);
    finish(reply(text('scaled')));
    // Delivered once the run's outcome is on the spent token's record (a few store writes later).
    for (let i = 0; i < 200 && steps.length < 4; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(steps).toEqual(['acknowledge', 'pending', 'later', 'deliver ok: scale note="say \\"hi\\""']);
    expect(lines).toEqual(['scale note="say \\"hi\\""']);
  });

  test('a claimed button is refused before its command runs', async () => {
    const steps: string[] = [];
    const asked: CommandRequest[] = [];
    const handle = async (request: CommandRequest) => {
      asked.push(request);
      return reply(text('ran'));
    };
    await runInteraction(
      { surface: 'test', channel: 'ops', token, actor: { id: 'ben' } },
      { services: { actions: signer, spentActions }, handle },
      recordingSurface(steps, {
        claim: async () => new MillwrightError(ErrorCode.PermissionDenied, 'this was already done by ana'),
      }),
    );
    expect(steps).toEqual(['refuse: this was already done by ana']);
    expect(asked).toEqual([]);
  });

  /** Clicks `token` as `who`; the command answers `answer` (after `gate`, when given). */
  function clickAs(
    who: { id: string; name?: string },
    steps: string[],
    options: { answer?: Reply; gate?: Promise<void>; ran?: string[] } = {},
  ): Promise<void> {
    return runInteraction(
      { surface: 'test', channel: 'ops', token, actor: who },
      {
        services: { actions: signer, spentActions },
        handle: async (request) => {
          await options.gate;
          options.ran?.push(`${request.text} by ${request.actor.id}`);
          return options.answer ?? reply(text('scaled'));
        },
      },
      recordingSurface(steps, {
        deliver: async (answer, line, spent) =>
          void steps.push(
            `deliver ${answer.ok ? 'ok' : 'error'}: ${line}${spent ? ` spent by ${spent.by}` : ''}`,
          ),
      }),
    );
  }

  test('a spent token runs nothing on a second click, which is told who used it and when', async () => {
    const steps: string[] = [];
    const ran: string[] = [];
    await clickAs({ id: 'U1', name: 'ana' }, steps, { ran });
    await clickAs({ id: 'U2', name: 'ben' }, steps, { ran });
    expect(ran).toEqual(['scale by U1']);
    expect(steps).toEqual([
      'deliver ok: scale spent by ana',
      expect.stringMatching(/^refuse: this was already done by ana at \d{4}-\d\d-\d\d \d\d:\d\d UTC$/),
    ]);
    const [record] = await store.list('spent_actions');
    expect(record).toMatchObject({ by: 'ana', at: expect.any(String), expiresAt: expect.any(String) });
  });

  test('two concurrent clicks on one token: exactly one runs', async () => {
    const steps: string[] = [];
    const ran: string[] = [];
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const clicks = [
      clickAs({ id: 'U1', name: 'ana' }, steps, { ran, gate }),
      clickAs({ id: 'U2', name: 'ben' }, steps, { ran, gate }),
    ];
    await new Promise((resolve) => setTimeout(resolve, 50));
    open();
    await Promise.all(clicks);
    expect(ran).toHaveLength(1);
    expect(steps.filter((step) => step.startsWith('deliver'))).toHaveLength(1);
    expect(
      steps.filter((step) => /^refuse: ana started this at .+ and it is still running/.test(step)),
    ).toHaveLength(1);
  });

  test('a click the router refuses before running gives the token back for the right person', async () => {
    const steps: string[] = [];
    const denied = errorReply(new MillwrightError(ErrorCode.PermissionDenied, 'permission denied'), 'r1');
    await clickAs({ id: 'U1', name: 'ben' }, steps, { answer: denied });
    await clickAs({ id: 'U2', name: 'ana' }, steps);
    await clickAs({ id: 'U2', name: 'ana' }, steps);
    expect(steps).toEqual([
      'deliver error: scale',
      'deliver ok: scale spent by ana',
      expect.stringMatching(/^refuse: this was already done by ana at /),
    ]);
  });

  test('a command that failed after it started keeps its token spent', async () => {
    const steps: string[] = [];
    const failed = errorReply(new MillwrightError(ErrorCode.Timeout, 'scale was still running'), 'r1');
    await clickAs({ id: 'U1', name: 'ana' }, steps, { answer: failed });
    await clickAs({ id: 'U1', name: 'ana' }, steps);
    expect(steps).toEqual([
      'deliver error: scale spent by ana',
      // Nothing says the failed run did nothing, so it is not run again; the click is told it failed.
      expect.stringMatching(/^refuse: ana ran this at .+ and it failed: scale was still running$/),
    ]);
  });

  test('when the record of spent tokens cannot be written, the click runs nothing and says why', async () => {
    const steps: string[] = [];
    const asked: CommandRequest[] = [];
    await runInteraction(
      { surface: 'test', channel: 'ops', token, actor: { id: 'ana' } },
      {
        services: {
          actions: signer,
          spentActions: {
            claim: async () => {
              throw new MillwrightError(ErrorCode.StoreUnavailable, 'the store could not be written');
            },
            release: async () => {},
          },
        },
        handle: async (request) => {
          asked.push(request);
          return reply(text('ran'));
        },
      },
      recordingSurface(steps),
    );
    expect(steps).toEqual(['refuse: the store could not be written']);
    expect(asked).toEqual([]);
  });

  test('a surface that refuses its own claim gives the token back', async () => {
    const steps: string[] = [];
    await runInteraction(
      { surface: 'test', channel: 'ops', token, actor: { id: 'ben' } },
      { services: { actions: signer, spentActions }, handle: async () => reply(text('ran')) },
      recordingSurface(steps, {
        claim: async () => new MillwrightError(ErrorCode.PermissionDenied, 'ana is already running this'),
      }),
    );
    await clickAs({ id: 'U1', name: 'ana' }, steps);
    expect(steps).toEqual(['refuse: ana is already running this', 'deliver ok: scale spent by ana']);
  });
});
