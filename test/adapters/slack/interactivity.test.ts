// Buttons, modals and messages updated in place: a click runs the button's command as the person who
// clicked, a form opens as a modal with typed inputs, and argument errors show next to their field.
import {
  badArgument,
  type Context,
  defineCommand,
  ErrorCode,
  errorReply,
  type FormBlock,
  fields,
  header,
  MillwrightError,
  type Reply,
  reply,
  text,
} from '../../../src/core/index.js';
import type { SlackApiCall } from '../../doubles/slack-api.js';
import { fixture, type SlackHarness, startSlackHarness, visibleText } from './harness.js';

const APPROVAL_ACCESS = `
access:
  defaultRoles: [engineer]
  roles:
    engineer: { allow: [help, whoami, ship.request, scale, watch] }
    approver: { allow: ['ship.*'] }
  subjects:
    U0APPROVER: [approver]
`;

interface Button {
  action_id: string;
  value: string;
  text: { text: string };
}

function buttonsIn(call: SlackApiCall | { body: Record<string, unknown> }): Button[] {
  const blocks = ('args' in call ? call.args.blocks : call.body.blocks) as Array<Record<string, unknown>>;
  return blocks.flatMap((block) => {
    if (block.type === 'actions') return block.elements as Button[];
    if (block.type === 'section' && block.accessory) return [block.accessory as Button];
    return [];
  });
}

/**
 * A block_actions payload shaped like Slack's example, for a click on `button` by `user` in `channel`;
 * with `message`, the click is on that posted message (Slack sends its ts and blocks along).
 */
function click(h: SlackHarness, button: Button, user: string, channel: string, message?: SlackApiCall) {
  const payload = fixture('block-actions.json') as Record<string, unknown> & Record<string, never>;
  const responseUrl = h.slack.responseUrl('actions');
  const posted = message?.response as { ts: string } | undefined;
  return {
    responseUrl,
    payload: {
      ...payload,
      user: { id: user, username: user.toLowerCase(), name: user.toLowerCase(), team_id: 'T0001' },
      channel: { id: channel, name: 'ops' },
      container: {
        type: 'message',
        message_ts: posted?.ts ?? '1548261231.000200',
        channel_id: channel,
        is_ephemeral: false,
      },
      ...(message && posted
        ? {
            message: {
              ...fixture<{ message: Record<string, unknown> }>('block-actions.json').message,
              ts: posted.ts,
              text: message.args.text,
              blocks: message.args.blocks,
            },
          }
        : {}),
      trigger_id: h.slack.triggerId(),
      response_url: responseUrl,
      actions: [
        {
          action_id: button.action_id,
          block_id: 'b1',
          text: { type: 'plain_text', text: button.text.text, emoji: true },
          value: button.value,
          type: 'button',
          action_ts: `${h.nowSeconds()}.000100`,
        },
      ],
    },
  };
}

