// Fault injection on the chat surfaces' own upstreams: the Slack Web API, Slack's response_url and
// the Bot Connector answer 5xx, 429 with Retry-After, resets and hangs. Notices and answers fail
// with one line naming the upstream, retries stay bounded, circuits open and close, nothing is
// audited twice.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createLogger, type MillwrightError, reply, text } from '../../src/core/index.js';
import {
  type SlackHarness,
  STATUS_COMMAND,
  startSlackHarness,
  visibleText,
} from '../adapters/slack/harness.js';
import { ANA, APP_ID, startTeamsBot, TENANT, type TeamsBot } from '../adapters/teams/teams-harness.js';
import {
  ATTEMPTS,
  circuitGauge,
  FAILURES_TO_OPEN,
  type FaultPolicy,
  faultPolicy,
  upstreamMetric,
} from '../helpers/upstream-faults.js';

/**
 * Each call to an upstream has this long before it is cut (slack.timeout, teams.timeout): short,
 * yet long enough that a busy machine does not cut a healthy answer.
 */
const TIMEOUT = '1s';
/** How long a person may wait for any answer in these tests: a generous bound, not a measurement. */
const ANSWER_WITHIN_MS = 8_000;

/** A notice that failed: its error is one line with a stable code and a hint. */
async function failedNotice(posting: Promise<unknown>): Promise<MillwrightError> {
  const error = (await posting.then(
    () => {
      throw new Error('the notice was delivered although its upstream failed');
    },
    (failure: unknown) => failure,
  )) as MillwrightError;
  expect(error.code).toMatch(/^millwright_[a-z_]+$/);
  expect(error.message).not.toContain('\n');
  expect(error.hint).toBeTruthy();
  return error;
}

