// No secret leaves Millwright. One server runs Slack, Teams and the shell on a config whose every
// secret-bearing key holds a distinctive value from the environment; people type those values (and
// token-shaped strings) into every command that takes free text, on all three surfaces, and an http
// target echoes its secret header back. Then the log file, the audit trail, every file under the store,
// /metrics and every reply are searched for each value and for token shapes: nothing is found.
import { EventEmitter } from 'node:events';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { ShellAdapter } from '../../adapters/shell/index.js';
import { loadConfig } from '../../src/app.js';
import { createLogger, type Reply } from '../../src/core/index.js';
import { type RunningServer, startServer } from '../../src/main.js';
import { slackSignature } from '../adapters/slack/harness.js';
import { APP_ID, CHANNEL, TENANT } from '../adapters/teams/teams-harness.js';
import { type BotConnectorDouble, startBotConnector } from '../doubles/bot-connector.js';
import { type BotFrameworkAuthDouble, startBotFrameworkAuth } from '../doubles/bot-framework-auth.js';
import { type HttpTargetDouble, startHttpTarget } from '../doubles/http-target.js';
import { SlackApiDouble } from '../doubles/slack-api.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const TEAMS_FIXTURES = path.join(HERE, '..', 'fixtures', 'teams');

// One distinctive value per secret-bearing key; none of them appears anywhere else in the test.
const SEEDED = {
  SLACK_BOT_TOKEN: 'xoxb-4410-seededbot-Qm7Rt2Vz9Lp4',
  SLACK_SIGNING_SECRET: 'seeded-signing-4c1f9e77a02b5d38',
  TEAMS_APP_PASSWORD: 'seeded~teams~password~8Kd2Jx',
  ALERTMANAGER_TOKEN: 'seeded-alertmanager-token-51Hq',
  ALERTMANAGER_PASSWORD: 'seeded-am-basic-pass-73Lw',
  GITHUB_TOKEN: 'ghp_seededGithubToken0123456789abcdefXY',
  FASTLY_KEY: 'seeded-fastly-key-9Zr4Ty6Ub8',
  AUDIT_KEY: 'seeded-audit-hmac-key-6e1d0c4b9a7f',
} as const;

// Token-shaped strings nobody configured: refused by shape, never stored.
const SHAPED = [
  'ghp_R4nd0mT0kenTypedByAna0123456789ab',
  'xoxp-1234567890-1234567890123-typedSlackUserToken99',
  'AKIAQ3EXAMPLEZ7VTY2K',
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ0eXBlZCJ9.c2lnbmF0dXJlLXR5cGVkLWluLWNoYXQ',
];

// Every command that takes free text, with the typed value in its free-text place.
const FREE_TEXT: readonly ((value: string) => string)[] = [
  (v) => `change request purge-cache prefix=/static summary="v ${v}"`,
  (v) => `change approve CR-1 reason="${v}"`,
  (v) => `change deny CR-1 reason="checked ${v}"`,
  (v) => `change freeze service=checkout reason="${v}"`,
  (v) => `incident declare "${v} outage" service=checkout sev=2`,
  (v) => `incident note "${v}"`,
  (v) => `incident resolve summary="${v}"`,
  (v) => `runbook show ${v}`,
  (v) => `runbook run purge-cache prefix=/${v}`,
  (v) => `nonsense ${v}`,
];

// Independent of Millwright's own patterns: what a token looks like to someone grepping for one.
const TOKEN_SHAPES = [
  /ghp_[A-Za-z0-9]{20,}/,
  /xox[abpr]-\d+-/,
  /AKIA[0-9A-Z]{16}/,
  /eyJ[A-Za-z0-9_-]{10,}\.eyJ/,
];

let dir: string;
let slack: SlackApiDouble;
let auth: BotFrameworkAuthDouble;
let connector: BotConnectorDouble;
let cdn: HttpTargetDouble;
let running: RunningServer;
const signals = new EventEmitter();
const shellReplies: Reply[] = [];
const slackAcks: string[] = [];
let shellOutput = '';

