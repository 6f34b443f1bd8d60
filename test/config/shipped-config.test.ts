// The millwright.yml in the repo is what `npm start` reads on a fresh clone; its commented examples must work too.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/app.js';
import { type TempConfigDir, tempConfigDir } from './temp-config.js';

const shipped = fileURLToPath(new URL('../../millwright.yml', import.meta.url));

let temp: TempConfigDir;
beforeEach(async () => {
  temp = await tempConfigDir();
});
afterEach(async () => {
  await temp.remove();
});

test('the shipped millwright.yml loads with no environment variables and no chat platform', async () => {
  const { config, secrets } = await loadConfig(shipped, { env: {} });
  expect(
    config.slack ?? config.teams ?? config.prometheus ?? config.github ?? config.kubernetes,
  ).toBeUndefined();
  expect(Object.keys(config.access.roles)).toEqual(['viewer', 'operator', 'admin']);
  expect(config.access.defaultRoles).toEqual(['viewer']);
  expect(config.access.roles.admin?.allow).toEqual(['*']);
  expect(config.access.roles.operator?.allow).toEqual(
    expect.arrayContaining(['runbook.*', 'change.*', 'incident.*']),
  );
  expect(config.store.path.endsWith('/.millwright')).toBe(true);
  expect(config.runbooks.dir.endsWith('/runbooks')).toBe(true);
  expect(secrets).toEqual([]);
});

test('the commented integration examples are valid once uncommented', async () => {
  const text = await readFile(shipped, 'utf8');
  // An example block is "# section:" followed by "#   key: value" lines.
  const uncommented = text.replace(
    /^# ((?:slack|teams|prometheus|github|kubernetes|resilience):\n(?:# {3}.*\n)*)/gm,
    (block) => block.replace(/^# /gm, ''),
  );
  expect(uncommented).not.toBe(text);
  const env = {
    SLACK_BOT_TOKEN: 'xoxb-1',
    SLACK_SIGNING_SECRET: 'signing',
    TEAMS_APP_ID: 'app-id',
    TEAMS_APP_PASSWORD: 'password',
    GITHUB_TOKEN: 'ghp_1',
  };
  const { config } = await loadConfig(await temp.write(uncommented), { env });
  expect(config.slack?.botToken).toBe('xoxb-1');
  expect(config.teams?.appId).toBe('app-id');
  expect(config.prometheus?.url).toBe('http://prometheus:9090');
  expect(config.github?.token).toBe('ghp_1');
  expect(config.kubernetes?.allowedNamespaces).toEqual(['shop']);
  expect(config.resilience).toEqual({
    attempts: 3,
    backoff: '200ms',
    maxBackoff: '5s',
    maxRetryAfter: '10s',
    failureThreshold: 5,
    halfOpenAfter: '30s',
  });
});
