// What a digest says, built from the records real commands leave behind: runbook runs in the audit
// trail, change requests and incidents in the store, and what the last posted digest covered.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixedClock, replyToText } from '../../src/core/index.js';
import { type DigestBot, openDigestBot, RecordingNotifier, removeDir } from './harness.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures');

const config = (dir: string) => `
runbooks:
  dir: ${path.join(FIXTURES, 'digests', 'runbooks')}
executors:
  - module: ${path.join(FIXTURES, 'executors', 'recorder-executor.mjs')}
    config: { callsFile: ${path.join(dir, 'calls.jsonl')} }
services:
  checkout: { tags: [tier-1] }
  payments: { tags: [tier-1] }
  search: {}
policy:
  rules:
    - kind: change-class
  approvals: { role: approver, required: 1, ttl: 24h }
digests:
  - name: tier1
    description: Tier-1 morning digest
    schedule: "0 9 * * *"
    timeZone: Europe/Berlin
    target: C0TIER1
    tags: [tier-1]
    sections: [budgets, deploys, changes, incidents, toil]
access:
  defaultRoles: [viewer]
  roles:
    viewer: { allow: [help, digest.list] }
    operator: { allow: ['runbook.*', 'change.*', 'incident.*', 'digest.*'] }
    approver: { allow: ['change.*'] }
  subjects:
    ana: [operator]
    bo: [operator, approver]
`;

