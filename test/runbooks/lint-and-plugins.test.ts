// `millwright runbooks lint` and third-party executors, through the real entry point.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/app.js';
import { defineCommand, reply, replyToText, silentLogger, text } from '../../src/core/index.js';
import { buildRuntime, createRouter } from '../../src/main.js';
import { millwright, ROOT } from '../helpers/spawn.js';

const FIXTURES = path.join(ROOT, 'test', 'fixtures');

describe('runbook lint and executor plugins', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-lint-'));
    await writeFile(
      path.join(dir, 'millwright.yml'),
      `store:\n  path: ./data\nexecutors:\n  - module: ${path.join(FIXTURES, 'executors', 'recorder-executor.mjs')}\n    config: { callsFile: ./calls.jsonl }\naccess:\n  roles:\n    viewer: { allow: [help] }\n    operator: { allow: ['runbook.*'] }\n`,
    );
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('passes on good runbooks', async () => {
    const result = await millwright(['runbooks', 'lint', path.join(FIXTURES, 'runbooks', 'recorder')], {
      cwd: dir,
    });
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^2 runbook\(s\) ok/);
    expect(result.code).toBe(0);
  });

  it('fails with file:line:column for each problem in broken runbooks', async () => {
    const result = await millwright(['runbooks', 'lint', path.join(FIXTURES, 'runbooks', 'broken')], {
      cwd: dir,
    });
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split('\n');
    const at = (file: string) => new RegExp(`runbooks/broken/${file}:\\d+:\\d+ `);
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/bad-schema\.yml:4:9 metadata\.name: expected a DNS-1123 name/),
        expect.stringMatching(/bad-schema\.yml:9:13 spec\.params\[0\]\.type: /),
        expect.stringMatching(
          /bad-references\.yml:\d+:\d+ spec\.steps\[0\]: parameter missing is used but not declared/,
        ),
        expect.stringMatching(
          /bad-references\.yml:\d+:\d+ spec\.steps\[0\]: \{\{ env\.HOME \}\} is not allowed/,
        ),
        expect.stringMatching(
          /bad-references\.yml:\d+:\d+ spec\.steps\[1\]\.with\.color: recorder\.change does not take color/,
        ),
        expect.stringMatching(
          /bad-references\.yml:\d+:\d+ spec\.steps\[2\]\.uses: no executor offers nothing\.here/,
        ),
        expect.stringMatching(
          /bad-references\.yml:\d+:\d+ spec\.params\[0\]\.name: parameter unused is declared but never used/,
        ),
      ]),
    );
    expect(
      lines.every((line) => at('bad-(schema|references)\\.yml').test(line) || /problem\(s\)/.test(line)),
    ).toBe(true);
    expect(lines.at(-1)).toBe(`${lines.length - 1} problem(s); 0 runbook(s) ok`);
  });

  it('refuses to start with a plugin that breaks the contract, naming it', async () => {
    const file = path.join(dir, 'millwright.yml');
    await writeFile(
      file,
      `store:\n  path: ./data\nexecutors:\n  - module: ${path.join(FIXTURES, 'executors', 'broken-executor.mjs')}\n`,
    );
    const loaded = await loadConfig(file, { env: {} });
    await expect(buildRuntime(loaded, { logger: silentLogger() })).rejects.toThrow(
      /executor "broken" \(.*broken-executor\.mjs\) speaks executor protocol 2; this Millwright speaks 1/,
    );
    await writeFile(file, `store:\n  path: ./data\nexecutors:\n  - module: ./no-such-plugin.mjs\n`);
    const missing = await loadConfig(file, { env: {} });
    await expect(buildRuntime(missing, { logger: silentLogger() })).rejects.toThrow(
      /executor module \.\/no-such-plugin\.mjs could not be loaded/,
    );
  });

  it('scrubs what a plugin declares secret from replies and the audit trail', async () => {
    const lease = 'lease-7Hq2Wm9Xc4Vb';
    const file = path.join(dir, 'millwright.yml');
    await writeFile(
      file,
      `store:\n  path: ./data\nexecutors:\n  - module: ${path.join(FIXTURES, 'executors', 'vault-executor.mjs')}\n    config: { lease: ${lease} }\naccess:\n  defaultRoles: [admin]\n  roles:\n    admin: { allow: ['*'] }\n`,
    );
    const runtime = await buildRuntime(await loadConfig(file, { env: {} }), { logger: silentLogger() });
    try {
      // A command that shows what the plugin answers, the way a runbook step's summary is shown.
      runtime.services.registry.register(
        defineCommand({
          name: 'lease',
          summary: 'shows the vault lease',
          examples: ['lease'],
          handler: async (ctx) => {
            const result = await ctx.services.executors.invoke({
              uses: 'vault.lease',
              input: {},
              dryRun: false,
              actor: ctx.actor.id,
              surface: ctx.surface,
              channel: ctx.channel,
              ref: ctx.ref,
              timeoutMs: 5_000,
            });
            return reply(text(result.summary));
          },
        }),
      );
      const answer = await createRouter(runtime).handle({
        actor: { id: 'ana' },
        surface: 'shell',
        channel: 'shell',
        text: 'lease',
      });
      expect(replyToText(answer)).toBe('lease [redacted] is current');
      await runtime.services.audit.flush();
      const trail = JSON.stringify(await runtime.services.audit.recent({ limit: 20 }));
      expect(trail).toContain('vault.lease');
      expect(trail).not.toContain(lease);
    } finally {
      await runtime.close();
    }
  });
});
