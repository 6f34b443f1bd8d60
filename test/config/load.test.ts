// Given a millwright.yml and an environment, loadConfig hands back a typed config with absolute paths.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: config text under test holds literal ${VAR} references
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isChatPlatformConfigured, loadConfig } from '../../src/app.js';
import { resolveConfigPath } from '../../src/config/index.js';
import { type TempConfigDir, tempConfigDir } from './temp-config.js';

const fixtures = fileURLToPath(new URL('../fixtures/config/', import.meta.url));

let temp: TempConfigDir;
beforeEach(async () => {
  temp = await tempConfigDir();
});
afterEach(async () => {
  await temp.remove();
});

describe('loadConfig', () => {
  test('an empty file means every default, next to the file', async () => {
    const path = await temp.write('');
    const { config, secrets } = await loadConfig(path, { env: {} });
    // Sections added by later features have their own defaults; these are the foundation's.
    expect(config).toMatchObject({
      server: { port: 3000, host: '0.0.0.0' },
      store: { path: join(temp.dir, '.millwright') },
      audit: { path: join(temp.dir, '.millwright', 'audit.jsonl') },
      log: { level: 'info' },
      access: {
        defaultRoles: ['viewer'],
        roles: { viewer: { allow: ['help', 'whoami', 'audit'] } },
        subjects: {},
        breakGlass: {},
      },
      security: { actionTtl: '1h' },
      runbooks: { dir: join(temp.dir, 'runbooks') },
      services: {},
      slos: [],
      policy: {},
      digests: [],
      executors: [],
    });
    expect(secrets).toEqual([]);
    expect(isChatPlatformConfigured(config)).toBe(false);
  });

  test('section defaults fill in what a section leaves out', async () => {
    const path = await temp.write(
      'slack:\n  botToken: a\n  signingSecret: b\ngithub:\n  token: t\nprometheus:\n  url: http://localhost:9090\n',
    );
    const { config } = await loadConfig(path, { env: {} });
    expect(config.slack).toMatchObject({
      botToken: 'a',
      signingSecret: 'b',
      socketMode: false,
      command: '/sre',
      apiUrl: 'https://slack.com/api/',
    });
    expect(config.github).toMatchObject({ baseUrl: 'https://api.github.com', token: 't' });
    expect(config.prometheus).toMatchObject({ url: 'http://localhost:9090', timeout: '10s' });
    expect(isChatPlatformConfigured(config)).toBe(true);
  });

  test('a section whose keys are all commented out counts as not set', async () => {
    const path = await temp.write('slack:\n#  botToken: x\nserver:\n');
    const { config } = await loadConfig(path, { env: {} });
    expect(config.slack).toBeUndefined();
    expect(config.server).toMatchObject({ port: 3000, host: '0.0.0.0', headersTimeout: '10s', drain: '5s' });
  });

  test('the full fixture: secrets from the environment, paths resolved against the file', async () => {
    const env = {
      SLACK_BOT_TOKEN: 'xoxb-bot-token',
      SLACK_SIGNING_SECRET: 'signing-secret',
      SLACK_APP_TOKEN: 'xapp-app-token',
      TEAMS_APP_ID: 'teams-app-id',
      TEAMS_APP_PASSWORD: 'teams-password',
      PROM_TOKEN: 'prom-token',
      GITHUB_TOKEN: 'ghp_github-token',
    };
    const loaded = await loadConfig(join(fixtures, 'full.yml'), { env, cwd: '/' });
    const { config } = loaded;
    expect(loaded.path).toBe(join(fixtures, 'full.yml'));
    expect(config.server).toMatchObject({ port: 8080, host: '127.0.0.1' });
    expect(config.slack).toMatchObject({
      botToken: 'xoxb-bot-token',
      appToken: 'xapp-app-token',
      socketMode: true,
    });
    expect(config.teams).toEqual({
      appId: 'teams-app-id',
      appPassword: 'teams-password',
      allowUnauthenticated: false,
      timeout: '10s',
    });
    expect(config.prometheus).toMatchObject({
      url: 'http://127.0.0.1:9090',
      bearerToken: 'Bearer prom-token',
      timeout: '1m30s',
    });
    expect(config.store.path).toBe(join(fixtures, 'state'));
    expect(config.audit.path).toBe(join(homedir(), 'millwright-audit.jsonl'));
    expect(config.runbooks.dir).toBe(join(dirname(fixtures), 'runbooks'));
    expect(config.kubernetes).toEqual({
      kubeconfig: join(fixtures, 'kube', 'config'),
      context: 'prod',
      allowedNamespaces: ['shop', 'payments'],
      timeout: '10s',
    });
    expect(config.access.subjects['group:sre']).toEqual(['viewer', 'oncall']);
    expect(config.services).toMatchObject({ checkout: { owners: ['team-shop'] } });
    // Secrets by place: the values under secret-named keys, whole and as interpolated; the app id is
    // an identifier, not a secret, though like every value from the environment it is in `interpolated`.
    expect(loaded.secrets.sort()).toEqual(
      [
        'xoxb-bot-token',
        'signing-secret',
        'xapp-app-token',
        'teams-password',
        'prom-token',
        'Bearer prom-token',
        'ghp_github-token',
      ].sort(),
    );
    expect(loaded.secrets).not.toContain('teams-app-id');
    expect(loaded.interpolated).toEqual(
      expect.arrayContaining(['teams-app-id', 'prom-token', 'signing-secret']),
    );
  });

  test('${VAR:-default} falls back, and $${ writes a literal ${', async () => {
    const path = await temp.write(
      'server:\n  host: ${HOST:-127.0.0.1}\n  port: ${PORT:-4000}\nstore:\n  path: ./$${HOME}/x-${SUFFIX}\n',
    );
    const { config } = await loadConfig(path, { env: { SUFFIX: 'blue', HOST: '' } });
    expect(config.server).toMatchObject({ host: '127.0.0.1', port: 4000 });
    expect(config.store.path).toBe(join(temp.dir, '${HOME}', 'x-blue'));
  });

  test('an empty optional secret (${VAR:-}) means not set', async () => {
    const path = await temp.write('github:\n  token: ${GITHUB_TOKEN:-}\n');
    const { config, secrets } = await loadConfig(path, { env: {} });
    expect(config.github).toMatchObject({ baseUrl: 'https://api.github.com' });
    expect(secrets).toEqual([]);
  });

  test('~ in a path is the home directory; absolute paths stay as written', async () => {
    // A bare ~ is YAML for "empty", so on its own it has to be quoted.
    const path = await temp.write(
      "store:\n  path: ~/.millwright\nrunbooks:\n  dir: /srv/runbooks\nkubernetes:\n  kubeconfig: '~'\n  context:\n",
    );
    const { config } = await loadConfig(path, { env: {} });
    expect(config.store.path).toBe(join(homedir(), '.millwright'));
    expect(config.audit.path).toBe(join(homedir(), '.millwright', 'audit.jsonl'));
    expect(config.runbooks.dir).toBe('/srv/runbooks');
    expect(config.kubernetes?.kubeconfig).toBe(homedir());
    expect(config.kubernetes?.context).toBeUndefined();
  });

  test('a relative config path is read from cwd', async () => {
    await temp.write('log:\n  level: warn\n', 'other.yml');
    const { config, path } = await loadConfig('other.yml', { env: {}, cwd: temp.dir });
    expect(config.log.level).toBe('warn');
    expect(path).toBe(join(temp.dir, 'other.yml'));
  });
});

describe('resolveConfigPath', () => {
  test('--config wins, then MILLWRIGHT_CONFIG, then millwright.yml in cwd', () => {
    const env = { MILLWRIGHT_CONFIG: '/etc/millwright/prod.yml' };
    expect(resolveConfigPath({ flag: 'dev.yml', env, cwd: '/srv' })).toBe('/srv/dev.yml');
    expect(resolveConfigPath({ env, cwd: '/srv' })).toBe('/etc/millwright/prod.yml');
    expect(resolveConfigPath({ env: {}, cwd: '/srv' })).toBe('/srv/millwright.yml');
  });
});
