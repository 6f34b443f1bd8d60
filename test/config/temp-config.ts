// A temp directory per test holding one millwright.yml, so each story states its own config.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/app.js';
import { ConfigError } from '../../src/config/index.js';

export interface TempConfigDir {
  dir: string;
  write(text: string, name?: string): Promise<string>;
  /** Loads `text` as millwright.yml and returns the error lines it must fail with. */
  problems(text: string, env?: NodeJS.ProcessEnv): Promise<string[]>;
  remove(): Promise<void>;
}

export async function tempConfigDir(): Promise<TempConfigDir> {
  const dir = await mkdtemp(join(tmpdir(), 'millwright-config-'));
  const write = async (text: string, name = 'millwright.yml') => {
    await writeFile(join(dir, name), text);
    return join(dir, name);
  };
  return {
    dir,
    write,
    async problems(text, env = {}) {
      await write(text);
      const error = await loadConfig('millwright.yml', { env, cwd: dir }).then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      if (!(error instanceof ConfigError)) throw new Error(`expected a ConfigError, got ${String(error)}`);
      return error.message.split('\n');
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
