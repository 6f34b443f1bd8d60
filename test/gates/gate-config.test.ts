// `gates:` in millwright.yml: config check refuses what the gate could not serve (a short token, a
// service the catalog lacks, two pipelines with one token) in one line each, never printing a token.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: config text under test holds literal ${VAR} references
import { checkConfig } from '../../src/app.js';
import { type TempConfigDir, tempConfigDir } from '../config/temp-config.js';

const TOKEN = 'gate-token-3f9a0c7e2d5b';
let temp: TempConfigDir;
beforeEach(async () => {
  temp = await tempConfigDir();
});
afterEach(async () => {
  await temp.remove();
});

const check = async (gates: string, env: NodeJS.ProcessEnv = { GATE_TOKEN: TOKEN }) => {
  await temp.write(`services:\n  checkout: {}\n  cart: {}\ngates:\n  pipelines:\n${gates}`);
  return checkConfig('millwright.yml', env, { cwd: temp.dir });
};

test('a pipeline with a token from the environment and catalog services is ok', async () => {
  const result = await check('    ci: { token: "${GATE_TOKEN}", services: [checkout] }\n');
  expect(result.ok).toBe(true);
});

test('a short token, a service the catalog lacks and a shared token are refused in one line each', async () => {
  const short = await check('    ci: { token: "${GATE_TOKEN}", services: "*" }\n', { GATE_TOKEN: 'short' });
  expect(short).toEqual({
    ok: false,
    lines: [
      'millwright.yml:6:18 gates.pipelines.ci.token: must be at least 16 characters (openssl rand -hex 32)',
    ],
  });

  const unknown = await check('    ci: { token: "${GATE_TOKEN}", services: [checkout, payments] }\n');
  expect(unknown.ok).toBe(false);
  expect(unknown.lines.join('\n')).toContain(
    'gates.pipelines.ci.services: payments is not in the service catalog (known services: checkout, cart)',
  );

  const shared = await check(
    '    ci: { token: "${GATE_TOKEN}", services: "*" }\n    cd: { token: "${GATE_TOKEN}", services: [cart] }\n',
  );
  expect(shared.ok).toBe(false);
  expect(shared.lines.join('\n')).toContain('gates.pipelines.ci and gates.pipelines.cd have the same token');
  for (const result of [short, unknown, shared]) expect(result.lines.join('\n')).not.toContain(TOKEN);
});
