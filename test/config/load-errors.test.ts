// Every config problem is reported as `file:line:column path: message`, all of them at once.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: config text under test holds literal ${VAR} references
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/app.js';
import { ConfigError } from '../../src/config/index.js';
import { ErrorCode } from '../../src/core/errors.js';
import { type TempConfigDir, tempConfigDir } from './temp-config.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/config/${name}`, import.meta.url));

let temp: TempConfigDir;
beforeEach(async () => {
  temp = await tempConfigDir();
});
afterEach(async () => {
  await temp.remove();
});

describe('a config with mistakes', () => {
  test('a YAML syntax error names the offending line, column and key', async () => {
    const lines = await temp.problems('server:\n  port: 3000\n host: localhost\n');
    expect(lines).toEqual(['millwright.yml:3:2 host: all mapping items must start at the same column']);
  });

  test('an unterminated quote at the end of the file is still placed under its key', async () => {
    const lines = await temp.problems('log:\n  level: "info\n');
    expect(lines).toEqual(['millwright.yml:3:1 log.level: missing closing "quote']);
  });

  test('an unquoted ${VAR} inside [ ] gets a hint to quote it', async () => {
    const [line] = await temp.problems('kubernetes:\n  allowedNamespaces: [${NS}]\n', { NS: 'shop' });
    expect(line).toMatch(
      /^millwright\.yml:2:\d+ kubernetes\.allowedNamespaces.*quote references: "\$\{VAR\}"/,
    );
  });

  // Found by test/config/load.property.test.ts: a list, mapping, alias or binary used as a key was turned into
  // text by the yaml package (with only a process warning), e.g. loaded as a role named ["sre","ops"].
  test('a list, mapping, alias or binary data written as a key is refused at the key', async () => {
    const lines = await temp.problems(
      'access:\n  defaultRoles: []\n  roles:\n    [sre, ops]: { allow: [help] }\n',
    );
    expect(lines).toEqual([
      'millwright.yml:4:5 access.roles["[\\"sre\\",\\"ops\\"]"]: a key must be plain text, not a list, a mapping, an alias or binary data',
    ]);
    // The property's minimal counterexample: `? :` is a mapping used as a key.
    expect(await temp.problems('? :')).toEqual([
      'millwright.yml:1:3 ["{\\"\\":null}"]: a key must be plain text, not a list, a mapping, an alias or binary data',
    ]);
    // From `npm run fuzz`: a !!binary key became a Uint8Array, then text.
    expect(await temp.problems('!!binary :')).toEqual([
      'millwright.yml:1:10 [""]: a key must be plain text, not a list, a mapping, an alias or binary data',
    ]);
    const aliased = await temp.problems('server: &port\n  port: 3000\nlog:\n  *port : info\n');
    expect(aliased).toEqual([
      'millwright.yml:4:3 log["*port"]: a key must be plain text, not a list, a mapping, an alias or binary data',
    ]);
  });

  test('a duplicate key points at the second occurrence', async () => {
    const lines = await temp.problems('server:\n  port: 3000\n  port: 3001\n');
    expect(lines).toEqual([
      'millwright.yml:3:3 server.port: duplicate key; each key may appear only once in a mapping',
    ]);
  });

  test('a wrong type says what was expected and what was found', async () => {
    const lines = await temp.problems('slack:\n  botToken: 12345\n  signingSecret: abc\n');
    expect(lines).toEqual([
      'millwright.yml:2:13 slack.botToken: expected text, got a number (put it in quotes)',
    ]);
  });

  test('an out-of-range number gives the range', async () => {
    const lines = await temp.problems('server:\n  port: 70000\n');
    expect(lines).toEqual(['millwright.yml:2:9 server.port: expected a whole number between 0 and 65535']);
  });

  test('an unknown key points at the key and suggests the near one', async () => {
    const lines = await temp.problems('server:\n  prot: 3000\nlog:\n  level: info\n  colour: true\n');
    expect(lines).toEqual([
      expect.stringMatching(
        /^millwright\.yml:2:3 server\.prot: unknown key; did you mean "port"\? \(valid here: port, host, headersTimeout, .*shutdownDeadline\)$/,
      ),
      'millwright.yml:5:3 log.colour: unknown key; expected one of: level',
    ]);
  });

  test('a misspelt top-level section is caught too', async () => {
    const lines = await temp.problems('prometeus:\n  url: http://localhost:9090\n');
    expect(lines).toEqual([
      expect.stringMatching(
        /^millwright\.yml:1:1 prometeus: unknown key; did you mean "prometheus"\? \(valid here: server, store, audit, .*, … \(\d+ in all\)\)$/,
      ),
    ]);
  });

  test('a role that is not defined is reported where it is used', async () => {
    const lines = await temp.problems(
      'access:\n  roles:\n    oncall: { allow: ["*"] }\n  defaultRoles: [oncall]\n  subjects:\n    alice: [oncal, ghost]\n',
    );
    expect(lines).toEqual([
      'millwright.yml:6:13 access.subjects.alice[0]: role "oncal" is not defined in access.roles; did you mean "oncall"?',
      'millwright.yml:6:20 access.subjects.alice[1]: role "ghost" is not defined in access.roles (defined: oncall)',
    ]);
  });

  test('an OS user maps to one subject by its login name, not to a group', async () => {
    const lines = await temp.problems(
      'access:\n  osUsers:\n    alice: ana\n    "os:bob": bo\n    carol: "group:sre"\n',
    );
    expect(lines).toEqual([
      'millwright.yml:4:15 access.osUsers["os:bob"]: "os:bob" is not an OS user name; write the login as the OS knows it, like alice: ana',
      'millwright.yml:5:12 access.osUsers.carol: an OS user maps to one subject, not a group (group:sre); write a subject like ana and give it roles in access.subjects',
    ]);
  });

  test('custom roles without defaultRoles say that viewer is the default', async () => {
    const lines = await temp.problems('access:\n  roles:\n    oncall: { allow: ["*"] }\n');
    expect(lines).toEqual([
      'millwright.yml:1:1 access.defaultRoles[0]: role "viewer" is not defined in access.roles (defined: oncall); define it or set access.defaultRoles',
    ]);
  });

  test('a missing environment variable names the variable and the path', async () => {
    const lines = await temp.problems(
      'slack:\n  signingSecret: ${SLACK_SIGNING_SECRET}\n  botToken: ${SLACK_BOT_TOKEN}\n',
      { SLACK_SIGNING_SECRET: 'sign' },
    );
    expect(lines).toEqual([
      'millwright.yml:3:13 slack.botToken: environment variable SLACK_BOT_TOKEN is not set',
    ]);
  });

  test('a missing required key points at its section', async () => {
    const lines = await temp.problems('log:\n  level: info\nteams:\n  allowUnauthenticated: true\n');
    expect(lines).toEqual(['millwright.yml:3:1 teams.appId: required']);
  });

  test('an alias without an anchor is reported at the alias', async () => {
    const lines = await temp.problems('store:\n  path: *dir\n');
    expect(lines).toEqual(['millwright.yml:2:9 store.path: alias *dir has no anchor &dir before it']);
  });

  test('every schema problem in the file is reported, in file order', async () => {
    const error = await loadConfig(fixture('typos.yml'), { env: {}, cwd: process.cwd() }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    const configError = error as ConfigError;
    expect(configError.code).toBe(ErrorCode.ConfigInvalid);
    expect(configError.problems.map((p) => [p.line, p.column, p.path])).toEqual([
      [2, 1, 'sever'],
      [5, 3, 'log.levl'],
      [7, 9, 'store.path'],
      [13, 13, 'access.subjects.alice[0]'],
    ]);
    expect(configError.problems[0]?.file).toBe('test/fixtures/config/typos.yml');
    expect(configError.message.split('\n')).toHaveLength(4);
    expect(configError.message).toContain(
      'test/fixtures/config/typos.yml:2:1 sever: unknown key; did you mean "server"? (valid here: server,',
    );
  });

  test('a second YAML document is explained at its --- with no misleading path', async () => {
    const lines = await temp.problems('server:\n  port: 3000\n---\nstore:\n  path: ./data\n');
    expect(lines).toEqual([
      'millwright.yml:3:1 (top level): a second YAML document starts here (---): millwright.yml is one document; merge both into one mapping, or remove the ---',
    ]);
  });

  test('an invalid key and a value no form accepts say what is valid', async () => {
    const lines = await temp.problems(
      'services:\n  Checkout_API: {}\nhttp:\n  targets:\n    CDN: { baseUrl: "http://cdn" }\n',
    );
    expect(lines).toEqual([
      'millwright.yml:2:3 services.Checkout_API: invalid key: expected a service name like checkout (lowercase letters, digits, -)',
      'millwright.yml:5:5 http.targets.CDN: invalid key: target names are lowercase letters, digits and -',
    ]);
  });

  test('a missing file says how to get one', async () => {
    const error = await loadConfig('./x.yml', { env: {}, cwd: temp.dir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe(
      'config file ./x.yml not found; create one from millwright.yml in the repo or pass --config PATH',
    );
  });
});

describe('secrets in error messages', () => {
  const secret = 'xoxb-0000-super-secret-value';

  test('a rejected interpolated value is described, never echoed', async () => {
    const lines = await temp.problems(
      'slack:\n  botToken: ok\n  signingSecret: ok\n  apiUrl: ${SLACK_BOT_TOKEN}\nserver:\n  port: ${SLACK_BOT_TOKEN}\n',
      { SLACK_BOT_TOKEN: secret },
    );
    expect(lines).toEqual([
      'millwright.yml:4:11 slack.apiUrl: expected an http(s) URL like https://host/path',
      'millwright.yml:6:9 server.port: expected a whole number between 0 and 65535',
    ]);
  });

  test('a role name that came from the environment is not repeated back', async () => {
    const lines = await temp.problems('access:\n  subjects:\n    alice:\n      - ${ROLE}\n', {
      ROLE: secret,
    });
    expect(lines).toEqual([
      'millwright.yml:4:9 access.subjects.alice[0]: role (a value from the environment) is not defined in access.roles (defined: viewer)',
    ]);
  });

  test('the raw file text never shows up in messages, even when YAML fails later in the file', async () => {
    const path = await temp.write(`slack:\n  botToken: \${TOKEN}\n  signingSecret: x\n  command: [\n`);
    const text = await readFile(path, 'utf8');
    const error = await loadConfig(path, { env: { TOKEN: secret }, cwd: temp.dir }).catch((e: unknown) => e);
    expect(text).toContain('${TOKEN}');
    expect((error as ConfigError).message).not.toContain(secret);
  });
});
