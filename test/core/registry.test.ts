import { CommandRegistry, defineCommand, parseLine, reply } from '../../src/core/index.js';

const ok = () => reply();

describe('the command registry', () => {
  it('rejects a duplicate name with a message saying how to fix it', () => {
    const registry = new CommandRegistry();
    registry.register(defineCommand({ name: 'whoami', summary: 's', examples: ['whoami'], handler: ok }));
    expect(() =>
      registry.register(defineCommand({ name: 'whoami', summary: 's', examples: ['whoami'], handler: ok })),
    ).toThrow('command "whoami" is registered twice');
  });

  it.each(['Deploys', 'run book', '', '9lives', 'x'.repeat(40)])('rejects the malformed name %j', (name) => {
    const registry = new CommandRegistry();
    expect(() =>
      registry.register(defineCommand({ name, summary: 's', examples: ['x'], handler: ok })),
    ).toThrow(/name must be lowercase/);
  });

  it('rejects a command without examples, since help is built from them', () => {
    const registry = new CommandRegistry();
    expect(() =>
      registry.register(defineCommand({ name: 'quiet', summary: 's', examples: [], handler: ok })),
    ).toThrow(/at least one example/);
  });

  it('resolves subcommands, typed options and flags', () => {
    const registry = new CommandRegistry();
    registry.register(
      defineCommand({
        name: 'change',
        summary: 'changes',
        examples: ['change list'],
        subcommands: {
          list: {
            summary: 'list',
            examples: ['change list state=open'],
            options: {
              state: { type: 'enum', values: ['open', 'done'], description: 'state' },
              n: { type: 'int', description: 'n', default: 10, min: 1, max: 100 },
            },
            flags: { mine: 'only mine' },
            handler: ok,
          },
        },
      }),
    );
    const line = 'change list state=OPEN --mine';
    const invocation = registry.resolve(parseLine(line), line);
    expect(invocation.id).toBe('change.list');
    expect(invocation.args.options).toEqual({ state: 'open', n: 10 });
    expect([...invocation.args.flags]).toEqual(['mine']);
    expect(() => registry.resolve(parseLine('change lst'), 'change lst')).toThrow(
      'unknown subcommand "change lst"',
    );
    expect(() => registry.resolve(parseLine('change list n=500'), '')).toThrow(
      'n must be between 1 and 100, got 500',
    );
    expect(() => registry.resolve(parseLine('change list state=x'), '')).toThrow(
      'state must be one of open, done; got "x"',
    );
    expect(() => registry.resolve(parseLine('change list --mien'), '')).toThrow(
      'change list does not take --mien',
    );
    expect(() => registry.resolve(parseLine('change'), '')).toThrow('change needs a subcommand: list');
  });

  // Found by test/core/parser.property.test.ts: `deploys --valueOf` was accepted as a flag, and a
  // `toString=` option was looked up on Object.prototype instead of being refused as unknown.
  it.each(['valueOf', 'constructor', 'toString', 'hasOwnProperty', '__proto__'])(
    'refuses --%s and %s= as undeclared, not as inherited members',
    (name) => {
      const registry = new CommandRegistry();
      registry.register(
        defineCommand({
          name: 'deploys',
          summary: 'deploys',
          examples: ['deploys n=5'],
          options: { n: { type: 'int', description: 'how many' } },
          flags: { watch: 'follow the rollout' },
          handler: ok,
        }),
      );
      expect(() => registry.resolve(parseLine(`deploys --${name}`), '')).toThrow(
        `deploys does not take --${name}`,
      );
      expect(() => registry.resolve(parseLine(`deploys ${name}=1`), '')).toThrow(
        `deploys does not take ${name}=`,
      );
    },
  );

  it('passes keys named like Object.prototype members through as extra options, as typed', () => {
    const registry = new CommandRegistry();
    registry.register(
      defineCommand({
        name: 'runbook',
        summary: 'runbooks',
        examples: ['runbook restart replicas=2'],
        extraOptions: 'runbook parameters',
        handler: ok,
      }),
    );
    const line = 'runbook __proto__=a constructor=b toString=c';
    const { args } = registry.resolve(parseLine(line), line);
    expect(Object.entries(args.extra)).toEqual([
      ['__proto__', 'a'],
      ['constructor', 'b'],
      ['toString', 'c'],
    ]);
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
  });
});