async function filesUnder(root: string): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => path.join(entry.parentPath, entry.name));
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-secrets-'));
  slack = await SlackApiDouble.start({ botToken: SEEDED.SLACK_BOT_TOKEN });
  auth = await startBotFrameworkAuth();
  connector = await startBotConnector({ acceptToken: (token) => auth.issued(token) });
  auth.registerApp({ clientId: APP_ID, secret: SEEDED.TEAMS_APP_PASSWORD });
  // A CDN whose purge answer echoes the request, secret header included.
  cdn = await startHttpTarget();
  cdn.on('POST', '/purge', (request) => ({ body: { purged: true, headers: request.headers } }));
  await mkdir(path.join(dir, 'runbooks'));
  await copyFile(
    path.join(HERE, '..', '..', 'runbooks', 'purge-cache.yml'),
    path.join(dir, 'runbooks', 'purge-cache.yml'),
  );
  const file = path.join(dir, 'millwright.yml');
  await writeFile(
    file,
    `server: { host: 127.0.0.1, port: 0 }
store: { path: ./data }
audit:
  key: \${AUDIT_KEY}
  checkpoints: { file: ./checkpoints/audit.jsonl, every: 5 }
log: { level: debug }
runbooks: { dir: ./runbooks }
slack:
  botToken: \${SLACK_BOT_TOKEN}
  signingSecret: \${SLACK_SIGNING_SECRET}
  apiUrl: ${slack.apiUrl}
  stillWorkingAfter: 0s
teams:
  appId: ${APP_ID}
  appPassword: \${TEAMS_APP_PASSWORD}
  tenantId: ${TENANT}
  openIdMetadataUrl: ${auth.openIdMetadataUrl}
  loginAuthority: ${auth.authority(TENANT)}
alertmanager:
  bearerToken: \${ALERTMANAGER_TOKEN}
  basicAuth:
    username: am
    password: \${ALERTMANAGER_PASSWORD}
github:
  baseUrl: http://127.0.0.1:9/
  token: \${GITHUB_TOKEN}
http:
  targets:
    cdn:
      baseUrl: ${cdn.url}
      headers:
        Fastly-Key: \${FASTLY_KEY}
        Accept: application/json
services:
  checkout: {}
access:
  defaultRoles: [operator]
  roles:
    operator: { allow: ['*'] }
  subjects: {}
`,
  );
  const loaded = await loadConfig(file, { env: { ...SEEDED } });
  running = await startServer(loaded, {
    logger: createLogger({ level: 'debug', file: path.join(dir, 'millwright.log') }),
    signals,
    teams: { msalNetworkClient: auth.networkClient },
  });
}, 180_000);

afterAll(async () => {
  signals.emit('SIGTERM', 'SIGTERM');
  await running?.stopped;
  await Promise.all([slack?.close(), auth?.close(), connector?.close(), cdn?.close()]);
  await rm(dir, { recursive: true, force: true });
});

async function slackCommand(text: string): Promise<void> {
  const params = new URLSearchParams({
    token: 'legacy-verification',
    team_id: 'T0001',
    team_domain: 'acme',
    channel_id: 'C0OPS0001',
    channel_name: 'ops',
    user_id: 'U0ANA0001',
    user_name: 'ana',
    command: '/sre',
    text,
    api_app_id: 'A0MILLWRIGHT',
    response_url: slack.responseUrl('commands'),
    trigger_id: slack.triggerId(),
  });
  const body = params.toString();
  const response = await fetch(`http://127.0.0.1:${running.port}/slack/events`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...slackSignature(body, Math.floor(Date.now() / 1000), SEEDED.SLACK_SIGNING_SECRET),
    },
    body,
  });
  expect(response.status).toBe(200);
  // An early answer (a refusal) comes in the acknowledgement itself; later ones through response_url.
  slackAcks.push(await response.text());
}

async function teamsMessage(text: string): Promise<void> {
  const activity = JSON.parse(
    await readFile(path.join(TEAMS_FIXTURES, 'channel-mention.activity.json'), 'utf8'),
  );
  const message = {
    ...activity,
    id: `${Date.now()}${Math.random()}`.replace('.', ''),
    text: `<at>Millwright</at> ${text}`,
    serviceUrl: connector.serviceUrl,
    conversation: { ...activity.conversation, id: CHANNEL },
  };
  const response = await fetch(`http://127.0.0.1:${running.port}/api/messages`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: auth.channelAuthorization({ appId: APP_ID, serviceUrl: connector.serviceUrl }),
    },
    body: JSON.stringify(message),
  });
  expect(response.status).toBeLessThan(300);
  await response.text();
}

