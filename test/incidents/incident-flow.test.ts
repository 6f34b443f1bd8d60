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
