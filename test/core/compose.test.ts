// Composing modules: each runs after what it needs, and a list that cannot work is refused with the fix.
import {
  composeModules,
  defineModule,
  fixedClock,
  type MillwrightModule,
  silentLogger,
} from '../../src/core/index.js';

const base = {
  clock: fixedClock(new Date('2026-12-01T00:00:00Z')),
  logger: silentLogger(),
  mode: 'shell' as const,
  configDir: '.',
};
const compose = (modules: MillwrightModule[], seed: Record<string, unknown> = { config: {} }) =>
  composeModules({ ...base, modules, seed: seed as never });

// Service names in these tests are not Millwright's; the contract is checked by name only.
const mod = (
  spec: { name: string; needs?: string[]; uses?: string[]; provides?: string[]; enabled?: boolean },
  log: string[] = [],
) =>
  defineModule({
    name: spec.name,
    needs: (spec.needs ?? []) as never,
    uses: (spec.uses ?? []) as never,
    provides: (spec.provides ?? []) as never,
    enabled: () => spec.enabled ?? true,
    create: () => {
      log.push(`create ${spec.name}`);
      return Object.fromEntries(
        (spec.provides ?? []).map((name) => [name, `${name} from ${spec.name}`]),
      ) as never;
    },
    stop: () => void log.push(`stop ${spec.name}`),
  });

describe('composing modules', () => {
  it('builds each module after the providers of what it needs and uses, and stops them in reverse', async () => {
    const log: string[] = [];
    const app = await compose([
      mod({ name: 'digests', needs: ['changes'], uses: ['slo'] }, log),
      mod({ name: 'changes', needs: ['store'], provides: ['changes'] }, log),
      mod({ name: 'slo', provides: ['slo'] }, log),
      mod({ name: 'store', provides: ['store'] }, log),
    ]);
    expect(log).toEqual(['create store', 'create changes', 'create slo', 'create digests']);
    expect((app.services as unknown as Record<string, unknown>).changes).toBe('changes from changes');
    await app.close();
    expect(log.slice(4)).toEqual(['stop digests', 'stop slo', 'stop changes', 'stop store']);
  });

  it('builds nothing up front when lazy, then only the providers of what is asked for', async () => {
    const log: string[] = [];
    const app = await composeModules({
      ...base,
      lazy: true,
      seed: { config: {} } as never,
      modules: [
        mod({ name: 'store', provides: ['store'] }, log),
        mod({ name: 'changes', needs: ['store'], provides: ['changes'] }, log),
        mod({ name: 'access', provides: ['access'] }, log),
      ],
    });
    expect(log).toEqual([]);
    await app.prepare(['access']);
    expect(log).toEqual(['create access']);
    await Promise.all([app.prepare(['changes']), app.prepare(['changes'])]);
    expect(log).toEqual(['create access', 'create store', 'create changes']);
    await app.prepare('all');
    expect(log).toHaveLength(3);
    await app.close();
  });

  it('refuses a module whose need nobody provides, naming the module and the service', async () => {
    await expect(compose([mod({ name: 'changes', needs: ['store'] })])).rejects.toThrow(
      'module "changes" needs service "store", which no module provides',
    );
  });

  it('refuses two providers of one service', async () => {
    await expect(
      compose([mod({ name: 'a', provides: ['store'] }), mod({ name: 'b', provides: ['store'] })]),
    ).rejects.toThrow('modules "a" and "b" both provide service "store"');
  });

  it('refuses a cycle and shows it', async () => {
    await expect(
      compose([
        mod({ name: 'a', needs: ['y'], provides: ['x'] }),
        mod({ name: 'b', needs: ['x'], provides: ['y'] }),
      ]),
    ).rejects.toThrow('modules depend on each other in a cycle: a -> b -> a');
  });

  it('says which config leaves a needed module off', async () => {
    await expect(
      compose([
        mod({ name: 'slo', provides: ['slo'], enabled: false }),
        mod({ name: 'gate', needs: ['slo'] }),
      ]),
    ).rejects.toThrow(
      'module "gate" needs service "slo" from module "slo", which this config does not enable',
    );
  });

  it('leaves a used service out when its module is off, and builds the rest', async () => {
    const app = await compose([
      mod({ name: 'slo', provides: ['slo'], enabled: false }),
      mod({ name: 'gate', uses: ['slo'] }),
    ]);
    expect(app.modules.map((module) => module.name)).toEqual(['gate']);
    expect('slo' in app.services).toBe(false);
  });

  it('closes what opened when a later module fails to start', async () => {
    const log: string[] = [];
    const failing = defineModule({
      name: 'broken',
      needs: ['store'] as never,
      create: () => {
        throw new Error('cannot reach Prometheus');
      },
    });
    await expect(compose([mod({ name: 'store', provides: ['store'] }, log), failing])).rejects.toThrow(
      'cannot reach Prometheus',
    );
    expect(log).toEqual(['create store', 'stop store']);
  });

  it('refuses a module that returns a service it did not declare', async () => {
    const sneaky = defineModule({ name: 'sneaky', create: () => ({ store: {} }) as never });
    await expect(compose([sneaky])).rejects.toThrow(
      'module "sneaky" returned "store" without declaring it in provides',
    );
  });
});
