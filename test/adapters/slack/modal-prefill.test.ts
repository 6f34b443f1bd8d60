// A modal is prefilled only with what Slack accepts: a value an alert or an earlier line gave that
// the input would refuse (views.open fails with invalid_arguments) is left out and named beside it.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineCommand, type FormField, reply, silentLogger, systemClock } from '../../../src/core/index.js';
import type { AlertFiring } from '../../../src/incidents/index.js';
import { AlertNotices } from '../../../src/notices/alert-notices.js';
import type { SlackApiCall } from '../../doubles/slack-api.js';
import { checkoutAlertFiring } from '../../helpers/alert-firing.js';
import { ADMIN_ACCESS, fixture, type SlackHarness, startSlackHarness } from './harness.js';

const RUNBOOKS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../runbooks');
const CHANNEL = 'C0CHECKOUT';

interface ModalInput {
  block_id: string;
  hint?: { text: string };
  element: {
    type: string;
    initial_value?: string;
    initial_option?: { value: string };
    max_length?: number;
  };
}

/** Each input of an opened modal: what it starts with, and the hint beside it. */
function inputsOf(opened: SlackApiCall): Record<string, { initial?: string; hint?: string }> {
  const view = opened.args.view as { blocks: Array<ModalInput & { type: string }> };
  return Object.fromEntries(
    view.blocks
      .filter((block) => block.type === 'input')
      .map((input) => {
        const initial = input.element.initial_value ?? input.element.initial_option?.value;
        return [
          input.block_id.replace(/^field\./, ''),
          { ...(initial === undefined ? {} : { initial }), ...(input.hint ? { hint: input.hint.text } : {}) },
        ];
      }),
  );
}

let h: SlackHarness;

beforeEach(async () => {
  h = await startSlackHarness({ access: ADMIN_ACCESS, extraConfig: `runbooks:\n  dir: ${RUNBOOKS}\n` });
});
afterEach(async () => {
  await h.close();
});

function firing(labels: Record<string, string>, annotations: Record<string, string> = {}): AlertFiring {
  return checkoutAlertFiring(CHANNEL, labels, annotations);
}

/** Posts the alert's notice in Slack and clicks its scale-deployment button; resolves with the views.open call. */
async function clickScale(annotations: Record<string, string>): Promise<SlackApiCall> {
  const notices = new AlertNotices({
    notices: h.runtime.services.notices,
    runbooks: h.runtime.services.runbooks,
    actions: h.runtime.services.actions,
    clock: systemClock,
    logger: silentLogger(),
  });
  await notices.firing(firing({ deployment: 'checkout', namespace: 'shop' }, annotations));
  const posted = await h.slack.waitForCall('chat.postMessage', (call) => call.args.channel === CHANNEL);
  const blocks = posted.args.blocks as Array<{
    type: string;
    elements?: Array<{ action_id: string; value: string; text: { text: string } }>;
  }>;
  const button = blocks
    .flatMap((block) => block.elements ?? [])
    .find((element) => element.text?.text?.includes('scale-deployment'));
  expect(button).toBeDefined();
  const payload = fixture('block-actions.json');
  await h.sendInteraction({
    ...payload,
    user: { id: 'U0ONCALL', username: 'oncall', name: 'oncall', team_id: 'T0001' },
    channel: { id: CHANNEL, name: 'checkout' },
    container: {
      type: 'message',
      message_ts: (posted.response as { ts: string }).ts,
      channel_id: CHANNEL,
      is_ephemeral: false,
    },
    trigger_id: h.slack.triggerId(),
    response_url: h.slack.responseUrl('actions'),
    actions: [
      {
        action_id: button!.action_id,
        block_id: 'b1',
        text: { type: 'plain_text', text: button!.text.text, emoji: true },
        value: button!.value,
        type: 'button',
        action_ts: `${h.nowSeconds()}.000100`,
      },
    ],
  });
  return h.slack.waitForCall('views.open');
}

