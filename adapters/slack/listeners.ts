// What the Slack surface does with each kind of request Bolt hands it: slash commands, mentions,
// direct messages, button clicks and form submissions, each acknowledged first and answered after.
import type {
  App,
  BlockAction,
  ButtonAction,
  SlackOptionsMiddlewareArgs,
  SlashCommand,
  types,
  ViewSubmitAction,
  webApi,
} from '@slack/bolt';
import {
  type CheckedInteraction,
  checkInteraction,
  clip,
  ErrorCode,
  errorReply,
  formatAbsolute,
  type InteractionActor,
  type InteractionRequest,
  type InteractionSurface,
  type Logger,
  type MillwrightError,
  newRef,
  parseDuration,
  type Reply,
  reply,
  runChecked,
  runInteraction,
  type SpentUse,
  text,
  type UpstreamResilience,
} from '../../src/core/index.js';
import { type AfterAck, recordedOf } from './after-ack.js';
import { ACTION_PREFIX, FORM_CALLBACK_ID } from './block-kit.js';
import { type ConversationPlace, type FormMetadata, SlackConversation } from './conversation.js';
import { eventsOnce } from './event-retries.js';
import { FIELD_PREFIX, fieldBlockId, type SubmittedValue, submittedValues } from './modal.js';
import type { SlackAdapterOptions } from './options.js';
import type { RecordOutcome } from './request-guard.js';
import { ResponseUrl, type ResponseUrlKind } from './response-url.js';
import type { SeenLedger } from './seen-ledger.js';
import { asksForPublic, commandFromMention, decodeSlackText } from './slack-text.js';
import { spentBlocks } from './spent-button.js';
import type { SlackUserGroups } from './user-groups.js';
import type { SlackUserNames } from './user-names.js';

/** Retried events come within minutes; one older than this cannot be told apart from a replay. */
export const EVENT_WINDOW_SECONDS = 3600;

/** What the listeners need of the adapter that built them. */
export interface SlackListenerParts {
  options: SlackAdapterOptions;
  web: webApi.WebClient;
  log: Logger;
  afterAck: AfterAck;
  events: SeenLedger;
  groups: SlackUserGroups;
  names: SlackUserNames;
  fetch: typeof fetch;
  upstreams: UpstreamResilience;
  /** slack.timeout, parsed once at start: a response_url is made before every click's acknowledgement. */
  timeoutMs: number;
  /** The bot's own user id once auth.test answered (a mention of it is stripped from the command). */
  botUserId: () => string | undefined;
}

/**
 * The Slack surface's listeners.
 *
 * @example
 * const listeners = new SlackListeners({ options, web, log, afterAck, events, groups, names, fetch, upstreams, timeoutMs, botUserId });
 * listeners.register(app);
 */
export class SlackListeners {
  readonly #options: SlackAdapterOptions;
  readonly #web: webApi.WebClient;
  readonly #log: Logger;
  readonly #afterAck: AfterAck;
  readonly #events: SeenLedger;
  readonly #groups: SlackUserGroups;
  readonly #names: SlackUserNames;
  readonly #fetch: typeof fetch;
  readonly #upstreams: UpstreamResilience;
  readonly #timeoutMs: number;
  readonly #botUserId: () => string | undefined;

  constructor(parts: SlackListenerParts) {
    this.#options = parts.options;
    this.#web = parts.web;
    this.#log = parts.log;
    this.#afterAck = parts.afterAck;
    this.#events = parts.events;
    this.#groups = parts.groups;
    this.#names = parts.names;
    this.#fetch = parts.fetch;
    this.#upstreams = parts.upstreams;
    this.#timeoutMs = parts.timeoutMs;
    this.#botUserId = parts.botUserId;
  }