describe('a digest built from what happened', () => {
  const clock = fixedClock('2026-11-25T06:00:00Z');
  const at = (iso: string) => clock.set(iso);
  let bot: DigestBot;
  const notifier = new RecordingNotifier('slack', clock);

  const ok = async (line: string, actor = 'ana') => {
    const answer = await bot.run(line, actor);
    if (!answer.ok) throw new Error(`${line}: ${replyToText(answer)}`);
    return answer;
  };

  beforeAll(async () => {
    bot = await openDigestBot({ config, clock, notifier });
    // Before the period the first digest covers (it starts at 09:00 CET on the 25th): not counted.
    await ok('runbook run restart-cache target=early');
    at('2026-11-25T09:00:00Z');
    for (const node of ['a', 'b', 'c']) await ok(`runbook run restart-cache target=${node}`);
    await ok('runbook run rotate-logs target=p1');
    await ok('runbook run warm-cache target=eu');
    await ok('runbook run reindex-search target=all'); // search is not tier-1
    expect((await bot.run('runbook run failover-db target=db2')).ok).toBe(false);
    at('2026-11-25T10:00:00Z');
    // A low-risk manual change passes the gate on its own; a high-risk one waits for a person.
    await ok('change request service=checkout summary="raise db pool to 50" risk=low');
    await ok('change request service=payments summary="rotate card vault keys" risk=high');
    await ok('change request service=search summary="bump search replicas" risk=low'); // not tier-1
    at('2026-11-25T11:00:00Z');
    await ok('change done CR-1 outcome=failed');
    await ok('incident declare "checkout 5xx spike" service=checkout sev=2');
    await ok('incident declare "search slow" service=search sev=3');
  });
  afterAll(async () => {
    await bot.close();
    await removeDir(bot.dir);
  });

  test('digest run NAME --here shows every section for the tier-1 services only', async () => {
    at('2026-11-26T07:30:00Z'); // 08:30 CET, before the 09:00 digest
    const preview = await ok('digest run tier1 --here');
    const shown = replyToText(preview);
    expect(preview.blocks[0]).toEqual({
      type: 'header',
      text: 'Tier-1 morning digest: 2026-11-26 08:30 CET',
    });
    expect(preview.blocks[1]).toEqual({
      type: 'text',
      text: '*budgets unknown (no Prometheus) · 1 change approved without a human, 1 waiting for a person, 1 failed · 1 open incident (worst SEV2) · 50m of hand work saved*',
    });
    expect(shown).toContain('Prometheus is not configured, so there are no error budgets to report.');
    expect(shown).toContain('No service in scope has a kubernetes or github section in the catalog');
    // Changes: CR-1 passed the gate alone and then failed; CR-2 needs a person; CR-3 is search's.
    expect(preview.blocks).toContainEqual({
      type: 'fields',
      fields: [
        { label: 'approved without a human', value: '1' },
        { label: 'needed approval', value: '1' },
        { label: 'failed', value: '1' },
      ],
    });
    expect(shown).toContain('- CR-1 checkout: raise db pool to 50 (failed)');
    expect(shown).toContain('- CR-2 payments: rotate card vault keys (pending-approval)');
    expect(shown).not.toContain('CR-3');
    // Incidents: only checkout's.
    const incidents = preview.blocks.find(
      (block) => block.type === 'table' && block.columns[0] === 'incident',
    );
    expect(incidents).toMatchObject({
      rows: [['INC-1', 'SEV2', 'checkout', 'checkout 5xx spike', 'investigating', '20h30m', 'ana']],
    });
    // Toil: 3 × 15 min + 1 × 5 min; the failed failover saves nothing; warm-cache has no estimate.
    expect(shown).toContain('Millwright saved 50m of hand work in 6 runbook runs.');
    const ledger = preview.blocks.find((block) => block.type === 'table' && block.columns[0] === 'runbook');
    expect(ledger).toEqual({
      type: 'table',
      columns: ['runbook', 'runs', 'succeeded', 'by hand', 'saved'],
      rows: [
        ['restart-cache', '3', '3', '15 min', '45m'],
        ['rotate-logs', '1', '1', '5 min', '5m'],
        ['failover-db', '1', '0', '30 min', '0m'],
        ['warm-cache', '1', '1', 'no estimate', '?'],
      ],
    });
    expect(shown).toContain('Not counted: warm-cache (set metadata.estimatedManualMinutes in the runbook).');
    expect(shown).toContain(
      'Since 2026-11-25 09:00 CET · checkout, payments · preview: not posted to C0TIER1',
    );
    expect(notifier.posts).toHaveLength(0);
  });

  test('the scheduled digest posts it to its target; the next one reports only what happened since', async () => {
    const { digests } = bot.runtime.services;
    await digests.start();
    at('2026-11-26T08:00:00Z'); // 09:00 CET
    await digests.tick();
    expect(notifier.posts).toHaveLength(1);
    expect(notifier.posts[0]).toMatchObject({ target: 'C0TIER1' });
    expect(notifier.posts[0]!.text).toContain('Millwright saved 50m of hand work in 6 runbook runs.');
    expect(notifier.posts[0]!.reply.visibility).toBe('public');

    at('2026-11-26T09:00:00Z');
    await ok('runbook run rotate-logs target=p2');
    await ok('incident resolve id=INC-1', 'ana');
    at('2026-11-26T09:30:00Z');
    const next = replyToText(await ok('digest run tier1 --here'));
    expect(next).toContain('Millwright saved 5m of hand work in 1 runbook run.');
    expect(next).toContain('No open incidents.');
    // CR-2 still waits for a person, so it is still news.
    expect(next).toContain('0 changes approved without a human, 1 waiting for a person');
    expect(next).toContain('- CR-2 payments: rotate card vault keys (pending-approval)');
    expect(next).not.toContain('CR-1');
    expect(next).toContain('Since 2026-11-26 09:00 CET');
    await digests.stop();
  });

  test('digest run NAME posts now through the chat adapter, and digest list shows it', async () => {
    at('2026-11-26T10:00:00Z');
    const answer = await ok('digest run tier1', 'bo');
    expect(replyToText(answer)).toContain('Posted the tier1 digest to C0TIER1.');
    expect(notifier.posts.at(-1)).toMatchObject({ target: 'C0TIER1' });
    expect(notifier.posts.at(-1)!.text).toContain('posted by bo');
    const listed = await ok('digest list', 'carl');
    const row = listed.blocks.find((block) => block.type === 'table');
    expect(row).toMatchObject({
      rows: [
        [
          'tier1',
          '0 9 * * * (Europe/Berlin)',
          'in 22h (2026-11-27 09:00 CET)',
          'C0TIER1',
          'just now (2026-11-26 11:00 CET) (by bo)',
          'posted',
        ],
      ],
    });
    const audit = await bot.runtime.services.audit.recent({ limit: 5 });
    expect(audit.find((record) => record.action === 'digest.post')).toMatchObject({
      actor: 'bo',
      channel: 'C0TIER1',
      args: { digest: 'tier1', kind: 'manual' },
      outcome: 'posted',
    });
  });

  test('bad input gets one line and a hint', async () => {
    const unknown = await bot.run('digest run tier2 --here');
    expect(unknown.error).toEqual({
      code: 'millwright_not_found',
      message: 'there is no digest tier2',
      hint: 'did you mean tier1?',
    });
    expect((await bot.run('digest run --here')).error).toMatchObject({
      code: 'millwright_bad_argument',
      message: 'digest run needs NAME (the digest, as in digest list)',
    });
    const denied = await bot.run('digest run tier1', 'carl');
    expect(denied.error?.code).toBe('millwright_permission_denied');
  });
});
