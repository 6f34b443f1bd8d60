import { Writable } from 'node:stream';
import { createLogger, defineCommand, ErrorCode, reply, replyToText, text } from '../../src/core/index.js';
import { startTestBot, type TestBot } from '../helpers/runtime.js';

describe('the router', () => {
  let bot: TestBot;
  const logLines: string[] = [];

  beforeEach(async () => {
    logLines.length = 0;
    const sink = new Writable({
      write(chunk, _enc, done) {
        logLines.push(String(chunk));
        done();
      },
    });
    bot = await startTestBot({
      logger: createLogger({ level: 'info', destination: sink }),
      prepare: (runtime) => {
        runtime.services.registry.register(
          defineCommand({
            name: 'boom',
            summary: 'fails like a bug would',
            examples: ['boom'],
            handler: () => {
              throw new TypeError('cannot read properties of undefined (reading "replicas")');
            },
          }),
        );
        runtime.services.registry.register(
          defineCommand({
            name: 'note',
            summary: 'records a decision of its own',
            examples: ['note'],
            handler: async (ctx) => {
              await ctx.audit('note.taken', {}, 'ok');
              return reply(text('noted'));
            },
          }),
        );
        runtime.services.registry.register(
          defineCommand({
            name: 'slow',
            summary: 'reports progress',
            examples: ['slow'],
            handler: async (ctx) => {
              const progress = await ctx.reply(reply(text('step 1 of 2')));
              await progress.update(reply(text('step 2 of 2')));
              return reply(text('done'));
            },
          }),
        );
      },
    });
  });
  afterEach(() => bot.close());

  it('answers whoami with the actor, roles, surface and channel', async () => {
    const answer = await bot.run('whoami', 'ana');
    expect(answer.ok).toBe(true);
    const rendered = replyToText(answer);
    expect(rendered).toMatch(/actor:\s+ana/);
    expect(rendered).toMatch(/roles:\s+admin, viewer/);
    expect(rendered).toMatch(/surface:\s+shell/);
  });

  it('gives roles through groups', async () => {
    const answer = await bot.router.handle({
      actor: { id: 'bo', groups: ['sre'] },
      surface: 'slack',
      channel: 'C1',
      text: 'whoami',
    });
    expect(replyToText(answer)).toMatch(/roles:\s+operator, viewer/);
  });

  // Found by test/core/parser.property.test.ts: an actor id that names an Object.prototype member
  // made rolesFor iterate a function, and the router threw a TypeError instead of answering.
  it.each(['valueOf', 'constructor', 'toString', '__proto__'])(
    'answers a chat user whose id is %s with the default roles',
    async (id) => {
      const answer = await bot.router.handle({
        actor: { id, groups: ['hasOwnProperty'] },
        surface: 'slack',
        channel: 'C1',
        text: 'whoami',
      });
      expect(answer.ok).toBe(true);
      expect(replyToText(answer)).toMatch(/roles:\s+viewer/);
    },
  );

  it('suggests the nearest verb for an unknown one', async () => {
    const answer = await bot.run('hlep');
    expect(answer.ok).toBe(false);
    expect(answer.error).toMatchObject({ code: ErrorCode.UnknownCommand, message: 'unknown command "hlep"' });
    expect(answer.error?.hint).toMatch(/did you mean "help"/);
  });

  it('explains a bad argument in one line with a hint', async () => {
    const answer = await bot.run('audit n=ten');
    expect(answer.error).toMatchObject({
      code: ErrorCode.BadArgument,
      message: 'n must be a whole number, got "ten"',
    });
    const unknownKey = await bot.run('audit actr=ana');
    expect(unknownKey.error?.hint).toBe('did you mean actor=?');
    const quote = await bot.run('audit actor="ana');
    expect(quote.error?.code).toBe(ErrorCode.BadArgument);
  });

  it('denies a command the actor has no role for, says why, and audits the denial', async () => {
    const answer = await bot.run('slow', 'eve');
    expect(answer.error?.code).toBe(ErrorCode.PermissionDenied);
    expect(answer.error?.message).toBe('permission denied: eve (roles: viewer) may not run slow');
    expect(answer.error?.hint).toMatch(/role that allows slow/);
    const [record] = await bot.runtime.services.audit.recent({ limit: 1 });
    expect(record).toMatchObject({
      actor: 'eve',
      action: 'command.slow',
      outcome: 'denied',
      code: ErrorCode.PermissionDenied,
    });
  });

  it('names the real person (via) on every record of an impersonated command, its own records too', async () => {
    const answer = await bot.router.handle({
      actor: { id: 'ana' },
      via: 'os:alice',
      surface: 'shell',
      channel: 'shell',
      text: 'note',
    });
    expect(answer.ok).toBe(true);
    const records = await bot.runtime.services.audit.recent({ limit: 2 });
    expect(records.map((r) => [r.action, r.actor, r.via, r.ref])).toEqual([
      ['command.note', 'ana', 'os:alice', answer.ref],
      ['note.taken', 'ana', 'os:alice', answer.ref],
    ]);
    await bot.run('whoami', 'ana');
    const [plain] = await bot.runtime.services.audit.recent({ limit: 1 });
    expect(plain).not.toHaveProperty('via');
  });

  it('turns an unexpected failure into a reference and logs that reference with the detail', async () => {
    const answer = await bot.run('boom');
    expect(answer.ok).toBe(false);
    expect(answer.error?.code).toBe(ErrorCode.Internal);
    expect(answer.error?.message).toBe(`something broke on our side (reference ${answer.ref})`);
    expect(replyToText(answer)).not.toMatch(/TypeError|at .*\.ts/);
    const logged = logLines.map((line) => JSON.parse(line)).find((line) => line.ref === answer.ref);
    expect(logged.msg).toBe('command failed unexpectedly');
    expect(logged.err.message).toMatch(/reading "replicas"/);
  });

  it('writes one audit record per command with the same ref as the reply', async () => {
    const first = await bot.run('whoami');
    const second = await bot.run('audit n=5');
    const records = await bot.runtime.services.audit.recent({ limit: 5 });
    expect(records.map((r) => [r.action, r.ref, r.outcome])).toEqual([
      ['command.audit', second.ref, 'ok'],
      ['command.whoami', first.ref, 'ok'],
    ]);
    expect(records[0]?.args).toEqual({ n: 5 });
  });

  it('streams progress replies to the surface and updates them in place', async () => {
    const seen: string[] = [];
    const answer = await bot.run('slow', 'ana', {
      sink: {
        send: async (progress) => {
          seen.push(`post: ${replyToText(progress)}`);
          return { update: async (next) => void seen.push(`update: ${replyToText(next)}`) };
        },
      },
    });
    expect(seen).toEqual(['post: step 1 of 2', 'update: step 2 of 2']);
    expect(replyToText(answer)).toBe('done');
  });

  it('keeps read-only answers private unless --public is given', async () => {
    expect((await bot.run('whoami')).visibility).toBe('private');
    expect((await bot.run('whoami --public')).visibility).toBe('public');
  });

  it('generates help from the registry, and VERB --help is help VERB', async () => {
    const overview = replyToText(await bot.run('help'));
    for (const verb of ['audit', 'help', 'whoami']) expect(overview).toContain(verb);
    const audit = replyToText(await bot.run('audit --help'));
    expect(audit).toContain('audit [n=int] [actor=string] [since=time]');
    expect(audit).toContain('examples: audit  |  audit n=50 actor=ana since=2h');
  });

  it('answers empty input with a hint', async () => {
    const answer = await bot.run('   ');
    expect(answer.error).toMatchObject({ code: ErrorCode.BadArgument, message: 'no command given' });
  });
});
