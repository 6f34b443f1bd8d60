// The module contract: a feature or a surface declares its config sections, the services it needs
// and provides, its commands and routes, and its start/stop; the composition root only lists modules.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import type { Clock } from './clock.js';
import type { Services } from './context.js';
import type { Logger } from './logger.js';
import type { CommandDefinition } from './registry.js';
import type { Reply } from './reply.js';
import type { CommandRequest } from './router.js';

/** Helpers handed to every route handler next to the node request and response. */
export interface RequestContext {
  /** The mounted path (`/slack/events`); log this, not the raw URL, which may carry tokens. */
  readonly route: string;
  /** The values of the route's `:name` segments (`/api/v1/gates/:change` -> `{ change: 'CR-12' }`). */
  readonly params: Readonly<Record<string, string>>;
  /** Reads the whole body, refusing more than the server's body limit (the server then answers 413). */
  readBody(): Promise<Buffer>;
  /** Registers work that outlives the response (a command run after the ack) so shutdown waits for it. */
  track<T>(work: Promise<T>): Promise<T>;
}

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, ctx: RequestContext) => unknown;

/** Where a module mounts HTTP routes (Millwright's server). */
export interface RouteHost {
  route(method: string, path: string, handler: RouteHandler): unknown;
}

/** How the process runs: the terminal shell, the HTTP server, or a one-off tool (lint, verify). */
export type RunMode = 'shell' | 'server' | 'tool';

/** What a module's `create` receives. */
export interface ModuleContext {
  /** The services built so far: every name in `needs` is there (and `uses`, when configured). */
  readonly services: Services;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly mode: RunMode;
  /** The directory the config file sits in (relative plugin paths resolve from here). */
  readonly configDir: string;
  /** Runs at shutdown, in the reverse order of registration, after every module's `stop`. */
  onClose(closer: () => Promise<void>): void;
}

/** What a module's `serve` receives: the server's routes and its in-flight work tracker. */
export interface ServeContext extends ModuleContext {
  readonly routes: RouteHost;
  /** The router's entry point: runs one command line for a surface. */
  readonly handle: (request: CommandRequest) => Promise<Reply>;
  /** Registers work that outlives a request so a graceful shutdown waits for it. */
  readonly track: <T>(work: Promise<T>) => Promise<T>;
  /** Server-only options a test or the CLI passes to one module by name (`teams: { io }`). */
  readonly options: Readonly<Record<string, unknown>>;
}

export type ServiceName = keyof Services & string;

/**
 * One problem `config check` found at a place in a file: `file` absolute, `line` and `column` 1-based
 * (0 when no place is known), `path` the YAML path there.
 */
export interface CheckFinding {
  file: string;
  line: number;
  column: number;
  path: string;
  message: string;
}

/**
 * One feature or surface.
 *
 * @example
 * export const changes = defineModule({
 *   name: 'changes',
 *   config: { policy: policySchema },
 *   needs: ['store', 'audit', 'runbooks'],
 *   uses: ['slo'],
 *   provides: ['changes'],
 *   async create({ services, clock, logger }) {
 *     return { changes: new ChangeService({ ...services, clock, logger }) };
 *   },
 *   start: ({ services }) => services.changes.start(),
 * });
 */
