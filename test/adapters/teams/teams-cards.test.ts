// Interactive cards in Teams: buttons and forms run their command as the person who clicked, the
// router re-checks that person's permission, and the card is updated in place to say what happened.
import {
  type CommandDefinition,
  defineCommand,
  fields,
  header,
  reply,
  text,
} from '../../../src/core/index.js';
import type { ConnectorCall } from '../../doubles/bot-connector.js';
import { expectValidCard } from './card-schema.js';
import {
  type Activity,
  ANA,
  BEN,
  buttonsOf,
  CHANNEL,
  cardOf,
  cardText,
  startTeamsBot,
  TENANT,
  type TeamsBot,
} from './teams-harness.js';

/** A stand-in for `change approve`: anyone may ask, only the approver role may approve. */
function approvalCommand(approved: string[]): CommandDefinition {
  return defineCommand({
    name: 'approval',
    summary: 'Test approvals',
    examples: ['approval request CR-1'],
    subcommands: {
      request: {
        summary: 'Ask for an approval',
        examples: ['approval request CR-1'],
        positionals: [{ name: 'id', description: 'change id', required: true }],
        handler: (ctx, args) =>
          reply(
            header(`${args.positionals.id}: restart checkout in prod`),
            fields({ 'requested by': ctx.actor.name ?? ctx.actor.id, risk: 'low' }),
            {
              type: 'actions',
              actions: [
                {
                  id: 'approve',
                  label: 'Approve',
                  command: `approval approve ${args.positionals.id}`,
                  style: 'primary',
                },
                {
                  id: 'deny',
                  label: 'Deny',
                  command: `approval deny ${args.positionals.id}`,
                  style: 'danger',
                },
              ],
            },
          ),
      },
      approve: {
        summary: 'Approve a change',
        examples: ['approval approve CR-1'],
        positionals: [{ name: 'id', description: 'change id', required: true }],
        handler: (ctx, args) => {
          if (args.positionals.id === 'CR-0') throw new Error('the change service fell over');
          approved.push(`${args.positionals.id} by ${ctx.actor.id}`);
          return reply(text(`${args.positionals.id} approved; the restart starts now.`));
        },
      },
      deny: {
        summary: 'Deny a change',
        examples: ['approval deny CR-1'],
        positionals: [{ name: 'id', description: 'change id', required: true }],
        handler: (_ctx, args) => reply(text(`${args.positionals.id} denied.`)),
      },
    },
  });
}

const formDemo = defineCommand({
  name: 'form-demo',
  summary: 'A form that scales a deployment',
  examples: ['form-demo ask'],
  subcommands: {
    ask: {
      summary: 'Show the form',
      examples: ['form-demo ask'],
      handler: () =>
        reply(text('Scale *checkout* in prod.'), {
          type: 'form',
          title: 'Scale checkout',
          submitLabel: 'Scale',
          command: 'form-demo run',
          fields: [
            { name: 'replicas', label: 'Replicas', type: 'int', required: true, min: 1, max: 20 },
            { name: 'reason', label: 'Reason', type: 'string', required: true },
          ],
        }),
    },
    run: {
      summary: 'Scale',
      examples: ['form-demo run replicas=3 reason=load'],
      options: {
        replicas: { type: 'int', description: 'pods', required: true, min: 1, max: 20 },
        reason: { type: 'string', description: 'why', required: true },
      },
      handler: (_ctx, args) =>
        reply(text(`checkout scaled to ${args.options.replicas} (${args.options.reason})`)),
    },
  },
});

