// From millwright.yml to a working http executor: targets with ${ENV} headers, the loader's secrets
// passed on, and the github.allowedRepos key checked by the schema.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { loadConfig } from '../../../src/app.js';
import { silentLogger } from '../../../src/core/logger.js';
import { createHttpExecutor } from '../../../src/executors/http/index.js';
import { type HttpTargetDouble, startHttpTarget } from '../../doubles/http-target.js';

let dir: string;
let target: HttpTargetDouble;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-http-'));
  target = await startHttpTarget();
});
afterEach(async () => {
  await target.close();
  await rm(dir, { recursive: true, force: true });
});

async function load(yaml: string, env: NodeJS.ProcessEnv = {}) {
  const file = path.join(dir, 'millwright.yml');
  await writeFile(file, yaml);
  return loadConfig(file, { env, cwd: dir });
}

describe('http and github config', () => {
  it('builds the http executor from http.targets, with secrets from the environment kept out of outputs', async () => {
    const loaded = await load(
      [
        'http:',
        '  targets:',
        '    cdn:',
        `      baseUrl: ${target.url}/api/`,
        '      timeout: 2s',
        '      headers:',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: config ${ENV} syntax, interpolated by the loader
        '        Fastly-Key: ${FASTLY_KEY}',
        'github:',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: config ${ENV} syntax, interpolated by the loader
        '  token: ${GITHUB_TOKEN}',
        '  allowedRepos: [acme/shop, platform/*]',
      ].join('\n'),
      { FASTLY_KEY: 'fk-9a8b7c6d5e4f', GITHUB_TOKEN: 'ghp_ConfigTestToken0123456789' },
    );
    expect(loaded.config.http?.targets.cdn).toEqual({
      baseUrl: `${target.url}/api/`,
      timeout: '2s',
      headers: { 'Fastly-Key': 'fk-9a8b7c6d5e4f' },
    });
    expect(loaded.config.github?.allowedRepos).toEqual(['acme/shop', 'platform/*']);

    target.on('GET', '/api/whoami', (request) => ({ body: `key ${request.headers['fastly-key']}` }));
    const http = createHttpExecutor({
      targets: loaded.config.http?.targets ?? {},
      logger: silentLogger(),
      secrets: loaded.secrets,
    });
    const result = await http.execute(
      {
        signal: new AbortController().signal,
        deadline: new Date(Date.now() + 10_000),
        dryRun: false,
        actor: 'ana',
        ref: 'r1',
        logger: silentLogger(),
      },
      { action: 'request', input: { target: 'cdn', path: '/whoami' } },
    );
    expect(target.requests[0]?.headers['fastly-key']).toBe('fk-9a8b7c6d5e4f');
    expect(result.output.body).toBe('key [redacted]');
  });

  it('refuses a malformed target and repository pattern with the config path', async () => {
    await expect(
      load(
        [
          'http:',
          '  targets:',
          '    CDN:',
          '      baseUrl: ftp://x',
          'github:',
          '  allowedRepos: [shop]',
        ].join('\n'),
      ),
    ).rejects.toThrow(
      /http\.targets\.CDN: invalid key: target names are lowercase letters, digits and -\n.*github\.allowedRepos\[0\]: expected owner\/repo or owner\/\*/,
    );
  });
});