async function shellLine(text: string): Promise<void> {
  const output = new PassThrough();
  output.on('data', (chunk: Buffer) => {
    shellOutput += chunk.toString('utf8');
  });
  const shell = new ShellAdapter({
    handle: (request) => running.router.handle(request),
    actor: 'ana',
    input: new PassThrough(),
    output,
    json: true,
  });
  shellReplies.push(await shell.runLine(text));
}

const typed = [...Object.values(SEEDED), ...SHAPED];

it('refuses every typed secret on every surface, and no secret is found in any output or file', async () => {
  // A purge that really runs: the CDN echoes the Fastly-Key it was sent.
  await shellLine('runbook run purge-cache prefix=/static --yes');
  expect(shellReplies[0]!.ok).toBe(true);
  expect(cdn.requests[0]!.headers['fastly-key']).toBe(SEEDED.FASTLY_KEY);

  for (const value of typed) {
    for (const line of FREE_TEXT) {
      const text = line(value);
      await shellLine(text);
      await slackCommand(text);
      await teamsMessage(text);
    }
  }
  await running.runtime.services.audit.flush();

  // The shell answered each one with the refusal, naming no secret.
  const refusals = shellReplies.slice(1);
  expect(refusals).toHaveLength(typed.length * FREE_TEXT.length);
  for (const reply of refusals) expect(reply.error?.code).toBe('millwright_secret_detected');
  // Slack and Teams delivered the same refusal for every one of their commands.
  const commands = typed.length * FREE_TEXT.length;
  await slack.waitForResponses(commands, 60_000);
  const slackAnswers =
    slackAcks.join('\n') +
    JSON.stringify(slack.calls.map((call) => ({ method: call.method, args: call.args }))) +
    JSON.stringify(slack.responsePosts.map((post) => post.body));
  const refused = (bodies: unknown[]) =>
    bodies.filter((body) => JSON.stringify(body).includes('nothing was run or stored')).length;
  expect(refused(slack.responsePosts.map((post) => post.body))).toBe(commands);
  // Teams replies through the connector after the activity is acknowledged: wait for the last one.
  for (let waited = 0; refused(connector.calls.map((call) => call.body)) < commands && waited < 600; waited++)
    await new Promise((resolve) => setTimeout(resolve, 100));
  expect(refused(connector.calls.map((call) => call.body))).toBe(commands);
  const teamsAnswers = JSON.stringify(connector.calls.map((call) => call.body));

  // Nothing typed became a change, an incident or a freeze.
  const store = running.runtime.services.store;
  for (const collection of ['changes', 'incidents', 'freezes'])
    expect(await store.list(collection)).toEqual([]);

  const metrics = await (await fetch(`http://127.0.0.1:${running.port}/metrics`)).text();
  const outputs: Record<string, string> = {
    'shell replies': shellOutput + JSON.stringify(shellReplies),
    'slack replies': slackAnswers,
    'teams replies': teamsAnswers,
    '/metrics': metrics,
  };
  for (const file of await filesUnder(dir)) {
    if (file.endsWith('millwright.yml') || file.includes(`${path.sep}runbooks${path.sep}`)) continue;
    outputs[path.relative(dir, file)] = await readFile(file, 'utf8');
  }
  // The places that must have something in them do.
  expect(Object.keys(outputs)).toEqual(
    expect.arrayContaining([
      'millwright.log',
      'data/store.json',
      'data/audit.jsonl',
      'checkpoints/audit.jsonl',
    ]),
  );
  expect(outputs['data/audit.jsonl']).toContain('"detected":"a secret from the config"');
  expect(outputs['data/audit.jsonl']).toContain('"outcome":"denied"');
  expect(outputs['millwright.log']).toContain('millwright_secret_detected');

  const leaks: string[] = [];
  for (const [where, content] of Object.entries(outputs)) {
    for (const value of typed) if (content.includes(value)) leaks.push(`${where}: ${value.slice(0, 12)}…`);
    for (const shape of TOKEN_SHAPES) if (shape.test(content)) leaks.push(`${where}: ${shape}`);
  }
  expect(leaks).toEqual([]);
}, 240_000);
