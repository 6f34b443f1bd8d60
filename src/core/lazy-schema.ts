// A schema built on its first use. Constructing a zod schema costs tens of thousands of instructions
// per node, and every module's schemas used to be built when the bundle loaded, though most commands
// never parse a runbook file, an SLO file, an Alertmanager payload or a control-protocol body. A
// schema wrapped here is built the first time anything reads from it, and is the same object from
// then on.

/**
 * Wraps a schema factory: the result stands for the schema (same type, same methods, usable inside
 * other schemas) and calls `build` once, on first use.
 *
 * @example
 * export const runbookSchema = lazySchema(() => z.strictObject({ ... }));
 * runbookSchema.safeParse(value); // builds it now, once
 */
export function lazySchema<T extends object>(build: () => T): T {
  let built: T | undefined;
  const real = (): T => {
    built ??= build();
    return built;
  };
  return new Proxy({} as T, {
    get: (_, key) => {
      const target = real();
      const value = Reflect.get(target, key, target);
      // Methods run on the schema itself, so what they cache and compare is keyed by one object.
      return typeof value === 'function' ? value.bind(target) : value;
    },
    has: (_, key) => Reflect.has(real(), key),
    set: (_, key, value) => Reflect.set(real(), key, value),
    getPrototypeOf: () => Reflect.getPrototypeOf(real()),
    ownKeys: () => Reflect.ownKeys(real()),
    getOwnPropertyDescriptor: (_, key) => {
      const found = Reflect.getOwnPropertyDescriptor(real(), key);
      // The stand-in's own target has no such property; a proxy may only report it as configurable.
      return found === undefined ? undefined : { ...found, configurable: true };
    },
    defineProperty: (_, key, descriptor) => Reflect.defineProperty(real(), key, descriptor),
  });
}
