// Builds the services from a list of modules in dependency order, and runs their serve, start and
// stop hooks; whatever opened before a failed start is closed again.
import type { Clock } from './clock.js';
import type { Services } from './context.js';
import type { Logger } from './logger.js';
import {
  type MillwrightModule,
  type ModuleContext,
  orderModules,
  type RunMode,
  type ServeContext,
} from './module.js';

export interface ComposeOptions {
  modules: readonly MillwrightModule[];
  /** Services that exist before any module runs (config, registry, events, surfaces). */
  seed: Partial<Services>;
  clock: Clock;
  logger: Logger;
  mode: RunMode;
  configDir: string;
  /**
   * Build modules only when something asks for what they provide (`prepare`), not up front: a
   * one-shot shell command then loads only what it uses.
   */
  lazy?: boolean;
}

/** The composed services and the hooks of the modules that are enabled, in dependency order. */
export interface Composition {
  readonly services: Services;
  readonly modules: readonly MillwrightModule[];
  /** Builds the modules that provide `names` (and what they need), or every module for 'all'. */
  prepare(names: readonly string[] | 'all'): Promise<void>;
  /** Server only: every module's `serve` (routes, surfaces), in order. */
  serve(server: Pick<ServeContext, 'routes' | 'handle' | 'track' | 'options'>): Promise<void>;
  /** Server only: every module's `start` (workers, schedules), in order. */
  start(): Promise<void>;
  /** Every module's `stop` in reverse order, then every closer; each failure is logged, never thrown. */
  close(): Promise<void>;
}

/**
 * Composes modules into services.
 *
 * @example
 * const app = await composeModules({ modules, seed: { config, registry, events, notices }, clock, logger, mode: 'shell', configDir });
 * await app.services.runbooks.list();
 */
export async function composeModules(options: ComposeOptions): Promise<Composition> {
  const { clock, logger, mode, configDir } = options;
  const services = { ...options.seed } as Services;
  const closers: Array<() => Promise<void>> = [];
  const context: ModuleContext = {
    services,
    clock,
    logger,
    mode,
    configDir,
    onClose: (closer) => closers.push(closer),
  };
  const enabled = options.modules.filter((module) => module.enabled?.(services) ?? true);
  const disabled = options.modules.filter((module) => !enabled.includes(module));
  for (const module of enabled) {
    for (const need of module.needs ?? []) {
      const off = disabled.find((other) => other.provides?.includes(need));
      if (off && !enabled.some((other) => other.provides?.includes(need))) {
        throw new Error(
          `module "${module.name}" needs service "${need}" from module "${off.name}", which this config does not enable`,
        );
      }
    }
  }
  const ordered = orderModules(enabled, Object.keys(options.seed));
  const started: MillwrightModule[] = [];
  let served: ServeContext | undefined;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    // Background work stops before the surfaces it posts through (a digest being posted finishes first).
    const surfacesLast = [
      ...started.filter((module) => module.kind !== 'surface').reverse(),
      ...started.filter((module) => module.kind === 'surface').reverse(),
    ];
    for (const module of surfacesLast) {
      try {
        await module.stop?.(context);
      } catch (error) {
        logger.error({ err: error, module: module.name }, 'module stop failed');
      }
    }
    for (const closer of closers.reverse()) {
      try {
        await closer();
      } catch (error) {
        logger.error({ err: error }, 'close failed');
      }
    }
  };
  for (const module of ordered) {
    for (const command of module.commands ?? []) services.registry.register(command);
  }
  const providerOf = new Map<string, MillwrightModule>();
  for (const module of ordered) for (const name of module.provides ?? []) providerOf.set(name, module);
  const create = async (module: MillwrightModule) => {
    const provided = (await module.create?.(context)) ?? {};
    for (const name of module.provides ?? []) {
      if (!(name in provided)) {
        throw new Error(
          `module "${module.name}" says it provides "${name}" but its create() did not return it`,
        );
      }
    }
    for (const name of Object.keys(provided)) {
      if (!module.provides?.includes(name as keyof Services & string)) {
        throw new Error(`module "${module.name}" returned "${name}" without declaring it in provides`);
      }
    }
    Object.assign(services, provided);
    started.push(module);
  };
  // One build at a time, in dependency order, so two commands never build a module twice.
  let building: Promise<void> = Promise.resolve();
  const prepare = (names: readonly string[] | 'all'): Promise<void> => {
    const wanted = new Set<MillwrightModule>();
    const want = (module: MillwrightModule) => {
      if (wanted.has(module) || started.includes(module)) return;
      wanted.add(module);
      for (const name of [...(module.needs ?? []), ...(module.uses ?? [])]) {
        const dependency = providerOf.get(name);
        if (dependency) want(dependency);
      }
    };
    const roots = names === 'all' ? ordered : names.flatMap((name) => providerOf.get(name) ?? []);
    for (const module of roots) want(module);
    const run = building.then(async () => {
      for (const module of ordered) if (wanted.has(module) && !started.includes(module)) await create(module);
    });
    building = run.catch(() => {});
    return run;
  };
  if (!options.lazy) {
    try {
      await prepare('all');
    } catch (error) {
      await close();
      throw error;
    }
  }
  return {
    services,
    modules: ordered,
    prepare,
    async serve(server) {
      await prepare('all');
      served = { ...context, ...server };
      for (const module of ordered) await module.serve?.(served);
    },
    async start() {
      if (!served) throw new Error('start() runs after serve(): background work belongs to the server');
      for (const module of ordered) await module.start?.(served);
    },
    close,
  };
}