describe('Slack buttons', () => {
  let h: SlackHarness;
  let approved: string[];

  beforeEach(async () => {
    h = await startSlackHarness({ access: APPROVAL_ACCESS });
    approved = [];
    h.register(
      defineCommand({
        name: 'ship',
        summary: 'ask to ship a service and decide on it',
        examples: ['ship request checkout'],
        subcommands: {
          request: {
            summary: 'ask for approval',
            examples: ['ship request checkout'],
            positionals: [{ name: 'service', description: 'service', required: true }],
            handler: (_ctx, args) => ({
              ...reply(header(`Release of ${args.positionals.service} needs an approver`), {
                type: 'actions',
                actions: [
                  {
                    id: 'approve',
                    label: 'Approve',
                    style: 'primary',
                    command: `ship approve ${args.positionals.service}`,
                  },
                  {
                    id: 'deny',
                    label: 'Deny',
                    style: 'danger',
                    command: `ship deny ${args.positionals.service}`,
                  },
                ],
              }),
              visibility: 'public',
            }),
          },
          approve: {
            summary: 'approve',
            examples: ['ship approve checkout'],
            positionals: [{ name: 'service', description: 'service', required: true }],
            handler: (ctx, args) => {
              approved.push(`${args.positionals.service} by ${ctx.actor.id}`);
              return {
                ...reply(text(`Release of ${args.positionals.service} approved by ${ctx.actor.id}`)),
                visibility: 'public',
              };
            },
          },
          deny: {
            summary: 'deny',
            examples: ['ship deny checkout'],
            positionals: [{ name: 'service', description: 'service', required: true }],
            handler: (_ctx, args) => ({
              ...reply(text(`denied ${args.positionals.service}`)),
              visibility: 'public',
            }),
          },
        },
      }),
    );
  });
  afterEach(async () => {
    await h.close();
  });

  async function requestRelease(): Promise<Button[]> {
    return buttonsIn(await postRelease());
  }

  async function postRelease(): Promise<SlackApiCall> {
    await h.sendSlash('ship request checkout', { user_id: 'U0ASKER', channel_id: 'C0OPS' });
    const message = await h.slack.waitForCall('chat.postMessage');
    expect(visibleText(message.args.blocks)).toContain('Release of checkout needs an approver');
    return message;
  }

  it('approves once on a double click: the message loses its buttons and says who approved and when', async () => {
    const message = await postRelease();
    const [approve] = buttonsIn(message);
    const first = click(h, approve!, 'U0APPROVER', 'C0OPS', message);
    await h.sendInteraction(first.payload);
    const redrawn = await h.slack.waitForCall('chat.update');
    const ts = (message.response as { ts: string }).ts;
    expect(redrawn.args).toMatchObject({ channel: 'C0OPS', ts });
    expect(buttonsIn(redrawn)).toEqual([]);
    const shown = visibleText(redrawn.args.blocks);
    expect(shown).toContain('Release of checkout needs an approver');
    expect(shown).toMatch(/✔ `ship approve checkout` by <@U0APPROVER> at \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    expect(h.slack.messages.find((m) => m.ts === ts)?.blocks).toEqual(redrawn.args.blocks);
    await h.slack.waitForCall('chat.postMessage', (call) =>
      visibleText(call.args.blocks).includes('approved by U0APPROVER'),
    );

    // A client still showing the old message clicks again.
    const second = click(h, approve!, 'U0APPROVER', 'C0OPS', message);
    await h.sendInteraction(second.payload);
    const refusal = await h.slack.waitForResponse((post) => post.url === second.responseUrl);
    expect(refusal.body.response_type).toBe('ephemeral');
    expect(visibleText(refusal.body.blocks)).toMatch(
      /this was already done by u0approver at \d{4}-\d\d-\d\d \d\d:\d\d UTC/,
    );
    expect(approved).toEqual(['checkout by U0APPROVER']);
    const records = await h.runtime.services.audit.recent({ limit: 20 });
    expect(records.filter((r) => r.action === 'command.ship.approve')).toHaveLength(1);
    expect(h.slack.callsTo('chat.update')).toHaveLength(1);
  });

  it('keeps the buttons when the click was refused, so an approver can still use them', async () => {
    const message = await postRelease();
    const [approve] = buttonsIn(message);
    const byEngineer = click(h, approve!, 'U0ENGINEER', 'C0OPS', message);
    await h.sendInteraction(byEngineer.payload);
    await h.slack.waitForResponse((post) => post.url === byEngineer.responseUrl);
    expect(h.slack.callsTo('chat.update')).toEqual([]);
  });

  it('replaces a private message with its used button through response_url', async () => {
    const [approve] = await requestRelease();
    const clicked = click(h, approve!, 'U0APPROVER', 'C0OPS');
    const { message: _none, ...ephemeral } = clicked.payload as Record<string, unknown>;
    await h.sendInteraction({
      ...ephemeral,
      container: {
        type: 'message',
        message_ts: '1548261231.000200',
        channel_id: 'C0OPS',
        is_ephemeral: true,
      },
    });
    const replaced = await h.slack.waitForResponse(
      (post) => post.url === clicked.responseUrl && post.body.replace_original === true,
    );
    expect(buttonsIn(replaced)).toEqual([]);
    expect(visibleText(replaced.body.blocks)).toMatch(/✔ `ship approve checkout` by <@U0APPROVER> at /);
    expect(approved).toEqual(['checkout by U0APPROVER']);
  });

  it('refuses an approval by someone without the approver role, though the button was shown to them', async () => {
    const [approve] = await requestRelease();
    expect(approve!.text.text).toBe('Approve');

    const byEngineer = click(h, approve!, 'U0ENGINEER', 'C0OPS');
    expect((await h.sendInteraction(byEngineer.payload)).status).toBe(200);
    const refusal = await h.slack.waitForResponse((post) => post.url === byEngineer.responseUrl);
    expect(refusal.body.response_type).toBe('ephemeral');
    expect(visibleText(refusal.body.blocks)).toMatch(
      /permission denied: U0ENGINEER \(roles: engineer\) may not run ship\.approve/,
    );
    expect(approved).toEqual([]);

    const byApprover = click(h, approve!, 'U0APPROVER', 'C0OPS');
    await h.sendInteraction(byApprover.payload);
    const decision = await h.slack.waitForCall('chat.postMessage', (call) =>
      visibleText(call.args.blocks).includes('approved by U0APPROVER'),
    );
    expect(decision.args.channel).toBe('C0OPS');
    expect(approved).toEqual(['checkout by U0APPROVER']);
    const denied = (await h.runtime.services.audit.recent({ limit: 10 })).find(
      (r) => r.action === 'command.ship.approve' && r.outcome === 'denied',
    );
    expect(denied?.actor).toBe('U0ENGINEER');
  });

  it('refuses a button moved to another channel, a forged one and an expired one, running nothing', async () => {
    const [approve] = await requestRelease();
    const elsewhere = click(h, approve!, 'U0APPROVER', 'C0ELSEWHERE');
    await h.sendInteraction(elsewhere.payload);
    const moved = await h.slack.waitForResponse((post) => post.url === elsewhere.responseUrl);
    expect(visibleText(moved.body.blocks)).toContain('this button belongs to another channel');

    const [body, signature] = approve!.value.split('.');
    const payload = JSON.parse(Buffer.from(body!, 'base64url').toString('utf8')) as Record<string, unknown>;
    const tampered = Buffer.from(JSON.stringify({ ...payload, command: 'ship approve payments' })).toString(
      'base64url',
    );
    const forged = click(h, { ...approve!, value: `${tampered}.${signature}` }, 'U0APPROVER', 'C0OPS');
    await h.sendInteraction(forged.payload);
    const refusedForgery = await h.slack.waitForResponse((post) => post.url === forged.responseUrl);
    expect(visibleText(refusedForgery.body.blocks)).toContain('this button has an invalid signature');

    // Two hours later on Millwright's clock: past security.actionTtl (1h).
    h.clock.shift(2 * 60 * 60 * 1000);
    const late = click(h, approve!, 'U0APPROVER', 'C0OPS');
    await h.sendInteraction(late.payload);
    const expired = await h.slack.waitForResponse((post) => post.url === late.responseUrl);
    expect(visibleText(expired.body.blocks)).toContain('this button has expired');
    expect(approved).toEqual([]);
  });

  it("asks before a danger button runs, and keeps Slack's button limits", async () => {
    const [, deny] = await requestRelease();
    const button = deny as unknown as Record<string, unknown>;
    expect(button.style).toBe('danger');
    expect(button.confirm).toMatchObject({ title: { text: 'Are you sure?' }, deny: { text: 'Cancel' } });
    expect(String(button.value).length).toBeLessThanOrEqual(2000);
  });
});

describe('Slack modals for forms', () => {
  let h: SlackHarness;
  let scaled: string[];
  /** What the command waits for before it scales; resolved unless a test holds it. */
  let commandGate: Promise<void>;

  /** Like `runbook run`: without its values it answers with the error and a form asking for them. */
  function scaleForm(ctx: Context): FormBlock {
    return {
      type: 'form',
      title: 'Scale a service',
      submitLabel: 'Scale',
      command: 'scale',
      fields: [
        { name: 'service', label: 'Service', type: 'enum', required: true, options: ['checkout', 'cart'] },
        {
          name: 'replicas',
          label: 'Replicas',
          type: 'int',
          required: true,
          min: 1,
          max: 10,
          description: 'pods to run',
        },
        { name: 'reason', label: 'Reason', type: 'string', required: false },
      ],
      token: ctx.services.actions.sign({ command: 'scale', channel: ctx.channel, requestedBy: ctx.actor.id }),
    };
  }

  beforeEach(async () => {
    h = await startSlackHarness({ access: APPROVAL_ACCESS });
    scaled = [];
    commandGate = Promise.resolve();
    h.register(
      defineCommand({
        name: 'scale',
        summary: 'scale a service',
        examples: ['scale service=checkout replicas=3'],
        options: {
          service: { type: 'enum', values: ['checkout', 'cart', 'payments'], description: 'the service' },
          replicas: { type: 'int', min: 1, max: 10, description: 'pods to run' },
          reason: { type: 'string', description: 'why' },
        },
        handler: async (ctx, args): Promise<Reply> => {
          const { service, replicas, reason } = args.options;
          if (service === undefined || replicas === undefined) {
            const failure = errorReply(
              badArgument('scale needs service= and replicas=', 'fill in the form'),
              ctx.ref,
            );
            failure.blocks.push(scaleForm(ctx));
            return failure;
          }
          const count = Number(replicas);
          // A check only the command can make (it may ask other systems): answered after the ack.
          if (service === 'cart' && count > 5) {
            throw badArgument(`cart runs at most 5 replicas, got ${count}`, 'like replicas=3', 'replicas');
          }
          if (service === 'payments') throw new MillwrightError(ErrorCode.NotFound, 'no service payments');
          await commandGate;
          scaled.push(`${service}=${count} by ${ctx.actor.id}${reason ? ` (${String(reason)})` : ''}`);
          return reply(text(`Scaled ${service} to ${count} replicas`), fields({ by: ctx.actor.id }));
        },
      }),
    );
  });
  afterEach(async () => {
    await h.close();
  });

  async function openForm() {
    const { responseUrl } = await h.sendSlash('scale', { user_id: 'U0ENGINEER', channel_id: 'C0OPS' });
    const opened = await h.slack.waitForCall('views.open');
    expect(opened.response.ok).toBe(true);
    return {
      responseUrl,
      view: opened.args.view as Record<string, unknown> & {
        blocks: Array<Record<string, unknown>>;
        private_metadata: string;
      },
    };
  }

  function submission(
    view: { blocks: unknown[]; private_metadata: string },
    values: Record<string, unknown>,
  ) {
    const payload = fixture('view-submission.json') as Record<string, unknown> & {
      view: Record<string, unknown>;
    };
    return {
      ...payload,
      user: { id: 'U0ENGINEER', username: 'eng', name: 'eng', team_id: 'T0001' },
      view: {
        ...payload.view,
        callback_id: 'mw.form',
        blocks: view.blocks,
        private_metadata: view.private_metadata,
        state: { values },
      },
    };
  }

  /** The service menu's state as Slack sends it when `service` was chosen. */
  function chosen(service: string) {
    return {
      'field.service': {
        value: {
          type: 'static_select',
          selected_option: { text: { type: 'plain_text', text: service }, value: service },
        },
      },
    };
  }

  it('opens a modal with typed inputs when a command is run without its values', async () => {
    const { view } = await openForm();
    expect(view).toMatchObject({
      type: 'modal',
      callback_id: 'mw.form',
      title: { text: 'Scale a service' },
      submit: { text: 'Scale' },
    });
    const inputs = view.blocks.filter((block) => block.type === 'input');
    expect(
      inputs.map((input) => [input.block_id, (input.element as { type: string }).type, input.optional]),
    ).toEqual([
      ['field.service', 'static_select', false],
      ['field.replicas', 'number_input', false],
      ['field.reason', 'plain_text_input', true],
    ]);
    expect(inputs[0]!.element).toMatchObject({ options: [{ value: 'checkout' }, { value: 'cart' }] });
    expect(inputs[1]!.element).toMatchObject({ is_decimal_allowed: false, min_value: '1', max_value: '10' });
    // The modal asked for the values, so no "needs service=" error was posted on top of it.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(h.slack.responsePosts).toHaveLength(0);
  });

  it('shows an argument error next to its field and keeps the modal open', async () => {
    const { view } = await openForm();
    const response = await h.sendInteraction(
      submission(view, {
        ...chosen('checkout'),
        'field.replicas': { value: { type: 'number_input', value: '40' } },
      }),
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      response_action: 'errors',
      errors: { 'field.replicas': 'replicas must be between 1 and 10, got 40' },
    });
    expect(scaled).toEqual([]);
  });

  it('refuses a forged form beside its first field, and a form with no field as a message, running nothing', async () => {
    const { view, responseUrl } = await openForm();
    const metadata = JSON.parse(view.private_metadata) as { t: string };
    const forged = JSON.stringify({ ...metadata, t: `${metadata.t.split('.')[0]}.${'A'.repeat(43)}` });
    const values = { 'field.replicas': { value: { type: 'number_input', value: '3' } } };
    const response = await h.sendInteraction(submission({ ...view, private_metadata: forged }, values));
    expect(await response.json()).toEqual({
      response_action: 'errors',
      errors: {
        'field.service': 'this button has an invalid signature; run the command again to get a fresh message',
      },
    });
    // With no field to show it beside, the modal closes and the refusal follows where the form was opened.
    const fieldless = await h.sendInteraction(submission({ blocks: [], private_metadata: forged }, {}));
    expect(fieldless.status).toBe(200);
    expect(await fieldless.text()).toBe('');
    const told = await h.slack.waitForResponse((post) => post.url === responseUrl);
    expect(JSON.stringify(told.body)).toContain('this button has an invalid signature');
    expect(scaled).toEqual([]);
  });

  it('refuses a form whose metadata is not a form of ours beside its first field, or in the modal when it has no field', async () => {
    const { view } = await openForm();
    const values = { 'field.replicas': { value: { type: 'number_input', value: '3' } } };
    for (const metadata of ['null', '{}', '{"t": 1, "c": "C0OPS"}', 'not json']) {
      const response = await h.sendInteraction(submission({ ...view, private_metadata: metadata }, values));
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({
        response_action: 'errors',
        errors: { 'field.service': 'This form is damaged; run the command again.' },
      });
    }
    // No field, and no channel to answer in: the modal itself says so (Slack's response_action "update").
    const fieldless = await h.sendInteraction(submission({ blocks: [], private_metadata: 'not json' }, {}));
    expect(await fieldless.json()).toMatchObject({
      response_action: 'update',
      view: {
        type: 'modal',
        blocks: [{ type: 'section', text: { text: 'This form is damaged; run the command again.' } }],
      },
    });
    expect(scaled).toEqual([]);
  });

  it('refuses a secret typed into a field beside that field, without echoing it, and runs nothing', async () => {
    const { view } = await openForm();
    const secret = `xoxb-${'1'.repeat(12)}-${'2'.repeat(13)}-${'a'.repeat(24)}`;
    const response = await h.sendInteraction(
      submission(view, {
        ...chosen('cart'),
        'field.replicas': { value: { type: 'number_input', value: '40' } },
        'field.reason': { value: { type: 'plain_text_input', value: `rotating ${secret}` } },
      }),
    );
    const raw = await response.text();
    expect(raw).not.toContain(secret);
    expect(JSON.parse(raw)).toEqual({
      response_action: 'errors',
      errors: {
        'field.reason': expect.stringMatching(
          /^that value holds what looks like a Slack token; nothing was run or stored/,
        ),
      },
    });
    expect(scaled).toEqual([]);
  });

  it('leaves a refused long word to the whole secret check after the ack, and then says what was wrong as a message', async () => {
    const { view, responseUrl } = await openForm();
    // Nineteen letters with no space: only secretlint could say it is not a key, so the modal does
    // not quote it back before the answer; the router checks it fully and answers as a message.
    const response = await h.sendInteraction(
      submission(view, {
        ...chosen('checkoutcanaryfleet'),
        'field.replicas': { value: { type: 'number_input', value: '3' } },
      }),
    );
    expect(await response.text()).toBe('');
    const told = await h.slack.waitForResponse((post) => post.url === responseUrl);
    expect(JSON.stringify(told.body)).toContain('checkoutcanaryfleet');
    expect(scaled).toEqual([]);
  });

  it('runs nothing from a form when the store cannot record the request, and says so where the form was opened', async () => {
    const { view, responseUrl } = await openForm();
    const { store } = h.runtime.services;
    const insertNew = store.insertNew.bind(store);
    store.insertNew = ((...args: Parameters<typeof insertNew>) =>
      args[0] === 'slack_replay'
        ? Promise.reject(new Error('disk full'))
        : insertNew(...args)) as typeof insertNew;
    try {
      const response = await h.sendInteraction(
        submission(view, {
          ...chosen('cart'),
          'field.replicas': { value: { type: 'number_input', value: '3' } },
        }),
      );
      expect(response.status).toBe(200);
      const told = await h.slack.waitForResponse((post) => post.url === responseUrl);
      expect(JSON.stringify(told.body)).toContain('could not record this request, so it did not run it');
    } finally {
      store.insertNew = insertNew;
    }
    expect(scaled).toEqual([]);
  });

  it("acknowledges a submission before the command runs or the store is written, then delivers the command's answer", async () => {
    const { view, responseUrl } = await openForm();
    let releaseCommand!: () => void;
    commandGate = new Promise((resolve) => {
      releaseCommand = resolve;
    });
    // Every store write waits too: the acknowledgement must not.
    const store = h.runtime.services.store;
    const update = store.update.bind(store);
    let releaseStore!: () => void;
    const storeGate = new Promise<void>((resolve) => {
      releaseStore = resolve;
    });
    store.update = (async (...args: Parameters<typeof update>) => {
      await storeGate;
      return update(...args);
    }) as typeof store.update;

    const response = await h.sendInteraction(
      submission(view, {
        ...chosen('cart'),
        'field.replicas': { value: { type: 'number_input', value: '3' } },
      }),
    );
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('');
    expect(scaled).toEqual([]);

    releaseStore();
    store.update = update;
    releaseCommand();
    const answer = await h.slack.waitForResponse((post) => post.url === responseUrl);
    expect(visibleText(answer.body.blocks)).toContain('Scaled cart to 3 replicas');
    expect(scaled).toEqual(['cart=3 by U0ENGINEER']);
  });

  it('answers a check the command makes itself after the ack, as a message, and the form can be used again', async () => {
    const { view, responseUrl } = await openForm();
    const values = (replicas: string) => ({
      ...chosen('cart'),
      'field.replicas': { value: { type: 'number_input', value: replicas } },
    });
    const response = await h.sendInteraction(submission(view, values('8')));
    expect(await response.text()).toBe('');
    const refused = await h.slack.waitForResponse((post) => post.url === responseUrl);
    expect(JSON.stringify(refused.body)).toContain('cart runs at most 5 replicas, got 8');
    // Refused before it ran, so the token was given back.
    expect((await h.sendInteraction(submission(view, values('4')))).status).toBe(200);
    await h.slack.waitForResponse(
      (post) => post.url === responseUrl && JSON.stringify(post.body).includes('Scaled'),
    );
    expect(scaled).toEqual(['cart=4 by U0ENGINEER']);
  });

  it('runs the submitted command as the submitter and answers where the command was typed', async () => {
    const { view, responseUrl } = await openForm();
    const response = await h.sendInteraction(
      submission(view, {
        ...chosen('cart'),
        'field.replicas': { value: { type: 'number_input', value: '3' } },
        'field.reason': { value: { type: 'plain_text_input', value: 'black "friday"' } },
      }),
    );
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('');
    const answer = await h.slack.waitForResponse((post) => post.url === responseUrl);
    expect(visibleText(answer.body.blocks)).toContain('Scaled cart to 3 replicas');
    expect(scaled).toEqual(['cart=3 by U0ENGINEER (black "friday")']);
  });

  it('runs a modal submitted twice once; the second submission is told who and when', async () => {
    const { view, responseUrl } = await openForm();
    const values = {
      ...chosen('cart'),
      'field.replicas': { value: { type: 'number_input', value: '3' } },
    };
    expect((await h.sendInteraction(submission(view, values))).status).toBe(200);
    await h.slack.waitForResponse((post) => post.url === responseUrl);
    // A second submission is a new request (its own trigger), not a byte-for-byte replay.
    const again = await h.sendInteraction({ ...submission(view, values), trigger_id: '2222.3333.again' });
    expect(again.status).toBe(200);
    expect(await again.text()).toBe('');
    const told = await h.slack.waitForResponse(
      (post) => post.url === responseUrl && JSON.stringify(post.body).includes('already done'),
    );
    expect(JSON.stringify(told.body)).toMatch(
      /this was already done by eng at \d{4}-\d\d-\d\d \d\d:\d\d UTC/,
    );
    expect(scaled).toEqual(['cart=3 by U0ENGINEER']);
  });

  it('turns the form into a button when no modal can be opened, and the button opens it', async () => {
    const event = fixture('app-mention.json') as Record<string, unknown> & { event: Record<string, unknown> };
    event.event = { ...event.event, text: '<@U0BOT> scale', user: 'U0ENGINEER', channel: 'C0OPS' };
    event.event_time = h.nowSeconds();
    await h.sendEvent(event);
    const asked = await h.slack.waitForCall('chat.postEphemeral');
    const seen = visibleText(asked.args.blocks);
    expect(seen).toContain('scale needs service= and replicas=');
    expect(seen).toContain('Scale a service');
    const [fillIn] = buttonsIn(asked);
    expect(fillIn!.text.text).toBe('Fill in: Scale');
    await h.sendInteraction(click(h, fillIn!, 'U0ENGINEER', 'C0OPS').payload);
    const opened = await h.slack.waitForCall('views.open');
    expect((opened.args.view as { title: { text: string } }).title.text).toBe('Scale a service');
  });
});

