// The process's one set of secrets: what counts as a secret, how it is scrubbed from text and
// structures, and how typed text holding one is recognised without being echoed.
import { findSecret, REDACTED, SecretSet } from '../../src/core/index.js';

describe('SecretSet', () => {
  it('scrubs known values, their JSON-escaped forms and token shapes, longest value first', () => {
    const secrets = new SecretSet(['s3cr3t-signing', 's3cr3t-signing-and-more', 'quo"ted\\value']);
    expect(secrets.text('a s3cr3t-signing-and-more b s3cr3t-signing c')).toBe(
      `a ${REDACTED} b ${REDACTED} c`,
    );
    // The same value inside a JSON line, where its quote and backslash are escaped.
    expect(secrets.text(JSON.stringify({ msg: 'x quo"ted\\value y' }))).toBe(`{"msg":"x ${REDACTED} y"}`);
    expect(secrets.text('token ghp_0123456789abcdefghijABCD here')).toBe(`token ${REDACTED} here`);
    expect(secrets.includes('nothing to see')).toBe(false);
    expect(secrets.includes('it is s3cr3t-signing')).toBe(true);
  });

  it('counts a value from the environment only when it cannot be ordinary text', () => {
    const secrets = new SecretSet();
    secrets.add(['8080', 'true', 'prod', '12345678901', 'https://hooks.example/T0/B0/abc'], {
      certain: false,
    });
    secrets.add(['shrt', 'ab']);
    expect(secrets.text('port 8080 on prod, id 12345678901')).toBe('port 8080 on prod, id 12345678901');
    expect(secrets.text('posting to https://hooks.example/T0/B0/abc')).toBe(`posting to ${REDACTED}`);
    // Under a secret-named key even a short value counts; two characters never do.
    expect(secrets.text('shrt ab')).toBe(`${REDACTED} ab`);
  });

  it('censors secret-named fields in replies and logs, but keeps keys when scrubbing stored records', () => {
    const secrets = new SecretSet(['hunter2-prod-db']);
    const record = { id: 'CR-1', summary: 'rotate hunter2-prod-db', token: 'abc123', when: new Date(0) };
    expect(secrets.value(record)).toEqual({
      id: 'CR-1',
      summary: `rotate ${REDACTED}`,
      token: REDACTED,
      when: new Date(0),
    });
    expect(secrets.strings(record)).toEqual({ ...record, summary: `rotate ${REDACTED}` });
  });
});

describe('findSecret', () => {
  const known = new SecretSet(['sig-SECRET-4f9a2c']);
  const cases: [string, string, RegExp][] = [
    ['a value from the config', 'change request summary="v sig-SECRET-4f9a2c"', /from the config/],
    ['a GitHub token', 'runbook show 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', /GitHub token/],
    [
      'a Slack bot token',
      'incident note xoxb-1234567890-1234567890123-abcdefghijABCDEFGHIJklmn',
      /Slack token/,
    ],
    ['an AWS access key id', 'summary="key AKIAZ7VQ3MXP2LN5RT6Y leaked"', /AWS access key/],
    [
      'a JWT',
      'reason=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
      /JWT/,
    ],
    ['a private key', 'note -----BEGIN OPENSSH PRIVATE KEY----- b3BlbnNzaC1rZXktdjEAAAAA', /private key/],
    [
      'an Azure client secret',
      'summary="use abc8Q~Xy3zF0pQ9rT2uV5wA7bC1dE4gH6jK8mN0p"',
      /Azure client secret/,
    ],
    ['a database URL with a password', 'note postgres://app:Zk8s0fPq2Lw@db.internal:5432/shop', /secretlint/],
    ['a password assignment', 'summary="db password=Zx9!qL2#vR7p"', /secret-named key/],
  ];
  it.each(cases)('refuses %s, without saying what it is', async (_, text, kind) => {
    const finding = await findSecret(text, known);
    expect(finding?.kind).toMatch(kind);
    expect(JSON.stringify(finding)).not.toContain('4f9a2c');
  });

  it.each([
    'deploys checkout',
    'change request restart-deployment deployment=checkout summary="bump replicas to 5 before the sale"',
    'runbook run rollback-deployment deployment=checkout-api-gateway revision=9f3c2a1b4e5d6f708192a3b4c5d6e7f809112233',
    'release start checkout image=registry.example.com/shop/checkout:v2.31.0-rc.1',
    'incident note "see https://grafana.example.com/d/abc123/checkout?orgId=1&from=now-1h"',
    'change request rotate-token token-name=checkout-api summary="rotate the checkout token"',
    'audit n=10 actor=a1b2c3d4-e5f6-4711-8899-aabbccddeeff',
  ])('lets ordinary text through: %s', async (text) => {
    await expect(findSecret(text, known)).resolves.toBeUndefined();
  });
});
