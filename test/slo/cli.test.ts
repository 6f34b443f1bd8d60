// The operator's `millwright slo import` and `millwright slo lint`, through the real entry point.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/main.js';
import { parseSloFile } from '../../src/slo/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

async function millwright(
  args: string[],
  cwd = ROOT,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk) => (out += chunk));
  stderr.on('data', (chunk) => (err += chunk));
  const code = await main(args, { stdin: new PassThrough(), stdout, stderr, env: {}, cwd });
  return { code, stdout: out, stderr: err };
}

describe('millwright slo lint', () => {
  it('passes the shipped examples, as CI runs it', async () => {
    const result = await millwright(['slo', 'lint', 'slos/']);
    expect(result).toEqual({
      code: 0,
      stdout: 'slos/: ok, 3 SLOs (checkout/availability, checkout/latency, search/availability)\n',
      stderr: '',
    });
  });

  it('lists every problem with its place and fails', async () => {
    const result = await millwright(['slo', 'lint', 'test/fixtures/slo/unsupported']);
    expect(result.code).toBe(1);
    expect(result.stderr.split('\n').filter(Boolean)).toEqual([
      expect.stringMatching(
        /^test\/fixtures\/slo\/unsupported\/openslo-datadog\.yml:20:13 .*Datadog is not supported/,
      ),
      expect.stringMatching(
        /^test\/fixtures\/slo\/unsupported\/openslo-timeslices\.yml:26:20 .*Timeslices is not supported/,
      ),
      expect.stringMatching(/^test\/fixtures\/slo\/unsupported\/sloth-raw\.yml:8:9 .*raw SLIs/),
      'test/fixtures/slo/unsupported: 3 problems',
    ]);
  });

  it('without a folder, checks the config: its slos: and its slo.dir', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'millwright-slo-cli-'));
    try {
      await writeFile(
        path.join(dir, 'millwright.yml'),
        `slo:\n  dir: ${path.join(ROOT, 'slos')}\nslos:\n  - service: ledger\n    name: availability\n    objective: 99.9\n    sli:\n      events:\n        errorQuery: sum(rate(e[{{window}}]))\n        totalQuery: sum(rate(t[{{window}}]))\n`,
      );
      const result = await millwright(['slo', 'lint'], dir);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(
        /ok, 4 SLOs \(ledger\/availability, checkout\/availability, checkout\/latency, search\/availability\)/,
      );
      const missing = await millwright(['slo', 'lint', 'no-such-dir'], dir);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/^no-such-dir: no such directory$/m);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('millwright slo import', () => {
  it.each(['sloth-checkout.yml', 'openslo-checkout.yml'])(
    'prints %s as native SLOs that read back the same',
    async (file) => {
      const result = await millwright(['slo', 'import', `test/fixtures/slo/${file}`]);
      expect(result.code).toBe(0);
      expect(result.stderr).toMatch(
        new RegExp(
          `^test/fixtures/slo/${file.replace('.', '\\.')}: read 1 SLO \\((Sloth prometheus/v1|OpenSLO v1)\\): checkout/availability 99\\.9% over 30d\\n$`,
        ),
      );
      const native = parseSloFile(result.stdout, 'printed.yml');
      expect(native.problems).toEqual([]);
      expect(native.formats).toEqual(['native']);
      const original = parseSloFile(
        await import('node:fs/promises').then((fs) =>
          fs.readFile(path.join(ROOT, 'test/fixtures/slo', file), 'utf8'),
        ),
        file,
      );
      const pick = ({
        id,
        objective,
        errorBudget,
        window,
        errorQuery,
        totalQuery,
        labels,
        alerting,
      }: (typeof native.slos)[number]) => ({
        id,
        objective,
        errorBudget,
        window,
        errorQuery,
        totalQuery,
        labels,
        alerting,
      });
      expect(pick(native.slos[0]!)).toEqual(pick(original.slos[0]!));
    },
  );

  it('says what it does not support and exits 1', async () => {
    const result = await millwright(['slo', 'import', 'test/fixtures/slo/unsupported/sloth-raw.yml']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(
      /sloth-raw\.yml:8:9 slos\[0\]\.sli\.raw: Sloth raw SLIs \(error_ratio_query\) are not supported/,
    );
  });

  it('explains usage mistakes in one line', async () => {
    expect((await millwright(['slo', 'import'])).stderr.split('\n')[0]).toBe(
      'millwright: slo import needs a FILE',
    );
    expect((await millwright(['slo', 'lnt'])).stderr.split('\n')[0]).toBe('millwright: unknown: slo lnt');
    const flag = await millwright(['slo', 'lint', '--fast']);
    expect(flag.code).toBe(2);
    expect(flag.stderr.split('\n')[0]).toMatch(/^millwright: Unknown option '--fast'/);
  });
});