describe('Slack messages that track progress', () => {
  let h: SlackHarness;
  let release: () => void;

  beforeEach(async () => {
    h = await startSlackHarness({ access: APPROVAL_ACCESS });
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    h.register(
      defineCommand({
        name: 'watch',
        summary: 'follows a rollout',
        examples: ['watch --public'],
        handler: async (ctx) => {
          const progress = await ctx.reply(reply(text('checkout: 1 of 3 pods updated')));
          await progress.update(reply(text('checkout: 2 of 3 pods updated')));
          await gate;
          await progress.update(reply(text('checkout: 3 of 3 pods updated')));
          return reply(text('checkout rolled out'));
        },
      }),
    );
  });
  afterEach(async () => {
    release();
    await h.close();
  });

  it('edits a public progress message in place with chat.update', async () => {
    await h.sendSlash('watch --public', { channel_id: 'C0OPS' });
    const first = await h.slack.waitForCall('chat.postMessage');
    expect(visibleText(first.args.blocks)).toBe('checkout: 1 of 3 pods updated');
    const ts = (first.response as { ts: string }).ts;
    await h.slack.waitForCall(
      'chat.update',
      (call) => visibleText(call.args.blocks) === 'checkout: 2 of 3 pods updated',
    );
    release();
    await h.slack.waitForCall(
      'chat.update',
      (call) => visibleText(call.args.blocks) === 'checkout: 3 of 3 pods updated',
    );
    const updates = h.slack.callsTo('chat.update');
    expect(updates.every((call) => call.args.ts === ts && call.args.channel === 'C0OPS')).toBe(true);
    expect(h.slack.messages.find((m) => m.ts === ts)?.updates).toBe(2);
    await h.slack.waitForCall(
      'chat.postMessage',
      (call) => visibleText(call.args.blocks) === 'checkout rolled out',
    );
  });

  it('carries on when Slack refuses to show progress, and still delivers the answer', async () => {
    h.slack.failNext('chat.update', { error: 'message_not_found' }, 2);
    await h.sendSlash('watch --public', { channel_id: 'C0OPS' });
    await h.slack.waitForCall('chat.postMessage');
    release();
    const answer = await h.slack.waitForCall(
      'chat.postMessage',
      (call) => visibleText(call.args.blocks) === 'checkout rolled out',
    );
    expect(answer.args.channel).toBe('C0OPS');
    expect(h.slack.callsTo('chat.update').map((call) => call.response.ok)).toEqual([false, false]);
  });

  it('never overwrites the message holding the button when a click reports progress privately', async () => {
    const handle = await h.adapter.post('C0OPS', {
      ...reply(text('checkout v42 is ready'), {
        type: 'actions',
        actions: [{ id: 'watch', label: 'Watch rollout', command: 'watch' }],
      }),
    });
    expect(handle).toBeDefined();
    const [watch] = buttonsIn(h.slack.callsTo('chat.postMessage')[0]!);
    const clicked = click(h, watch!, 'U0ENGINEER', 'C0OPS');
    await h.sendInteraction(clicked.payload);
    await h.slack.waitForResponse((post) => post.url === clicked.responseUrl);
    release();
    await h.slack.waitForResponse(
      (post) => post.url === clicked.responseUrl && visibleText(post.body.blocks) === 'checkout rolled out',
    );
    const posts = h.slack.responsePosts.filter((post) => post.url === clicked.responseUrl);
    expect(posts.map((post) => post.body.replace_original)).toEqual([false, false]);
  });

  it('replaces a private progress message through response_url, within its five posts', async () => {
    const { responseUrl } = await h.sendSlash('watch');
    await h.slack.waitForResponse((post) => post.url === responseUrl && post.body.replace_original === true);
    release();
    const final = await h.slack.waitForResponse(
      (post) => visibleText(post.body.blocks) === 'checkout rolled out',
    );
    const posts = h.slack.responsePosts.filter((post) => post.url === responseUrl);
    expect(posts.length).toBeLessThanOrEqual(5);
    expect(posts[0]!.body).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(final.status).toBe(200);
  });
});

