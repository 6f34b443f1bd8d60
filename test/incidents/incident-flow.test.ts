// Incidents from the shell surface: declare, note, act, resolve, draft the postmortem; and the
// change gate holding changes while a SEV2 is open.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixedClock, replyToText } from '../../src/core/index.js';
import { startTestBot, type TestBot } from '../helpers/runtime.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures');

describe('incidents', () => {
  let bot: TestBot;
  const clock = fixedClock('2026-11-26T13:00:00Z');
  const advance = (minutes: number) => clock.set(new Date(clock.now().getTime() + minutes * 60_000));
  const inChannel = (text: string, actor = 'ana') =>
    bot.router.handle({ actor: { id: actor }, surface: 'slack', channel: 'C-INC', text });

  beforeEach(async () => {
    clock.set('2026-11-26T13:00:00Z');
    bot = await startTestBot({
      clock,
      config: (dir) => `
runbooks:
  dir: ${path.join(FIXTURES, 'runbooks', 'changes')}
executors:
  - module: ${path.join(FIXTURES, 'executors', 'recorder-executor.mjs')}
    config: { callsFile: ${path.join(dir, 'calls.jsonl')} }
services:
  checkout:
    owners: [olu]
access:
  defaultRoles: [responder]
  roles:
    responder: { allow: ['incident.*', 'runbook.*', 'change.*', whoami] }
    operator: { allow: ['runbook.*'] }
  subjects:
    ana: [operator]
policy:
  rules:
    - kind: open-incident
      severities: [1, 2]
`,
    });
  });
  afterEach(() => bot.close());

  it('keeps a timeline of notes, status changes and what ran in the channel, and drafts a blameless postmortem', async () => {
    const declared = await inChannel('incident declare checkout 5xx spike service=checkout sev=2');
    expect(replyToText(declared)).toMatch(/^INC-1 declared: SEV2 checkout/);
    expect(replyToText(declared)).toContain('bump: A standard change with rollback steps');
    advance(5);
    await inChannel('incident note "error rate up since 12:55, looking at the last deploy"', 'olu');
    await inChannel('incident status identified');
    advance(5);
    expect((await inChannel('runbook run bump target=cart')).ok).toBe(true);
    advance(10);
    await inChannel('incident role commander=@olu');
    const resolved = await inChannel('incident resolve summary="bad cache config rolled back"', 'olu');
    expect(replyToText(resolved)).toMatch(/^INC-1 resolved after 20 min/);

    const draft = replyToText(await inChannel('incident postmortem', 'olu'));
    expect(draft).toContain('# Postmortem draft: INC-1 checkout 5xx spike (SEV2)');
    expect(draft).toContain('bad cache config rolled back');
    expect(draft).toContain('- Duration: 20m');
    expect(draft).toMatch(
      /\| 2026-11-26 13:05 \| error rate up since 12:55, looking at the last deploy \| olu \|/,
    );
    expect(draft).toMatch(/\| 2026-11-26 13:05 \| status: identified \| ana \|/);
    expect(draft).toMatch(/\| 2026-11-26 13:10 \| runbook run bump: succeeded \| ana \|/);
    expect(draft).toMatch(/\| 2026-11-26 13:20 \| commander: olu \| ana \|/);
    expect(draft).toContain('Prometheus is not configured');
    expect(draft).not.toMatch(/\bblame\b(?! ?less)/i);
    const stored = await bot.runtime.services.incidents.find('C-INC', 'INC-1');
    expect(stored.postmortem).toContain('## Action items');
  });

  it('holds changes to the service while a SEV2 is open, and lets them through after resolve', async () => {
    await inChannel('incident declare checkout down service=checkout sev=2');
    const held = await bot.run('change request bump target=cart', 'ana');
    expect(held.error?.message).toBe(
      'CR-1 was denied: open incident INC-1 (SEV2: checkout down) on checkout',
    );
    await inChannel('incident resolve');
    const through = await bot.run('change request bump target=cart', 'ana');
    expect(replyToText(through)).toMatch(/^CR-2 ran and is being verified/);
  });

  it('answers outside an incident channel with a hint', async () => {
    const answer = await bot.run('incident note hello');
    expect(answer.error?.message).toBe('there is no open incident in this channel');
    expect(answer.error?.hint).toMatch(/id=INC-N/);
    expect((await bot.run('incident declare x service=nope sev=2')).error?.message).toBe(
      'nope is not in the service catalog',
    );
    expect((await bot.run('incident declare x service=checkout sev=7')).error?.message).toBe(
      'sev must be between 1 and 4, got 7',
    );
  });
});