/** Resolves once `condition` holds, checking every 20 ms; fails the test after ANSWER_WITHIN_MS. */
async function until(condition: () => boolean): Promise<void> {
  const giveUpAt = Date.now() + ANSWER_WITHIN_MS;
  while (!condition()) {
    if (Date.now() > giveUpAt) throw new Error('the expected request never arrived');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Every command record of the trail, by ref: each appears exactly once. */
async function expectEachCommandAuditedOnce(
  audit: { recent(query: { limit: number }): Promise<Array<{ action: string; ref?: string }>> },
  commands: number,
): Promise<void> {
  const records = (await audit.recent({ limit: 500 })).filter((record) =>
    record.action.startsWith('command.'),
  );
  const refs = records.map((record) => record.ref);
  expect(refs).toHaveLength(commands);
  expect(new Set(refs).size).toBe(commands);
}

describe('the Slack Web API', () => {
  let h: SlackHarness;
  let policy: FaultPolicy;
  const digest = reply(text('Daily digest: all green'));
  const posts = () => h.slack.callsTo('chat.postMessage').length;
  const post = () => h.adapter.post('C0OPS', digest);

  beforeEach(async () => {
    policy = faultPolicy();
    h = await startSlackHarness({
      adapter: { upstreams: policy.upstreams },
      slackConfig: `timeout: ${TIMEOUT}`,
    });
    // Only what the test itself makes counts (not start-up's auth.test).
    policy.waits.length = 0;
  });
  afterEach(async () => {
    await h.close();
  });

  it('a 5xx on a post is one clear error and the post is sent once; on an edit it is retried, bounded', async () => {
    h.slack.failNext('chat.postMessage', { error: 'internal_error', status: 503 }, 10);
    const error = await failedNotice(post());
    expect(error.code).toBe('millwright_slack_unreachable');
    expect(error.message).toMatch(/Slack/);
    // Slack may have posted it before failing: a retried post could show twice.
    expect(posts()).toBe(1);

    h.slack.clearFailures();
    const handle = await post();
    const retries = async () =>
      Number(
        (await upstreamMetric(policy.upstreams, 'millwright_upstream_retries_total', {
          upstream: 'slack',
        })) ?? 0,
      );
    const retriesBefore = await retries();
    h.slack.failNext('chat.update', { error: 'internal_error', status: 503 }, 10);
    await failedNotice(handle.update(reply(text('Daily digest: checkout degraded'))));
    expect(h.slack.callsTo('chat.update')).toHaveLength(ATTEMPTS);
    expect(policy.waits).toHaveLength(ATTEMPTS - 1);
    expect((await retries()) - retriesBefore).toBe(ATTEMPTS - 1);
  });

  it('a 429 is waited out for its Retry-After, even for a post (Slack did not take it), then delivered', async () => {
    h.slack.rateLimitNext('chat.postMessage', 2);
    await post();
    expect(h.slack.callsTo('chat.postMessage').map((call) => call.status)).toEqual([429, 200]);
    expect(policy.waits).toEqual([2_000]);
    expect(visibleText(h.slack.messages[0]?.blocks)).toBe('Daily digest: all green');
  });

  it('a Retry-After longer than the policy waits fails at once, rate limited', async () => {
    h.slack.rateLimitNext('chat.postMessage', 120);
    const error = await failedNotice(post());
    expect(error.code).toBe('millwright_slack_rate_limited');
    expect(posts()).toBe(1);
    expect(policy.waits).toEqual([]);
  });

  it('a reset connection fails the post once, and is retried for an edit, bounded', async () => {
    h.slack.failNext('chat.postMessage', { fault: 'reset' });
    const error = await failedNotice(post());
    expect(error.code).toBe('millwright_slack_unreachable');
    expect(posts()).toBe(1);

    const handle = await post();
    h.slack.failNext('chat.update', { fault: 'reset' }, 10);
    await failedNotice(handle.update(reply(text('Daily digest: checkout degraded'))));
    expect(h.slack.callsTo('chat.update')).toHaveLength(ATTEMPTS);
  });

  it(
    'a hang is cut at slack.timeout with one clear error, well within the deadline',
    async () => {
      h.slack.failNext('chat.postMessage', { fault: 'hang' });
      const error = await failedNotice(post());
      expect(error.code).toBe('millwright_slack_unreachable');
      expect(posts()).toBe(1);
    },
    ANSWER_WITHIN_MS,
  );

  it('opens its circuit after repeated outages, fails fast, and closes after a good probe', async () => {
    h.slack.failNext('chat.postMessage', { error: 'internal_error', status: 503 }, FAILURES_TO_OPEN);
    for (let notice = 0; notice < FAILURES_TO_OPEN; notice++) await failedNotice(post());
    expect(posts()).toBe(FAILURES_TO_OPEN);
    expect(await circuitGauge(policy.upstreams, 'slack', h.slack.apiUrl)).toBe('2');
    expect(
      await upstreamMetric(policy.upstreams, 'millwright_upstream_circuit_opened_total', {
        upstream: 'slack',
      }),
    ).toBe('1');

    const open = await failedNotice(post());
    expect(open.message).toMatch(
      /^the Slack API at http:\/\/127\.0\.0\.1:\d+\/api\/ is unavailable: circuit open since 12:03:00 UTC, next try 12:04:00 UTC$/,
    );
    expect(posts()).toBe(FAILURES_TO_OPEN);

    policy.circuitClock.set('2026-12-04T12:04:00.000Z');
    await post();
    expect(posts()).toBe(FAILURES_TO_OPEN + 1);
    expect(await circuitGauge(policy.upstreams, 'slack', h.slack.apiUrl)).toBe('0');
  });
});

describe("Slack's response_url", () => {
  let h: SlackHarness;
  let policy: FaultPolicy;
  let logs: string[];

  beforeEach(async () => {
    policy = faultPolicy();
    logs = [];
    h = await startSlackHarness({
      adapter: { upstreams: policy.upstreams },
      slackConfig: `timeout: ${TIMEOUT}`,
      logger: createLogger({ level: 'info', destination: { write: (line: string) => logs.push(line) } }),
    });
    h.register(STATUS_COMMAND);
    policy.waits.length = 0;
  });
  afterEach(async () => {
    await h.close();
  });

  const origin = () => h.slack.origin;
  const postsTo = (url: string) => h.slack.responsePosts.filter((posted) => posted.url === url);
  /** A slash command whose private answer goes to its response_url, or else chat.postEphemeral. */
  async function slash(): Promise<{ responseUrl: string; answer: () => Promise<string> }> {
    const { response, responseUrl } = await h.sendSlash('status');
    expect(response.status).toBe(200);
    return {
      responseUrl,
      answer: async () => {
        const call = await h.slack.waitForCall(
          'chat.postEphemeral',
          (ephemeral) => visibleText(ephemeral.args.blocks).includes('all services healthy'),
          ANSWER_WITHIN_MS,
        );
        return visibleText(call.args.blocks);
      },
    };
  }
  /** Resolves once `count` private answers went by chat.postEphemeral. */
  const ephemerals = (count: number) =>
    h.slack.waitForCall(
      'chat.postEphemeral',
      () => h.slack.callsTo('chat.postEphemeral').length >= count,
      ANSWER_WITHIN_MS,
    );
  /** What the adapter logged about response_url failures: the error line a person would read. */
  const refusals = () =>
    logs
      .map((line) => JSON.parse(line) as { msg?: string; err?: { message?: string } })
      .filter((line) => line.msg?.startsWith('response_url refused the reply'))
      .map((line) => line.err?.message ?? '');

  it('a 5xx is one clear error, the answer is sent once there and then goes by chat.postEphemeral', async () => {
    h.slack.failResponseUrls({ status: 503 }, 10);
    const { responseUrl, answer } = await slash();
    expect(await answer()).toContain('all services healthy');
    expect(postsTo(responseUrl).map((posted) => posted.status)).toEqual([503]);
    expect(refusals()).toEqual([
      expect.stringMatching(
        new RegExp(`^Millwright could not reply through Slack's response_url at ${origin()}: HTTP 503\\b`),
      ),
    ]);
    await expectEachCommandAuditedOnce(h.runtime.services.audit, 1);
  });

  it('a 429 is waited out for its Retry-After, then the answer arrives there', async () => {
    h.slack.failResponseUrls({ status: 429, retryAfter: 1 });
    const { responseUrl } = await slash();
    const answered = await h.slack.waitForResponse((posted) => posted.url === responseUrl, ANSWER_WITHIN_MS);
    expect(visibleText(answered.body.blocks)).toContain('all services healthy');
    expect(postsTo(responseUrl).map((posted) => posted.status)).toEqual([429, 200]);
    expect(policy.waits).toEqual([1_000]);
    await expectEachCommandAuditedOnce(h.runtime.services.audit, 1);
  });

  it('a reset and a hang are each one try and one clear error; the answer still arrives', async () => {
    h.slack.failResponseUrls('reset');
    const reset = await slash();
    expect(await reset.answer()).toContain('all services healthy');
    expect(postsTo(reset.responseUrl)).toHaveLength(1);

    h.slack.failResponseUrls('hang');
    const hang = await slash();
    await ephemerals(2);
    expect(postsTo(hang.responseUrl)).toHaveLength(1);
    expect(refusals()).toEqual([
      expect.stringMatching(
        /^Millwright could not reply through Slack's response_url at .*: connection failed/,
      ),
      expect.stringMatching(
        new RegExp(
          `^Millwright could not reply through Slack's response_url at ${origin()}: no answer within 1s\\b`,
        ),
      ),
    ]);
    await expectEachCommandAuditedOnce(h.runtime.services.audit, 2);
  });

  it('opens its circuit after repeated outages, fails fast, and closes after a good probe', async () => {
    h.slack.failResponseUrls({ status: 502 }, FAILURES_TO_OPEN);
    for (let run = 1; run <= FAILURES_TO_OPEN; run++) {
      await slash();
      await ephemerals(run);
    }
    expect(await circuitGauge(policy.upstreams, 'slack', origin())).toBe('2');

    const open = await slash();
    await ephemerals(FAILURES_TO_OPEN + 1);
    expect(postsTo(open.responseUrl)).toHaveLength(0);
    expect(refusals().at(-1)).toBe(
      `Slack's response_url at ${origin()} is unavailable: circuit open since 12:03:00 UTC, next try 12:04:00 UTC`,
    );

    policy.circuitClock.set('2026-12-04T12:04:00.000Z');
    const probe = await slash();
    await h.slack.waitForResponse((posted) => posted.url === probe.responseUrl, ANSWER_WITHIN_MS);
    // The double saw the probe before Millwright read its answer.
    await until(() =>
      policy.upstreams.circuits().some((row) => row.target === origin() && row.state === 'closed'),
    );
    expect(await circuitGauge(policy.upstreams, 'slack', origin())).toBe('0');
    await expectEachCommandAuditedOnce(h.runtime.services.audit, FAILURES_TO_OPEN + 2);
  });
});

/** A Teams bot on `policy`, each upstream call cut at TIMEOUT, logging warnings to `logs` when given. */
function faultyTeamsBot(policy: FaultPolicy, logs?: string[]): Promise<TeamsBot> {
  return startTeamsBot({
    upstreams: policy.upstreams,
    ...(logs
      ? { logger: createLogger({ level: 'warn', destination: { write: (line: string) => logs.push(line) } }) }
      : {}),
    teams: (auth) => `teams:
  appId: ${APP_ID}
  appPassword: \${TEAMS_APP_PASSWORD}
  tenantId: ${TENANT}
  openIdMetadataUrl: ${auth.openIdMetadataUrl}
  loginAuthority: ${auth.authority(TENANT)}
  timeout: ${TIMEOUT}
`,
  });
}

describe('the Bot Connector', () => {
  let bot: TeamsBot;
  let policy: FaultPolicy;
  const notice = reply(text('Daily digest: all green'));
  const post = () => bot.running.adapters.teams!.post(`user:${ANA.aad}`, notice);
  /** Requests the connector received that it answered with a fault, by method. */
  const faulted = (method: 'POST' | 'PUT') =>
    bot.connector.requests.filter((request) => request.method === method && request.fault !== undefined)
      .length;
  const sent = (method: 'POST' | 'PUT') =>
    bot.connector.requests.filter((request) => request.method === method).length;
  let before: { posts: number; puts: number; retries: number };

  beforeAll(async () => {
    policy = faultPolicy();
    bot = await faultyTeamsBot(policy);
    // Ana writes to the bot once, so notices can reach her personal chat.
    await bot.send(await bot.activity('personal-message'));
    await bot.connector.waitFor('the whoami reply', (call) => call.method === 'POST');
  });
  afterAll(async () => {
    await bot.close();
  });
  beforeEach(async () => {
    bot.connector.clearFaults();
    policy.waits.length = 0;
    // A delivered notice closes the circuit's count of failures in a row left by the test before.
    await post();
    before = { posts: sent('POST'), puts: sent('PUT'), retries: await retries() };
  });

  const serviceUrl = () => bot.connector.serviceUrl;
  const retries = async () =>
    Number(
      (await upstreamMetric(policy.upstreams, 'millwright_upstream_retries_total', {
        upstream: 'bot_connector',
      })) ?? 0,
    );

  it('a 5xx on a post is one clear error and the post is sent once; a card update is retried, bounded', async () => {
    bot.connector.fail({ status: 503 }, { times: 10, method: 'POST' });
    const error = await failedNotice(post());
    expect(error.message).toBe(
      `the Bot Connector at ${serviceUrl()} did not accept the message (HTTP 503 ServiceError)`,
    );
    expect(sent('POST') - before.posts).toBe(1);

    bot.connector.clearFaults();
    const handle = await post();
    bot.connector.fail({ status: 503 }, { times: 10, method: 'PUT' });
    const update = await failedNotice(handle.update(reply(text('Daily digest: checkout degraded'))));
    expect(update.message).toMatch(/did not accept the card update \(HTTP 503 ServiceError\)$/);
    expect(sent('PUT') - before.puts).toBe(ATTEMPTS);
    expect((await retries()) - before.retries).toBe(ATTEMPTS - 1);
  });

  it('a 429 is waited out for its Retry-After, even for a post (the connector did not take it)', async () => {
    bot.connector.fail({ status: 429, retryAfterSeconds: 2 }, { method: 'POST' });
    await post();
    expect(sent('POST') - before.posts).toBe(2);
    expect(faulted('POST')).toBeGreaterThanOrEqual(1);
    expect(policy.waits).toEqual([2_000]);
  });

  it('a reset fails a post once and is retried for a card update, bounded', async () => {
    bot.connector.fail('reset', { method: 'POST' });
    const error = await failedNotice(post());
    expect(error.message).toMatch(/^the Bot Connector at .* did not accept the message \(connection failed/);
    expect(sent('POST') - before.posts).toBe(1);

    const handle = await post();
    bot.connector.fail('reset', { times: 10, method: 'PUT' });
    await failedNotice(handle.update(reply(text('Daily digest: checkout degraded'))));
    expect(sent('PUT') - before.puts).toBe(ATTEMPTS);
  });

  it(
    'a hang is cut at teams.timeout with one clear error, well within the deadline',
    async () => {
      bot.connector.fail('hang', { method: 'POST' });
      const error = await failedNotice(post());
      expect(error.message).toBe(
        `the Bot Connector at ${serviceUrl()} did not accept the message (no answer within 1s)`,
      );
      expect(sent('POST') - before.posts).toBe(1);
    },
    ANSWER_WITHIN_MS,
  );

  it('a command whose answer cannot be delivered is audited once', async () => {
    const audit = bot.running.runtime.services.audit;
    const commands = async () =>
      (await audit.recent({ limit: 500 })).filter((record) => record.action.startsWith('command.')).length;
    const earlier = await commands();
    const refusedBefore = faulted('POST');
    bot.connector.fail({ status: 503 }, { times: 10, method: 'POST' });
    await bot.send(await bot.activity('personal-message'));
    // The answer is posted after the command's record is on disk; the connector refused it.
    await until(() => faulted('POST') > refusedBefore);
    expect((await commands()) - earlier).toBe(1);
    await expectEachCommandAuditedOnce(audit, earlier + 1);
  });

  it('opens its circuit after repeated outages, fails fast, and closes after a good probe', async () => {
    bot.connector.fail({ status: 502 }, { times: FAILURES_TO_OPEN, method: 'POST' });
    for (let notice = 0; notice < FAILURES_TO_OPEN; notice++) await failedNotice(post());
    expect(await circuitGauge(policy.upstreams, 'bot_connector', serviceUrl())).toBe('2');

    const open = await failedNotice(post());
    expect(open.message).toBe(
      `the Bot Connector at ${serviceUrl()} is unavailable: circuit open since 12:03:00 UTC, next try 12:04:00 UTC`,
    );
    expect(sent('POST') - before.posts).toBe(FAILURES_TO_OPEN);

    policy.circuitClock.set('2026-12-04T12:04:00.000Z');
    await post();
    expect(sent('POST') - before.posts).toBe(FAILURES_TO_OPEN + 1);
    expect(await circuitGauge(policy.upstreams, 'bot_connector', serviceUrl())).toBe('0');
  });
});

describe("the Bot Framework's signing keys", () => {
  /** A bot whose signing-key reads go through `policy`, logging to `logs`. */
  async function keyedBot(policy: FaultPolicy, logs: string[]): Promise<TeamsBot> {
    return faultyTeamsBot(policy, logs);
  }
  /** The reason each refused key read was logged with. */
  const keyFailures = (logs: string[]) =>
    logs
      .map((line) => JSON.parse(line) as { msg?: string; err?: { message?: string } })
      .filter((line) => line.msg === 'teams: could not read the channel signing keys')
      .map((line) => line.err?.message ?? '');
  const commandsIn = async (bot: TeamsBot) =>
    (await bot.running.runtime.services.audit.recent({ limit: 100 })).filter((record) =>
      record.action.startsWith('command.'),
    ).length;

  it('a 429 with Retry-After is waited out, then the message is verified and answered', async () => {
    const policy = faultPolicy();
    const bot = await keyedBot(policy, []);
    try {
      bot.auth.failKeyReads({ status: 429, retryAfterSeconds: 1 });
      const response = await bot.send(await bot.activity('personal-message'));
      expect(response.status).toBe(200);
      await bot.connector.waitFor('the whoami reply', (call) => call.method === 'POST', ANSWER_WITHIN_MS);
      expect(bot.auth.faultedKeyReads).toHaveLength(1);
      expect(policy.waits).toEqual([1_000]);
    } finally {
      await bot.close();
    }
  });

  it('5xx, resets and hangs refuse the request with 503 after bounded reads, the circuit opens and a good probe closes it', async () => {
    const policy = faultPolicy();
    const logs: string[] = [];
    const bot = await keyedBot(policy, logs);
    const keysAt = new URL(bot.auth.openIdMetadataUrl).origin;
    const message = async () => (await bot.send(await bot.activity('personal-message'))).status;
    try {
      for (const fault of [{ status: 503 }, 'reset', 'hang'] as const) {
        const before = bot.auth.faultedKeyReads.length;
        bot.auth.failKeyReads(fault, ATTEMPTS);
        // Closed, not open: an unverifiable request runs nothing, and the channel retries it later.
        expect({ fault, status: await message() }).toEqual({ fault, status: 503 });
        expect({ fault, reads: bot.auth.faultedKeyReads.length - before }).toEqual({
          fault,
          reads: ATTEMPTS,
        });
      }
      expect(keyFailures(logs)).toEqual([
        `GET ${bot.auth.openIdMetadataUrl} answered 503`,
        expect.stringMatching(/fetch failed|ECONNRESET|socket/i),
        expect.stringMatching(/timeout|aborted/i),
      ]);
      expect(await circuitGauge(policy.upstreams, 'bot_connector', keysAt)).toBe('2');

      const reads = bot.auth.reads.metadata;
      expect(await message()).toBe(503);
      expect(bot.auth.reads.metadata).toBe(reads);
      expect(keyFailures(logs).at(-1)).toBe(
        `the Bot Framework signing keys at ${keysAt} is unavailable: circuit open since 12:03:00 UTC, next try 12:04:00 UTC`,
      );

      policy.circuitClock.set('2026-12-04T12:04:00.000Z');
      expect(await message()).toBe(200);
      await bot.connector.waitFor('the whoami reply', (call) => call.method === 'POST', ANSWER_WITHIN_MS);
      expect(await circuitGauge(policy.upstreams, 'bot_connector', keysAt)).toBe('0');
      // Only the verified message ran a command; the refused ones left no record.
      expect(await commandsIn(bot)).toBe(1);
    } finally {
      await bot.close();
    }
  });
});