describe('Teams cards', () => {
  let bot: TeamsBot;
  let approved: string[];

  beforeEach(async () => {
    approved = [];
    bot = await startTeamsBot();
    bot.register(approvalCommand(approved));
    bot.register(formDemo);
  });
  afterEach(async () => {
    await bot.close();
  });

  /** Types a command in the channel and returns the card Millwright posted in the thread. */
  async function ask(line: string): Promise<{ thread: Activity; posted: ConnectorCall }> {
    const thread = await bot.activity('channel-mention', { text: `<at>Millwright</at> ${line}` });
    await bot.send(thread);
    const posted = await bot.connector.waitFor(`the card for ${line}`, (call) => call.method === 'POST');
    return { thread, posted };
  }

  /** Clicks a button (or submits a form) on a posted card as someone, the way Teams sends it. */
  async function click(
    posted: ConnectorCall,
    title: string,
    who: typeof ANA,
    extra: Record<string, unknown> = {},
    changes: Partial<Activity> = {},
  ): Promise<{ status: number; card: Record<string, unknown>; body: Record<string, unknown> }> {
    const button = buttonsOf(cardOf(posted)).get(title);
    if (!button) throw new Error(`no "${title}" button on the card`);
    const invoke = await bot.activity('card-action', {
      from: { id: `29:${who.aad}`, name: who.name, aadObjectId: who.aad },
      conversation: {
        id: posted.conversationId,
        conversationType: 'channel',
        isGroup: true,
      } as Activity['conversation'],
      replyToId: posted.id,
      value: {
        action: {
          type: 'Action.Execute',
          title,
          verb: button.verb,
          data: { ...(button.data as object), ...extra },
        },
        trigger: 'manual',
      },
      ...changes,
    });
    const response = await bot.send(invoke);
    const body = (await response.json()) as Record<string, unknown>;
    expectValidCard(body.value);
    return { status: response.status, card: body.value as Record<string, unknown>, body };
  }

  test('an approval clicked by someone without the approver role is refused, and the card says why', async () => {
    const { posted, thread } = await ask('approval request CR-1');
    expect(posted.conversationId).toBe(`${CHANNEL};messageid=${thread.id}`);
    expect([...buttonsOf(cardOf(posted)).keys()]).toEqual(['Approve', 'Deny']);

    const refused = await click(posted, 'Approve', BEN);
    expect(refused.status).toBe(200);
    expect(refused.body).toMatchObject({ statusCode: 200, type: 'application/vnd.microsoft.card.adaptive' });
    expectValidCard(refused.card);
    const shown = cardText(refused.card).join('\n');
    expect(shown).toContain(
      `**${BEN.name}** was refused: permission denied: ${BEN.aad} (roles: viewer) may not run approval.approve`,
    );
    expect(shown).toContain('Hint: ask an admin for a role that allows approval.approve');
    expect(approved).toEqual([]);
    // The buttons stay (with the same tokens) for someone who may press them; everyone's card shows the refusal.
    expect([...buttonsOf(refused.card).keys()]).toEqual(['Approve', 'Deny']);
    expect(buttonsOf(refused.card).get('Approve')!.data).toEqual(
      buttonsOf(cardOf(posted)).get('Approve')!.data,
    );
    const update = await bot.connector.waitFor('the refusal on the card', (call) => call.method === 'PUT');
    expect(update.activityId).toBe(posted.id);
    expect(cardOf(update)).toEqual(refused.card);

    const audit = await bot.running.runtime.services.audit.recent({ limit: 5 });
    expect(audit[0]).toMatchObject({
      actor: BEN.aad,
      surface: 'teams',
      channel: CHANNEL,
      action: 'command.approval.approve',
      outcome: 'denied',
    });
  });

  test('an approver’s click runs the command as them, and the card shows who decided what; a late click is refused', async () => {
    const { posted } = await ask('approval request CR-7');
    await click(posted, 'Approve', BEN);
    const done = await click(posted, 'Approve', ANA);
    expect(approved).toEqual([`CR-7 by ${ANA.aad}`]);
    const shown = cardText(done.card);
    expect(shown[0]).toBe('CR-7: restart checkout in prod');
    expect(shown).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^\\*\\*${ANA.name}\\*\\* ran approval approve CR-7 · \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC$`,
        ),
      ),
    );
    expect(shown).toContain('CR-7 approved; the restart starts now.');
    // Decided: the buttons are gone, and Ben's earlier refusal no longer shows.
    expect(buttonsOf(done.card).size).toBe(0);
    expect(shown.join('\n')).not.toContain('was refused');
    const update = await bot.connector.waitFor(
      'the decision on the card',
      (call) =>
        call.method === 'PUT' && cardText(cardOf(call)).includes('CR-7 approved; the restart starts now.'),
    );
    expect(cardOf(update)).toEqual(done.card);

    // A client that still shows the old card can neither approve twice nor deny what was approved.
    const late = await click(posted, 'Approve', ANA);
    expect(cardText(late.card).join('\n')).toContain(
      `**${ANA.name}** was refused: this was already done by ${ANA.name}`,
    );
    expect(cardText(late.card)).toContainEqual(expect.stringMatching(/ran approval approve CR-7/));
    const deny = await click(posted, 'Deny', ANA);
    expect(cardText(deny.card).join('\n')).toContain('was refused: this was already done by');
    expect(cardText(deny.card).join('\n')).not.toContain('CR-7 denied.');
    expect(approved).toHaveLength(1);
  });

  test('a double click approves once: the second, even on a card Millwright forgot, is told who and when', async () => {
    const { posted } = await ask('approval request CR-8');
    const done = await click(posted, 'Approve', ANA);
    expect(buttonsOf(done.card).size).toBe(0);
    const update = await bot.connector.waitFor('the decision on the card', (call) => call.method === 'PUT');
    expect(update.activityId).toBe(posted.id);
    expect(buttonsOf(cardOf(update)).size).toBe(0);

    // The card's own record is gone (pruned, or kept by another replica): the spent token still says no.
    const { store } = bot.running.runtime.services;
    for (const card of await store.list('teams_cards')) await store.delete('teams_cards', card.id);
    const again = await click(posted, 'Approve', ANA);
    expect(cardText(again.card).join('\n')).toMatch(
      new RegExp(
        `\\*\\*${ANA.name}\\*\\* was refused: this was already done by ${ANA.name} at \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC`,
      ),
    );
    expect(approved).toEqual([`CR-8 by ${ANA.aad}`]);
    const audit = await bot.running.runtime.services.audit.recent({ limit: 20 });
    expect(audit.filter((record) => record.action === 'command.approval.approve')).toHaveLength(1);
  });

  test('two clicks on one approval at the same moment: exactly one runs', async () => {
    const { posted } = await ask('approval request CR-6');
    const [first, second] = await Promise.all([click(posted, 'Approve', ANA), click(posted, 'Approve', ANA)]);
    expect(approved).toEqual([`CR-6 by ${ANA.aad}`]);
    const shown = [first, second].map((answer) => cardText(answer.card).join('\n'));
    expect(shown.filter((text) => text.includes('was refused'))).toHaveLength(1);
  });

  test('a command that failed after it started spends the button: the card shows the failure, not the button', async () => {
    const { posted } = await ask('approval request CR-0');
    const failed = await click(posted, 'Approve', ANA);
    const shown = cardText(failed.card).join('\n');
    expect(shown).toContain('something broke on our side');
    // It ran and failed: drawn as a failure of Ana's run, not as a refusal of Ana.
    expect(shown).toMatch(
      new RegExp(
        `\\*\\*${ANA.name}\\*\\* ran approval approve CR-0 · \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC: it failed`,
      ),
    );
    expect(shown).not.toContain('was refused');
    expect(buttonsOf(failed.card).size).toBe(0);
    // A later click is told the run failed, not that it was done.
    const again = await click(posted, 'Approve', ANA);
    expect(cardText(again.card).join('\n')).toMatch(
      new RegExp(`was refused: ${ANA.name} ran this at .+ and it failed: something broke on our side`),
    );
  });

  test('a forged or re-pointed token is refused without running anything', async () => {
    const { posted } = await ask('approval request CR-9');
    const forged = await click(posted, 'Approve', ANA, {
      millwright: {
        kind: 'action',
        token: 'eyJjb21tYW5kIjoiYXBwcm92YWwgYXBwcm92ZSBDUi05In0.bm9wZQ',
        block: 2,
      },
    });
    expect(cardText(forged.card).join('\n')).toContain(
      `**${ANA.name}** was refused: this button has an invalid signature`,
    );

    // The real token, clicked from another conversation, is bound to the channel it was posted in.
    const elsewhere = await click(
      posted,
      'Approve',
      ANA,
      {},
      {
        conversation: {
          id: '19:meeting_other@thread.v2',
          conversationType: 'groupChat',
          isGroup: true,
        } as Activity['conversation'],
        // Same tenant: another tenant's activity would be refused (403) before any card is looked at.
        channelData: { tenant: { id: TENANT } },
      },
    );
    expect(cardText(elsewhere.card).join('\n')).toContain('this button belongs to another channel');
    expect(approved).toEqual([]);
  });

  test('a form submitted with a bad value is redrawn with the error beside the field; a good one goes through', async () => {
    const { posted } = await ask('form-demo ask');
    const bad = await click(posted, 'Scale', ANA, { 'mw.1.replicas': '50', 'mw.1.reason': 'black friday' });
    const inputs = ((bad.card.body as Array<{ type: string; items?: Array<Record<string, unknown>> }>).find(
      (element) => element.type === 'Container' && element.items?.some((item) => item.id === 'mw.1.replicas'),
    )?.items ?? []) as Array<Record<string, unknown>>;
    const replicas = inputs.findIndex((item) => item.id === 'mw.1.replicas');
    expect(inputs[replicas]).toMatchObject({ value: 50 });
    expect(inputs[replicas + 1]).toMatchObject({
      color: 'attention',
      text: 'replicas must be between 1 and 20, got 50',
    });
    expect(inputs.find((item) => item.id === 'mw.1.reason')).toMatchObject({ value: 'black friday' });

    const good = await click(posted, 'Scale', ANA, { 'mw.1.replicas': '3', 'mw.1.reason': 'black friday' });
    const shown = cardText(good.card);
    expect(shown).toContain('checkout scaled to 3 (black friday)');
    expect(shown).toContainEqual(
      expect.stringMatching(/ran form-demo run replicas="3" reason="black friday"/),
    );
    expect(buttonsOf(good.card).size).toBe(0);
  });

  test('Action.Submit (a message carrying the card data) works the same way and updates the card', async () => {
    const { posted } = await ask('approval request CR-3');
    const button = buttonsOf(cardOf(posted)).get('Approve')!;
    const submit = await bot.activity('channel-mention', {
      text: undefined,
      id: '1764162999000',
      from: { id: `29:${ANA.aad}`, name: ANA.name, aadObjectId: ANA.aad },
      conversation: {
        id: posted.conversationId,
        conversationType: 'channel',
        isGroup: true,
      } as Activity['conversation'],
      replyToId: posted.id,
      value: button.data,
      entities: [],
    });
    expect((await bot.send(submit)).status).toBe(200);
    const update = await bot.connector.waitFor(
      'the card update',
      (call) =>
        call.method === 'PUT' && cardText(cardOf(call)).includes('CR-3 approved; the restart starts now.'),
    );
    expect(update.activityId).toBe(posted.id);
    expect(approved).toEqual([`CR-3 by ${ANA.aad}`]);
  });
});

describe('Teams cards for slow commands', () => {
  test('a click that takes longer than Teams waits is answered "running" and the card is updated when it is done', async () => {
    const bot = await startTeamsBot({ invokeWaitMs: 20 });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const approvedLater: string[] = [];
    const slowApproval = approvalCommand(approvedLater);
    const approve = slowApproval.subcommands!.approve!;
    bot.register({
      ...slowApproval,
      subcommands: {
        ...slowApproval.subcommands,
        approve: {
          ...approve,
          handler: async (ctx, args) => {
            await gate;
            return approve.handler(ctx, args);
          },
        },
      },
    });
    try {
      const thread = await bot.activity('channel-mention', {
        text: '<at>Millwright</at> approval request CR-5',
      });
      await bot.send(thread);
      const posted = await bot.connector.waitFor('the card', (call) => call.method === 'POST');
      const button = buttonsOf(cardOf(posted)).get('Approve')!;
      const invoke = await bot.activity('card-action', {
        from: { id: `29:${ANA.aad}`, name: ANA.name, aadObjectId: ANA.aad },
        conversation: {
          id: posted.conversationId,
          conversationType: 'channel',
          isGroup: true,
        } as Activity['conversation'],
        replyToId: posted.id,
        value: {
          action: { type: 'Action.Execute', verb: button.verb, data: button.data },
          trigger: 'manual',
        },
      });
      const response = await bot.send(invoke);
      const interim = ((await response.json()) as { value: Record<string, unknown> }).value;
      expectValidCard(interim);
      expect(cardText(interim)).toContainEqual(
        expect.stringContaining('the command is still running and this card will update'),
      );
      expect(buttonsOf(interim).size).toBe(0);
      release();
      const update = await bot.connector.waitFor(
        'the decision',
        (call) =>
          call.method === 'PUT' && cardText(cardOf(call)).includes('CR-5 approved; the restart starts now.'),
      );
      expect(update.activityId).toBe(posted.id);
    } finally {
      release();
      await bot.close();
    }
  });
});
