// `millwright config check`: one line that says ok and what is configured, or every problem, never a secret.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: config text under test holds literal ${VAR} references
import { execFileSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { checkConfig } from '../../src/app.js';
import { main } from '../../src/main.js';
import { type TempConfigDir, tempConfigDir } from './temp-config.js';

let temp: TempConfigDir;
beforeEach(async () => {
  temp = await tempConfigDir();
});
afterEach(async () => {
  await temp.remove();
});

test('a valid config gets one ok line listing each integration', async () => {
  await temp.write('prometheus:\n  url: http://localhost:9090\n  bearerToken: ${PROM_TOKEN}\n');
  const result = await checkConfig('millwright.yml', { PROM_TOKEN: 'prom-secret' }, { cwd: temp.dir });
  expect(result).toEqual({
    ok: true,
    lines: [
      'millwright.yml: ok (slack: not configured, teams: not configured, prometheus: configured, github: not configured, kubernetes: not configured)',
    ],
  });
});

test('an invalid config gets one line per problem, without the secret', async () => {
  await temp.write(
    'slack:\n  botToken: ${SLACK_BOT_TOKEN}\n  signingSecret: ${SLACK_BOT_TOKEN}\n  command: sre\n',
  );
  const result = await checkConfig(
    'millwright.yml',
    { SLACK_BOT_TOKEN: 'xoxb-very-secret' },
    { cwd: temp.dir },
  );
  expect(result).toEqual({
    ok: false,
    lines: ['millwright.yml:4:12 slack.command: expected a slash command like /sre'],
  });
});

test('a missing file is one line saying what to do', async () => {
  const result = await checkConfig('./nope.yml', {}, { cwd: temp.dir });
  expect(result.ok).toBe(false);
  expect(result.lines).toEqual([
    'config file ./nope.yml not found; create one from millwright.yml in the repo or pass --config PATH',
  ]);
});

describe('what start-up would refuse', () => {
  const PLUGIN_WITH_SCHEMA = `export default function createExecutor() {
  return {
    metadata: () => ({
      name: 'pager',
      version: '1.0.0',
      protocolVersion: 1,
      description: 'pages someone',
      configSchema: { type: 'object', properties: { service: { type: 'string' } }, required: ['service'], additionalProperties: false },
      actions: {
        page: {
          description: 'pages the on-call person',
          effect: 'write',
          dryRun: 'describe',
          input: { type: 'object', properties: {}, additionalProperties: false },
        },
      },
    }),
    execute: async () => ({ summary: '', output: {} }),
  };
}
`;

  test('an executor plugin module that does not exist', async () => {
    await temp.write('executors:\n  - module: ./plugins/pager.mjs\n');

    const result = await checkConfig('millwright.yml', {}, { cwd: temp.dir });

    expect(result.ok).toBe(false);
    expect(result.lines).toEqual([
      expect.stringMatching(
        /^millwright\.yml: executor module \.\/plugins\/pager\.mjs could not be loaded: .*\(fix or remove it under executors:/,
      ),
    ]);
  });

  test("a plugin's config that does not match the configSchema it declares", async () => {
    await temp.write(PLUGIN_WITH_SCHEMA, 'pager.mjs');
    await temp.write('executors:\n  - module: ./pager.mjs\n    config: { servce: checkout }\n');

    const result = await checkConfig('millwright.yml', {}, { cwd: temp.dir });

    expect(result.ok).toBe(false);
    expect(result.lines[0]).toMatch(
      /^millwright\.yml: executor module \.\/pager\.mjs config needs service \(its configSchema: /,
    );

    await temp.write('executors:\n  - module: ./pager.mjs\n    config: { service: checkout }\n');
    expect((await checkConfig('millwright.yml', {}, { cwd: temp.dir })).ok).toBe(true);
  });

  test('a single-tenant Teams bot without teams.tenantId', async () => {
    await temp.write(
      'teams:\n  appId: 00000000-0000-0000-0000-00000000a99b\n  appPassword: ${TEAMS_APP_PASSWORD}\n',
    );

    const result = await checkConfig(
      'millwright.yml',
      { TEAMS_APP_PASSWORD: 'teams-secret-value' },
      { cwd: temp.dir },
    );

    expect(result.ok).toBe(false);
    expect(result.lines).toEqual([
      expect.stringMatching(
        /^millwright\.yml: teams\.tenantId is required: .*\(set teams\.tenantId to your Entra ID tenant/,
      ),
    ]);
    expect(result.lines.join('\n')).not.toContain('teams-secret-value');
  });

  // Within a second: the test's own timeout, so a check that opened the pipe (and waited for a
  // writer forever) fails here instead of hanging.
  test('a FIFO given as the config is refused at once instead of read, within a second', async () => {
    execFileSync('mkfifo', [path.join(temp.dir, 'millwright.yml')]);

    const result = await checkConfig('millwright.yml', {}, { cwd: temp.dir });

    expect(result).toEqual({
      ok: false,
      lines: ['config file millwright.yml is a named pipe (FIFO), not a regular file'],
    });
  }, 1_000);
});

describe('SLOs the config loads, linted as `slo lint` lints them', () => {
  const inline = (errorQuery: string) =>
    [
      'prometheus:',
      '  url: http://127.0.0.1:9090',
      'slo:',
      '  dir: ./slos',
      'slos:',
      '  - service: checkout',
      '    name: availability',
      '    objective: 99.9',
      '    sli:',
      '      events:',
      `        errorQuery: ${errorQuery}`,
      '        totalQuery: sum(rate(http_requests_total{service="checkout"}[{{window}}]))',
      '',
    ].join('\n');

  test('an inline SLO calling rtae() fails with the line and column in millwright.yml', async () => {
    await temp.write(inline('sum(rtae(http_requests_total{service="checkout",code=~"5.."}[{{window}}]))'));

    const result = await checkConfig('millwright.yml', {}, { cwd: temp.dir });

    expect(result).toEqual({
      ok: false,
      // Line 11, where errorQuery's value starts at column 21: "rtae" is its fifth character.
      lines: [
        'millwright.yml:11:25 slos[0].sli.events.errorQuery: checkout/availability: errorQuery: unknown function "rtae"',
      ],
    });
    // `millwright config check` prints it on stderr and exits 1.
    const stderr = new PassThrough();
    let printed = '';
    stderr.on('data', (chunk) => (printed += chunk));
    const io = { stdin: new PassThrough(), stdout: new PassThrough(), stderr, env: {}, cwd: temp.dir };
    expect(await main(['config', 'check'], io)).toBe(1);
    expect(printed).toBe(`${result.lines[0]}\n`);
  });

  test('an SLO file in slo.dir is linted too, named by its own path, line and column', async () => {
    await temp.write(inline('sum(rate(http_requests_total{service="checkout",code=~"5.."}[{{window}}]))'));
    await mkdir(path.join(temp.dir, 'slos'));
    await temp.write(
      'service: search\nname: availability\nobjective: 99.5\nsli:\n  events:\n    errorQuery: sum(rate(search_errors_total[{{window}}])\n    totalQuery: sum(rate(search_requests_total[{{window}}]))\n',
      'slos/search.yml',
    );

    const result = await checkConfig('millwright.yml', {}, { cwd: temp.dir });

    expect(result.ok).toBe(false);
    expect(result.lines).toEqual([
      expect.stringMatching(
        /^slos\/search\.yml:6:\d+ sli\.events\.errorQuery: search\/availability: errorQuery: syntax error/,
      ),
    ]);
  });

  test('valid SLOs pass, and the ok line is the usual one', async () => {
    await temp.write(inline('sum(rate(http_requests_total{service="checkout",code=~"5.."}[{{window}}]))'));

    const result = await checkConfig('millwright.yml', {}, { cwd: temp.dir });

    expect(result).toEqual({
      ok: true,
      lines: [
        'millwright.yml: ok (slack: not configured, teams: not configured, prometheus: configured, github: not configured, kubernetes: not configured)',
      ],
    });
  });
});