describe('Slack acknowledgements', () => {
  let h: SlackHarness;
  let release!: () => void;
  let ran: string[];

  beforeEach(async () => {
    h = await startSlackHarness();
    ran = [];
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    h.register(
      defineCommand({
        name: 'slow',
        summary: 'a command that blocks until the test lets it go',
        examples: ['slow'],
        extraOptions: 'via=KIND',
        handler: async (_ctx, args) => {
          await gate;
          ran.push(args.extra.via ?? 'typed');
          return { ...reply(text(`slow done via ${args.extra.via ?? 'typed'}`)), visibility: 'public' };
        },
      }),
    );
    h.register(
      defineCommand({
        name: 'offer',
        summary: 'posts a button that runs slow',
        examples: ['offer'],
        handler: () => ({
          ...reply({
            type: 'actions',
            actions: [{ id: 'go', label: 'Go', command: 'slow via=button' }],
          }),
          visibility: 'public',
        }),
      }),
    );
  });
  afterEach(async () => {
    release();
    await h.close();
  });

  it('answers an options request (an external select asking for choices) at once, with none', async () => {
    // Shaped like Slack's block_suggestion payload; Millwright's menus list their choices, so any is unexpected.
    const asked = await h.sendInteraction({
      type: 'block_suggestion',
      user: { id: 'U0ENGINEER', username: 'engineer', team_id: 'T0001' },
      container: { type: 'view', view_id: 'V0123' },
      api_app_id: 'A0123',
      token: 'verification-token',
      action_id: 'mw.value',
      block_id: 'field.service',
      value: 'chec',
      team: { id: 'T0001', domain: 'example' },
    });
    expect(asked.status).toBe(200);
    expect(await asked.json()).toEqual({ options: [] });
    // A legacy dialog's option load names a callback_id, not an action_id: answered the same way.
    const dialog = await h.sendInteraction({
      type: 'dialog_suggestion',
      token: 'verification-token',
      action_ts: `${h.nowSeconds()}.000100`,
      team: { id: 'T0001', domain: 'example' },
      user: { id: 'U0ENGINEER', name: 'engineer' },
      channel: { id: 'C0OPS', name: 'ops' },
      name: 'service',
      value: 'chec',
      callback_id: 'pick-service',
      state: '',
    });
    expect(dialog.status).toBe(200);
    expect(await dialog.json()).toEqual({ options: [] });
    expect(ran).toEqual([]);
  });

  it('answers a slash command, a mention and a button click while the command behind each is still blocked', async () => {
    await h.sendSlash('offer', { user_id: 'U0ENGINEER', channel_id: 'C0OPS' });
    const offered = await h.slack.waitForCall('chat.postMessage');
    const [go] = buttonsIn(offered);

    const slash = await h.sendSlash('slow via=slash', { user_id: 'U0ENGINEER', channel_id: 'C0OPS' });
    const event = fixture('app-mention.json') as Record<string, unknown> & { event: Record<string, unknown> };
    event.event = { ...event.event, text: '<@U0BOT> slow via=mention', user: 'U0ENGINEER', channel: 'C0OPS' };
    event.event_time = h.nowSeconds();
    const mention = await h.sendEvent(event);
    const clicked = await h.sendInteraction(click(h, go!, 'U0ENGINEER', 'C0OPS', offered).payload);

    // Every request got its answer while every command is still waiting on the gate.
    expect([slash.response.status, mention.status, clicked.status]).toEqual([200, 200, 200]);
    expect(ran).toEqual([]);

    release();
    // Bounded: polls until all three ran (a hang fails the test at jest's timeout).
    while (ran.length < 3) await new Promise((resolve) => setTimeout(resolve, 10));
    expect([...ran].sort()).toEqual(['button', 'mention', 'slash']);
  });
});