describe('an incident timeline', () => {
  let bot: TestBot;
  const clock = fixedClock('2026-11-26T13:00:00Z');
  const at = (time: string) => clock.set(`2026-11-26T${time}:00Z`);

  beforeEach(async () => {
    bot = await startTestBot({
      clock,
      config: (dir) => `
runbooks:
  dir: ${path.join(FIXTURES, 'runbooks', 'targets')}
executors:
  - module: ${path.join(FIXTURES, 'executors', 'recorder-executor.mjs')}
    config: { callsFile: ${path.join(dir, 'calls.jsonl')} }
services:
  checkout: { kubernetes: { namespace: shop, deployments: [checkout] } }
  search: { kubernetes: { namespace: shop, deployments: [search] } }
access:
  defaultRoles: [operator]
  roles:
    operator: { allow: ['incident.*', 'runbook.*', 'change.*'] }
policy:
  rules:
    - kind: open-incident
      severities: [1, 2]
`,
    });
  });
  afterEach(() => bot.close());

  it('ends at the resolve time and holds only what touched the incident service, though both share the shell', async () => {
    at('13:00');
    await bot.run('incident declare checkout 5xx service=checkout sev=3');
    at('13:01');
    await bot.run('incident declare search slow service=search sev=3');
    at('13:05');
    expect((await bot.run('runbook run bounce deployment=checkout')).ok).toBe(true);
    at('13:06');
    expect((await bot.run('runbook run bounce deployment=search')).ok).toBe(true);
    at('13:07');
    expect(replyToText(await bot.run('change request bounce deployment=search'))).toMatch(/^CR-1 ran/);
    at('13:08');
    expect(replyToText(await bot.run('change request bounce deployment=checkout'))).toMatch(/^CR-2 ran/);
    at('13:20');
    await bot.run('incident resolve id=INC-1 summary="cache fixed"');
    at('13:30');
    expect((await bot.run('runbook run bounce deployment=checkout')).ok).toBe(true);
    await bot.run('incident note id=INC-1 "looked again after the fact"');

    const timeline = await bot.runtime.services.incidents.timeline(
      await bot.runtime.services.incidents.find('shell', 'INC-1'),
    );
    const rows = timeline.map((row) => `${row.at.slice(11, 16)} ${row.what}`);
    expect(rows.filter((row) => row.includes('runbook run bounce'))).toEqual([
      '13:05 runbook run bounce: succeeded',
      '13:08 runbook run bounce: succeeded',
    ]);
    expect(rows.some((row) => row.includes('CR-2'))).toBe(true);
    expect(rows.some((row) => row.includes('CR-1'))).toBe(false);
    expect(rows.every((row) => row.slice(0, 5) <= '13:20')).toBe(true);
    expect(rows.at(-1)).toBe('13:20 resolved: cache fixed');

    const draft = replyToText(await bot.run('incident postmortem id=INC-1'));
    expect(draft).toMatch(/\| 2026-11-26 13:05 \| runbook run bounce: succeeded \| ana \|/);
    expect(draft).not.toMatch(/\| 2026-11-26 13:06 \|/);
    expect(draft).not.toMatch(/\| 2026-11-26 13:30 \|/);
  });
});