  /** Registers the listeners on Bolt's app. */
  register(app: App): void {
    const { config, clock } = this.#options;
    app.error(async (error) => {
      this.#log.error({ err: error }, 'a Slack listener failed');
    });

    // Slack retries an event it did not see acknowledged in time; the retry must not run twice. On the
    // event listeners only: slash commands, clicks and forms carry no event_id and need no extra step.
    const once = eventsOnce(this.#events, { clock, logger: this.#log, windowSeconds: EVENT_WINDOW_SECONDS });

    app.command(config.command, async ({ command, ack, context }) => {
      await ack();
      const receivedAt = clock.now();
      this.#afterAck.run('slash command', () => this.#onSlashCommand(command, receivedAt), {
        recorded: recordedOf(context),
        tell: (text) =>
          this.#responseUrl(command.response_url, receivedAt, 'command').post({
            response_type: 'ephemeral',
            text,
          }),
      });
    });

    // Mentions and direct messages share one listener: Bolt runs every listener's chain for every
    // request, so each one it need not run keeps the acknowledgements of a burst quick.
    app.event(/^(app_mention|message)$/, once, async ({ event, context }) => {
      const said = event as {
        type: string;
        channel_type?: string;
        subtype?: string;
        bot_id?: string;
        user?: string;
        text?: string;
        channel: string;
        ts: string;
        thread_ts?: string;
      };
      const user = said.user;
      if (!user) return;
      if (said.type === 'app_mention') {
        this.#afterAck.run(
          'mention',
          () =>
            this.#runAndAnswer(
              {
                channel: said.channel,
                user,
                threadTs: said.thread_ts ?? said.ts,
                privateInThread: said.thread_ts !== undefined,
              },
              commandFromMention(said.text ?? '', this.#botUserId()),
              { id: user },
            ),
          { recorded: recordedOf(context) },
        );
        return;
      }
      // Only people writing to the app directly; channel messages arrive as mentions instead.
      if (said.channel_type !== 'im' || said.subtype !== undefined || said.bot_id) return;
      this.#afterAck.run(
        'direct message',
        () =>
          this.#runAndAnswer(
            { channel: said.channel, user, directMessage: true },
            commandFromMention(said.text ?? '', this.#botUserId()),
            { id: user },
          ),
        { recorded: recordedOf(context) },
      );
    });

    app.action<BlockAction<ButtonAction>>(
      { action_id: new RegExp(`^${ACTION_PREFIX.replace('.', '\\.')}`) },
      async ({ ack, body, action, context }) => {
        await ack();
        const receivedAt = clock.now();
        this.#afterAck.run('button', () => this.#onButton(body, action, receivedAt), {
          recorded: recordedOf(context),
          ...(body.response_url
            ? {
                tell: (text: string) =>
                  this.#responseUrl(body.response_url!, receivedAt, 'interaction').post({
                    response_type: 'ephemeral',
                    text,
                    replace_original: false,
                  }),
              }
            : {}),
        });
      },
    );

    // Millwright's menus list their choices, so Slack has no reason to ask for options (an external
    // select's block_suggestion). One that comes anyway (a hand-edited app) gets an empty list at once,
    // not Bolt's 404 after three seconds.
    const noOptions = async ({ ack, body }: SlackOptionsMiddlewareArgs) => {
      this.#log.debug({ type: body.type }, 'answered an options request with no options');
      await ack({ options: [] });
    };
    // No constraint: Block Kit's external selects name an action_id, legacy dialogs and message menus
    // a callback_id, and every one of them gets the same answer.
    app.options({}, noOptions);

    // Acknowledged within the listener, before the replay record, the token's spend or the command:
    // Slack closes the modal at once, and the answer follows as a message.
    app.view<ViewSubmitAction>(FORM_CALLBACK_ID, async ({ ack, body, view, context }) => {
      await this.#onFormSubmitted(body, view, ack, recordedOf(context));
    });
  }

  async #onSlashCommand(command: SlashCommand, receivedAt: Date): Promise<void> {
    const text = decodeSlackText(command.text ?? '').trim() || 'help';
    await this.#runAndAnswer(
      {
        channel: command.channel_id,
        user: command.user_id,
        responseUrl: this.#responseUrl(command.response_url, receivedAt, 'command'),
        ...(command.trigger_id ? { trigger: { id: command.trigger_id, receivedAt } } : {}),
      },
      text,
      { id: command.user_id, ...(command.user_name ? { name: command.user_name } : {}) },
      { stillWorkingNote: true },
    );
  }

  async #onButton(body: BlockAction<ButtonAction>, action: ButtonAction, receivedAt: Date): Promise<void> {
    const channel = body.channel?.id ?? body.container?.channel_id;
    const user = body.user.id;
    if (!channel) {
      this.#log.warn({ actionId: action.action_id }, 'a button click came without a channel; ignored');
      return;
    }
    const where = {
      channel,
      user,
      ...(body.response_url
        ? { responseUrl: this.#responseUrl(body.response_url, receivedAt, 'interaction') }
        : {}),
      ...(body.trigger_id ? { trigger: { id: body.trigger_id, receivedAt } } : {}),
      ...(body.message?.thread_ts ? { threadTs: body.message.thread_ts, privateInThread: true } : {}),
    };
    const answerIn = this.#answerPlace(where);
    await this.#interaction(
      {
        channel,
        token: action.value ?? '',
        actor: { id: user, ...(body.user.username ? { name: body.user.username } : {}) },
      },
      {
        refuse: async (failure) => {
          this.#log.warn({ user, channel, reason: failure.message }, 'refused a button click');
          const conversation = this.conversation({ ...where, defaultVisibility: 'private' });
          await conversation.deliver(errorReply(failure, newRef()));
        },
        sink: (line) => answerIn(line).sink,
        deliver: async (answer, line, spent) => {
          if (spent) await this.#retireButton(body, action, { line, spent, ok: answer.ok });
          await answerIn(line).deliver(answer);
        },
      },
    );
  }

  /**
   * Redraws the message holding a spent button without it, saying who used it and when: chat.update
   * for a message in the channel, the click's response_url for an ephemeral one (the only way to
   * edit it). Best effort: the decision stands even when the message cannot be edited.
   */
  async #retireButton(
    body: BlockAction<ButtonAction>,
    action: ButtonAction,
    use: { line: string; spent: SpentUse; ok: boolean },
  ): Promise<void> {
    const message = body.message as { ts: string; text?: string; blocks?: types.KnownBlock[] } | undefined;
    const channel = body.channel?.id ?? (body.container?.channel_id as string | undefined);
    const blocks = spentBlocks(
      message?.blocks,
      { actionId: action.action_id, blockId: action.block_id },
      { line: use.line, user: body.user.id, at: formatAbsolute(use.spent.at), ok: use.ok },
    );
    const text = message?.text ?? `${use.line} by ${use.spent.by}`;
    try {
      if (message?.ts && channel && body.container?.is_ephemeral !== true) {
        await this.#web.chat.update({ channel, ts: message.ts, text, blocks });
      } else if (body.response_url) {
        await this.#responseUrl(body.response_url, this.#options.clock.now(), 'interaction').post({
          replace_original: true,
          text,
          blocks,
        });
      }
    } catch (error) {
      this.#log.warn(
        { err: error, channel, ts: message?.ts },
        'could not take a used button off its message; a later click is still refused',
      );
    }
  }

  /**
   * A modal submission: only checks of microseconds (the token, the form's command line, secrets typed
   * into it, its arguments) come before the acknowledgement, so a refusal shows beside its field in the open modal;
   * spending the token, running and answering come after it, as a message where the form was opened.
   */
  async #onFormSubmitted(
    body: ViewSubmitAction,
    view: ViewSubmitAction['view'],
    ack: (response?: FormResponse) => Promise<void>,
    recorded: Promise<RecordOutcome> | undefined,
  ): Promise<void> {
    const receivedAt = this.#options.clock.now();
    const user = body.user.id;
    const metadata = formMetadata(view.private_metadata);
    if (!metadata) {
      this.#log.warn({ user }, 'refused a form submission whose metadata is not a form of ours');
      // Without the metadata there is no channel to answer in: say it in the modal itself.
      return ack(errorsBeside(view, undefined, DAMAGED) ?? damagedModal());
    }
    const check = checkInteraction(
      {
        channel: metadata.c,
        token: metadata.t,
        form: submittedValues(
          view.blocks,
          view.state.values as Record<string, Record<string, SubmittedValue>>,
        ),
      },
      this.#options,
    );
    if (!check.ok) {
      const { refused } = check;
      if (!check.checked) this.#log.warn({ user, reason: refused.message }, 'refused a form submission');
      const errors = errorsBeside(view, fieldOf(refused), inFormText(refused));
      if (errors) return ack(errors);
    }
    await ack();
    const place = () => this.#formPlace(metadata, user, receivedAt);
    const gate = {
      recorded,
      tell: (line: string) =>
        place()
          .privately()
          .deliver(reply(text(line))),
    };
    const { checked } = check;
    if (checked && (check.ok || check.refused.code !== ErrorCode.SecretDetected)) {
      // A value refused with no field to show it beside runs anyway: the router refuses it again and
      // says so as a message.
      const actor = { id: user, ...(body.user.name ? { name: body.user.name } : {}) };
      this.#afterAck.run('form', () => this.#runForm(metadata, actor, checked, receivedAt), gate);
    } else if (!check.ok) {
      // A refusal with no field to show it beside: the modal has closed, so it is told as a message.
      const refusal = errorReply(check.refused, newRef());
      this.#afterAck.run('form', () => place().privately().deliver(refusal), gate);
    }
  }

  /** Runs a checked form submission after its acknowledgement and answers where the form was opened. */
  #runForm(
    metadata: FormMetadata,
    actor: { id: string; name?: string },
    checked: CheckedInteraction,
    receivedAt: Date,
  ): Promise<void> {
    const { answerIn, privately } = this.#formPlace(metadata, actor.id, receivedAt);
    return runChecked(
      { surface: 'slack', channel: metadata.c, token: metadata.t, actor: () => this.#asker(actor) },
      this.#options,
      {
        // The modal is closed by now: a refusal (a token someone already used) is told as a message.
        refuse: async (failure) => {
          this.#log.warn({ user: actor.id, reason: failure.message }, 'refused a form submission');
          await privately().deliver(errorReply(failure, newRef()));
        },
        sink: (line) => answerIn(line).sink,
        deliver: (answer, line) => answerIn(line).deliver(answer),
      },
      checked,
    );
  }

  /** Where a form's answer goes: the channel, thread and response_url of the interaction that opened it. */
  #formPlace(
    metadata: FormMetadata,
    user: string,
    receivedAt: Date,
  ): { answerIn: (line: string) => SlackConversation; privately: () => SlackConversation } {
    const where = {
      channel: metadata.c,
      user,
      ...(metadata.r
        ? { responseUrl: this.#responseUrl(metadata.r, receivedAt, metadata.rk ?? 'interaction') }
        : {}),
      ...(metadata.th ? { threadTs: metadata.th, privateInThread: true } : {}),
    };
    return {
      answerIn: this.#answerPlace(where),
      privately: () => this.conversation({ ...where, defaultVisibility: 'private' }),
    };
  }

  /** Runs a click or form through the shared flow as the Slack user, with their user groups. */
  #interaction(
    request: Omit<InteractionRequest, 'surface' | 'actor'> & { actor: { id: string; name?: string } },
    surface: InteractionSurface,
  ): Promise<void> {
    const { actor } = request;
    return runInteraction(
      {
        ...request,
        surface: 'slack',
        actor: () => this.#asker(actor),
      },
      this.#options,
      surface,
    );
  }

  /**
   * The person as Slack shows them (users.info: the same name whether they typed a slash command or
   * mentioned the app), with their Slack user groups and the groups Slack could not list for them.
   */
  async #asker(actor: { id: string; name?: string }): Promise<InteractionActor> {
    const [{ groups, unread }, name] = await Promise.all([
      this.#groups.membershipOf(actor.id),
      this.#names.nameOf(actor.id),
    ]);
    return { ...actor, ...(name ? { name } : {}), groups, ...(unread ? { unreadGroups: unread } : {}) };
  }

  /** The conversation a command answers in, made once its line is known (`--public` answers in the channel). */
  #answerPlace(where: Omit<ConversationPlace, 'defaultVisibility'>): (line: string) => SlackConversation {
    let conversation: SlackConversation | undefined;
    return (line) =>
      (conversation ??= this.conversation({
        ...where,
        defaultVisibility: asksForPublic(line) ? 'public' : 'private',
      }));
  }

  /** Runs a typed command as `actor` and answers in `where`; a slow slash command gets a "still working" note. */
  async #runAndAnswer(
    where: Omit<ConversationPlace, 'defaultVisibility'>,
    text: string,
    actor: { id: string; name?: string },
    options: { stillWorkingNote?: boolean } = {},
  ): Promise<void> {
    const line = text || 'help';
    const conversation = this.#answerPlace(where)(line);
    const asker = await this.#asker(actor);
    const delayMs = options.stillWorkingNote ? parseDuration(this.#options.config.stillWorkingAfter) : 0;
    const stopNote = conversation.noteWhenSlow(line, delayMs);
    let answer: Reply;
    try {
      answer = await this.#options.handle({
        actor: asker,
        surface: 'slack',
        channel: where.channel,
        text: line,
        sink: conversation.sink,
      });
    } finally {
      await stopNote();
    }
    await conversation.deliver(answer);
  }

  /** A conversation in `place`: where a command's answer, a notice or a form goes. */
  conversation(place: ConversationPlace): SlackConversation {
    const { clock } = this.#options;
    return new SlackConversation(place, {
      web: this.#web,
      clock,
      logger: this.#log,
      sign: (command, channel, requestedBy) =>
        this.#options.services.actions.sign({ command, channel, ...(requestedBy ? { requestedBy } : {}) }),
    });
  }

  #responseUrl(url: string, receivedAt: Date, kind: ResponseUrlKind): ResponseUrl {
    return new ResponseUrl(url, receivedAt, {
      kind,
      fetch: this.#fetch,
      clock: this.#options.clock,
      timeoutMs: this.#timeoutMs,
      policyFor: (origin) =>
        this.#upstreams.policy({
          kind: 'slack',
          target: origin,
          name: `Slack's response_url at ${origin}`,
        }),
    });
  }
}