it('opens the form when the alert said replicas=six, leaving it out and saying so beside the field', async () => {
  const opened = await clickScale({ replicas_wanted: 'six' });
  expect(opened.response).toMatchObject({ ok: true });
  const inputs = inputsOf(opened);
  expect(inputs.deployment).toMatchObject({ initial: 'checkout' });
  expect(inputs.namespace).toMatchObject({ initial: 'shop' });
  expect(inputs.replicas?.initial).toBeUndefined();
  expect(inputs.replicas?.hint).toBe(
    'Given replicas=six: must be a whole number, so it is not filled in. how many replicas (2 to 20)',
  );
});

it('leaves out a prefill above the field’s maximum', async () => {
  const opened = await clickScale({ replicas_wanted: '50' });
  expect(opened.response).toMatchObject({ ok: true });
  expect(inputsOf(opened).replicas).toEqual({
    hint: 'Given replicas=50: must be between 2 and 20, so it is not filled in. how many replicas (2 to 20)',
  });
});

it('checks every kind of input the modal builds against what Slack accepts', async () => {
  const fields: FormField[] = [
    { name: 'pods', label: 'Pods', type: 'int', required: true, min: 1, max: 10, default: '2.5' },
    { name: 'count', label: 'Count', type: 'int', required: false, min: 1, max: 10, default: 3 },
    { name: 'floor', label: 'Floor', type: 'int', required: false, min: 1, default: 0 },
    { name: 'weight', label: 'Weight', type: 'number', required: false, min: 0, max: 1, default: '0.25' },
    { name: 'share', label: 'Share', type: 'number', required: false, default: 'half' },
    {
      name: 'service',
      label: 'Service',
      type: 'enum',
      required: true,
      options: ['checkout', 'cart'],
      default: 'payments',
    },
    {
      name: 'tier',
      label: 'Tier',
      type: 'enum',
      required: false,
      options: ['gold', 'silver'],
      default: 'gold',
    },
    { name: 'force', label: 'Force', type: 'bool', required: false, default: 'maybe' },
    { name: 'drain', label: 'Drain', type: 'bool', required: false, default: true },
    {
      name: 'reason',
      label: 'Reason',
      type: 'string',
      required: false,
      maxLength: 10,
      default: 'far too long a reason',
    },
    { name: 'ticket', label: 'Ticket', type: 'string', required: false, maxLength: 10, default: 'OPS-1' },
  ];
  h.register(
    defineCommand({
      name: 'tune',
      summary: 'asks for values in a form',
      examples: ['tune'],
      handler: (ctx) => ({
        ...reply(),
        blocks: [
          {
            type: 'form',
            title: 'Tune',
            submitLabel: 'Tune',
            command: 'tune',
            fields,
            token: ctx.services.actions.sign({ command: 'tune', channel: ctx.channel }),
          },
        ],
      }),
    }),
  );
  await h.sendSlash('tune', { channel_id: 'C0OPS' });
  const opened = await h.slack.waitForCall('views.open');
  expect(opened.response).toMatchObject({ ok: true });
  expect(inputsOf(opened)).toEqual({
    pods: { hint: 'Given pods=2.5: not a whole number, so it is not filled in. (1 to 10)' },
    count: { initial: '3', hint: '(1 to 10)' },
    floor: { hint: 'Given floor=0: below the minimum 1, so it is not filled in. (at least 1)' },
    weight: { initial: '0.25', hint: '(0 to 1)' },
    share: { hint: 'Given share=half: not a number, so it is not filled in.' },
    service: { hint: 'Given service=payments: not one of the choices, so it is not filled in.' },
    tier: { initial: 'gold' },
    force: { hint: 'Given force=maybe: not true or false, so it is not filled in.' },
    drain: { initial: 'true' },
    reason: {
      hint: 'Given reason=far too long a reason: 21 characters, more than the 10 allowed, so it is not filled in.',
    },
    ticket: { initial: 'OPS-1' },
  });
  const view = opened.args.view as { blocks: ModalInput[] };
  expect(view.blocks.find((b) => b.block_id === 'field.ticket')?.element.max_length).toBe(10);
});
