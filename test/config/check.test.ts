// `millwright config check`: one line that says ok and what is configured, or every problem, never a secret.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: config text under test holds literal ${VAR} references
import { checkConfig } from '../../src/app.js';
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