export interface MillwrightModule {
  readonly name: string;
  /** A surface carries people's commands (Slack, Teams); `npm start` serves when one is enabled. */
  readonly kind?: 'feature' | 'surface';
  /** Top-level config sections this module owns, by key; the config schema composes them. */
  readonly config?: Readonly<Record<string, z.ZodType>>;
  /**
   * Store collections this module keeps, each with the schema its records must pass: the store
   * checks every record when it opens, so a damaged one stops start-up with its collection and id.
   */
  readonly records?: Readonly<Record<string, z.ZodType>>;
  /** Dotted config paths holding file paths, made absolute against the config file's directory. */
  readonly configPaths?: readonly string[];
  /** Services that must exist before `create` runs. */
  readonly needs?: readonly ServiceName[];
  /** Services used when present (built first when some module provides them). */
  readonly uses?: readonly ServiceName[];
  /** Services `create` returns; another module providing the same name is a registration error. */
  readonly provides?: readonly ServiceName[];
  /**
   * Secret values in this module's config that their key names do not reveal (http header values).
   * Asked once at load, before anything is built; every output is scrubbed of them.
   */
  secrets?(services: Services): Iterable<string>;
  /** Commands this module adds beside the ones in commands/. */
  readonly commands?: readonly CommandDefinition[];
  /** Whether this module loads for this config (a chat surface loads only when configured). */
  enabled?(services: Services): boolean;
  /**
   * `config check`: throws what start-up would refuse for this config (a plugin that does not load,
   * a required key a platform needs), or returns findings pinned to a place in a file (a query in an
   * SLO), without starting anything: no store, no network. Runs only when the module is enabled;
   * `services` holds just `config`, `configFile` and `secrets`.
   */
  check?(
    ctx: Pick<ModuleContext, 'services' | 'clock' | 'logger' | 'configDir'>,
  ): Promise<readonly CheckFinding[] | undefined> | Promise<void> | readonly CheckFinding[] | void;
  create?(ctx: ModuleContext): Promise<Partial<Services> | undefined> | Partial<Services> | undefined;
  /** Server only: mount routes and start surfaces; runs after every module is created. */
  serve?(ctx: ServeContext): Promise<void> | void;
  /** Server only: background work (workers, schedules), after the server listens. */
  start?(ctx: ServeContext): Promise<void> | void;
  /** Stops background work and surfaces; runs before the closers, in reverse module order. */
  stop?(ctx: ModuleContext): Promise<void> | void;
}

/** Declares a module; the identity function that gives the object its type. */
export function defineModule<M extends MillwrightModule>(module: M): M {
  return module;
}

/**
 * Orders modules so each comes after the providers of what it needs and uses; a missing provider,
 * a duplicate provider, a duplicate name or a cycle is a registration error naming the fix.
 */
export function orderModules(
  modules: readonly MillwrightModule[],
  seeded: readonly string[] = [],
): MillwrightModule[] {
  const byName = new Map<string, MillwrightModule>();
  const provider = new Map<string, MillwrightModule>();
  for (const module of modules) {
    if (!/^[a-z][a-z0-9-]*$/.test(module.name)) {
      throw new Error(`module name "${module.name}" must be lowercase letters, digits and -`);
    }
    if (byName.has(module.name)) throw new Error(`module "${module.name}" is listed twice`);
    byName.set(module.name, module);
    for (const name of module.provides ?? []) {
      const other = provider.get(name) ?? (seeded.includes(name) ? { name: 'core' } : undefined);
      if (other) {
        throw new Error(`modules "${other.name}" and "${module.name}" both provide service "${name}"`);
      }
      provider.set(name, module);
    }
  }
  for (const module of modules) {
    for (const need of module.needs ?? []) {
      if (!provider.has(need) && !seeded.includes(need)) {
        throw new Error(
          `module "${module.name}" needs service "${need}", which no module provides; add the module that provides it to the list`,
        );
      }
    }
  }
  const ordered: MillwrightModule[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (module: MillwrightModule, path: string[]) => {
    const seen = state.get(module.name);
    if (seen === 'done') return;
    if (seen === 'visiting') {
      throw new Error(`modules depend on each other in a cycle: ${[...path, module.name].join(' -> ')}`);
    }
    state.set(module.name, 'visiting');
    for (const name of [...(module.needs ?? []), ...(module.uses ?? [])]) {
      const dependency = provider.get(name);
      if (dependency && dependency !== module) visit(dependency, [...path, module.name]);
    }
    state.set(module.name, 'done');
    ordered.push(module);
  };
  for (const module of modules) visit(module, []);
  return ordered;
}