/**
 * Slack's answer to a modal submission that shows `message` beside the field named (a `field.` block),
 * or beside the form's first field; undefined when the form has no field to show it beside.
 */
function errorsBeside(
  view: ViewSubmitAction['view'],
  field: string | undefined,
  message: string,
): FormResponse | undefined {
  const named = field === undefined ? undefined : fieldBlockId(field);
  let blockId: string | undefined;
  for (const block of view.blocks) {
    const id = block.block_id;
    if (id === undefined || !id.startsWith(FIELD_PREFIX)) continue;
    if (id === named) {
      blockId = id;
      break;
    }
    blockId ??= id;
  }
  return blockId === undefined
    ? undefined
    : { response_action: 'errors', errors: { [blockId]: clip(message, 300) } };
}

/** What a modal submission can be answered with: errors beside fields, or the modal replaced. */
type FormResponse =
  | { response_action: 'errors'; errors: Record<string, string> }
  | { response_action: 'update'; view: types.ModalView };

const DAMAGED = 'This form is damaged; run the command again.';

/** The form's private_metadata as Millwright wrote it (its token and channel), or undefined. */
function formMetadata(raw: string): FormMetadata | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { t, c } = parsed as Partial<Record<keyof FormMetadata, unknown>>;
  return typeof t === 'string' && typeof c === 'string' ? (parsed as FormMetadata) : undefined;
}

/** The modal a damaged form is replaced with, when it has no field to show the line beside. */
function damagedModal(): FormResponse {
  return {
    response_action: 'update',
    view: {
      type: 'modal',
      title: { type: 'plain_text', text: 'Millwright' },
      close: { type: 'plain_text', text: 'Close' },
      blocks: [{ type: 'section', text: { type: 'plain_text', text: DAMAGED } }],
    },
  };
}

/** The field a refusal names (a value's check, a secret typed into it), if any. */
function fieldOf(refused: { details?: Record<string, unknown> }): string | undefined {
  const field = refused.details?.field;
  return typeof field === 'string' ? field : undefined;
}

/** What an open form shows for a refusal before its acknowledgement. */
function inFormText(refused: MillwrightError): string {
  if (refused.code === ErrorCode.BadArgument) {
    return refused.hint ? `${refused.message} (${refused.hint})` : refused.message;
  }
  if (refused.code === ErrorCode.PermissionDenied || refused.code === ErrorCode.SecretDetected) {
    return [refused.message, refused.hint].filter(Boolean).join('; ');
  }
  return DAMAGED;
}
