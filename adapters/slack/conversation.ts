// Where the replies of one Slack interaction go: in the channel (chat.postMessage, edited in place with
// chat.update), privately (response_url, else chat.postEphemeral), in a thread for mentions, or a modal.
import type { webApi } from '@slack/bolt';
import {
  asMillwrightError,
  type Clock,
  clip,
  type FormBlock,
  type Logger,
  type MessageHandle,
  type Reply,
  type ReplySink,
} from '../../src/core/index.js';
import { type ChartUpload, escapeMrkdwn, type RenderedMessage, renderMessage } from './block-kit.js';
import { formToModal } from './modal.js';
import type { ResponseUrl, ResponseUrlKind } from './response-url.js';
import { slackErrorOf, slackFailure } from './slack-errors.js';

/** Where an interaction happened and how Slack lets us answer it. */
export interface ConversationPlace {
  channel: string;
  /** The person who asked, clicked or submitted. */
  user: string;
  /** Mentions are answered in their thread. */
  threadTs?: string;
  /**
   * Whether private (ephemeral) replies go in that thread too. Slack hides ephemeral messages in a
   * thread that has no replies yet, so they go to the channel unless the thread is already active.
   */
  privateInThread?: boolean;
  /** A direct message with the app: nobody else can see it, so replies post normally there. */
  directMessage?: boolean;
  responseUrl?: ResponseUrl;
  /** A trigger_id lets a form open as a modal within 3 seconds of the interaction. */
  trigger?: { id: string; receivedAt: Date };
  /** Visibility of replies that do not say (progress of a command run with or without --public). */
  defaultVisibility: 'private' | 'public';
}

export interface ConversationTools {
  web: webApi.WebClient;
  clock: Clock;
  logger: Logger;
  /** Signs a button or form command for this channel and person. */
  sign: (command: string, channel: string, requestedBy: string) => string;
}

/** How long after the interaction a trigger_id is still worth trying (Slack allows 3 s). */
const TRIGGER_FRESH_MS = 2500;
const noop: MessageHandle = { update: async () => {} };

/** What a modal carries in private_metadata, so its submission lands back in the same place. */
export interface FormMetadata {
  /** Signed token of the form's command, bound to `c`. */
  t: string;
  c: string;
  /** The response_url of the interaction that opened the form, and whose it is. */
  r?: string;
  rk?: ResponseUrlKind;
  th?: string;
}

/**
 * The replies of one interaction.
 *
 * @example
 * const conversation = new SlackConversation({ channel, user, responseUrl, defaultVisibility: 'private' }, tools);
 * const reply = await router.handle({ ..., sink: conversation.sink });
 * await conversation.send(reply);
 */
export class SlackConversation {
  /**
   * Where a running command posts progress. Progress is best effort: when Slack refuses it the
   * command carries on (its final answer is delivered, or the person is told why not).
   */
  readonly sink: ReplySink = {
    send: async (reply) => {
      try {
        return this.#bestEffort(await this.send(reply));
      } catch (error) {
        this.#progressFailed(error);
        return noop;
      }
    },
  };
  readonly #place: ConversationPlace;
  readonly #tools: ConversationTools;
  #noticeShown = false;

  constructor(place: ConversationPlace, tools: ConversationTools) {
    this.#place = place;
    this.#tools = tools;
  }

  /** Posts a reply where it belongs; the handle edits it in place where Slack allows. */
  async send(reply: Reply): Promise<MessageHandle> {
    const place = this.#place;
    const visibility = place.directMessage ? 'public' : (reply.visibility ?? place.defaultVisibility);
    const forms = reply.blocks.filter((block): block is FormBlock => block.type === 'form');
    const opened = forms.length > 0 && (await this.#openModal(forms[0]!));
    const rendered = this.#render(reply, visibility === 'public', opened);
    // A modal asking for the missing values says everything the "needs VALUE" error would.
    const onlyAsked = reply.blocks.every((block) => block.type === 'form');
    if (opened && onlyAsked && (reply.ok || reply.error?.code === 'millwright_bad_argument')) return noop;
    const handle =
      visibility === 'public' ? await this.#postPublic(rendered) : await this.#postPrivate(rendered);
    if (rendered.charts.length > 0) await this.#uploadCharts(rendered.charts);
    return handle;
  }

  /** Posts a command's answer; when Slack refuses it, tells the person why in a direct message with the app. */
  async deliver(answer: Reply): Promise<void> {
    const { channel, user } = this.#place;
    const { web, logger } = this.#tools;
    try {
      await this.send(answer);
    } catch (error) {
      const failure = asMillwrightError(error);
      logger.warn(
        { ref: answer.ref, code: failure.code, channel },
        `could not deliver a reply: ${failure.message}`,
      );
      if (!user) return;
      try {
        await web.chat.postMessage({
          channel: user,
          text: `I could not answer you in <#${channel}>: ${escapeMrkdwn(failure.message)}.${failure.hint ? ` ${escapeMrkdwn(failure.hint)}` : ''}${answer.ref ? ` (reference ${answer.ref})` : ''}`,
        });
      } catch (dmError) {
        logger.error(
          { err: dmError, ref: answer.ref },
          'could not tell the person their answer was not delivered',
        );
      }
    }
  }

  /**
   * Posts the "still working" note if `line` is still running after `delayMs` (0: never); the returned
   * function cancels it, waiting for a note already on its way.
   */
  noteWhenSlow(line: string, delayMs: number): () => Promise<void> {
    let note: Promise<void> | undefined;
    const timer =
      delayMs > 0
        ? setTimeout(() => {
            note = this.notice(
              `:hourglass_flowing_sand: Still working on \`${escapeMrkdwn(clip(line, 200))}\`…`,
            );
          }, delayMs)
        : undefined;
    return async () => {
      clearTimeout(timer);
      await note;
    };
  }

  /** A private "still working" note, replaced by the answer when it is private too. */
  async notice(text: string): Promise<void> {
    const url = this.#place.responseUrl;
    // Keep posts for the answer itself and its progress; and only where the answer can replace the note.
    if (!url?.editsOwnReplies || url.remaining < 3) return;
    try {
      await url.post({ response_type: 'ephemeral', text, replace_original: false });
      this.#noticeShown = true;
    } catch (error) {
      this.#tools.logger.info({ err: error }, 'could not post the still-working note');
    }
  }

  /** A handle whose failed edits are logged instead of failing the command that made them. */
  #bestEffort(handle: MessageHandle): MessageHandle {
    return {
      update: (reply) => handle.update(reply).catch((error: unknown) => this.#progressFailed(error)),
    };
  }

  #progressFailed(error: unknown): void {
    const failure = asMillwrightError(error);
    this.#tools.logger.warn(
      { code: failure.code, channel: this.#place.channel },
      `progress could not be shown in Slack; the command carries on: ${failure.message}`,
    );
  }

  #render(reply: Reply, isPublic: boolean, skipForms: boolean): RenderedMessage {
    const { channel, user } = this.#place;
    return renderMessage(reply, {
      signButton: (command) => this.#tools.sign(command, channel, user),
      canUpload: isPublic,
      skipForms,
    });
  }

  async #openModal(form: FormBlock): Promise<boolean> {
    const { trigger, channel, user, responseUrl, threadTs } = this.#place;
    const { web, clock, logger, sign } = this.#tools;
    if (!trigger || clock.now().getTime() - trigger.receivedAt.getTime() > TRIGGER_FRESH_MS) return false;
    // A trigger opens one view; a second form in the same interaction becomes a button.
    this.#place.trigger = undefined;
    const metadata: FormMetadata = {
      t: form.token ?? sign(form.command, channel, user),
      c: channel,
      ...(responseUrl ? { r: responseUrl.url, rk: responseUrl.kind } : {}),
      ...(threadTs ? { th: threadTs } : {}),
    };
    try {
      await web.views.open({ trigger_id: trigger.id, view: formToModal(form, JSON.stringify(metadata)) });
      return true;
    } catch (error) {
      // The form still reaches the person as a button that opens it.
      logger.info({ slackError: slackErrorOf(error) ?? String(error) }, 'could not open the form as a modal');
      return false;
    }
  }

  async #postPublic(rendered: RenderedMessage): Promise<MessageHandle> {
    const { channel, threadTs, responseUrl } = this.#place;
    const { web, logger } = this.#tools;
    try {
      const posted = await web.chat.postMessage({
        channel,
        text: rendered.text,
        blocks: rendered.blocks,
        unfurl_links: false,
        ...(threadTs ? { thread_ts: threadTs } : {}),
      });
      await this.#clearNotice();
      return this.#editable(posted.channel ?? channel, posted.ts!);
    } catch (error) {
      const slackError = slackErrorOf(error);
      const canFallBack = slackError === 'not_in_channel' || slackError === 'channel_not_found';
      if (!canFallBack || !responseUrl?.usable) throw slackFailure(error, channel);
      // Not a member: the slash command's response_url can still post in the channel.
      logger.info({ channel, slackError }, 'not in the channel; answering through response_url');
      await responseUrl.post({
        response_type: 'in_channel',
        text: rendered.text,
        blocks: rendered.blocks,
        replace_original: false,
      });
      await this.#clearNotice();
      return this.#viaResponseUrl('in_channel');
    }
  }

  async #postPrivate(rendered: RenderedMessage): Promise<MessageHandle> {
    const { channel, user, threadTs, privateInThread, responseUrl } = this.#place;
    const { web, logger } = this.#tools;
    if (responseUrl?.usable) {
      try {
        await responseUrl.post({
          response_type: 'ephemeral',
          text: rendered.text,
          blocks: rendered.blocks,
          replace_original: this.#noticeShown && responseUrl.editsOwnReplies,
        });
        this.#noticeShown = false;
        return this.#viaResponseUrl('ephemeral');
      } catch (error) {
        logger.info({ err: error }, 'response_url refused the reply; posting it with chat.postEphemeral');
      }
    }
    try {
      await web.chat.postEphemeral({
        channel,
        user,
        text: rendered.text,
        blocks: rendered.blocks,
        ...(threadTs && privateInThread ? { thread_ts: threadTs } : {}),
      });
    } catch (error) {
      throw slackFailure(error, channel);
    }
    // Ephemeral messages cannot be edited; later progress arrives with the final answer instead.
    return noop;
  }

  /** Removes the private "still working" note once the answer went to the channel. */
  async #clearNotice(): Promise<void> {
    const url = this.#place.responseUrl;
    if (!this.#noticeShown || !url?.usable) return;
    this.#noticeShown = false;
    await url.post({ text: '', delete_original: true }).catch((error: unknown) => {
      this.#tools.logger.debug({ err: error }, 'could not remove the still-working note');
    });
  }

  #editable(channel: string, ts: string): MessageHandle {
    const { web } = this.#tools;
    return serialized(async (reply) => {
      const rendered = this.#render(reply, false, false);
      try {
        await web.chat.update({ channel, ts, text: rendered.text, blocks: rendered.blocks });
      } catch (error) {
        throw slackFailure(error, channel);
      }
    });
  }

  #viaResponseUrl(responseType: 'ephemeral' | 'in_channel'): MessageHandle {
    const url = this.#place.responseUrl!;
    // A button's response_url would edit the message with the button, not this reply: progress
    // is then left as it is, and the final answer arrives as its own reply.
    if (!url.editsOwnReplies) return noop;
    return serialized(async (reply) => {
      // Keep one post for the final answer; progress past that is dropped, the answer is not.
      if (url.remaining < 2) return;
      const rendered = this.#render(reply, false, false);
      await url.post({
        response_type: responseType,
        text: rendered.text,
        blocks: rendered.blocks,
        replace_original: true,
      });
    });
  }

  async #uploadCharts(charts: ChartUpload[]): Promise<void> {
    const { channel, threadTs } = this.#place;
    for (const chart of charts) {
      try {
        const upload = {
          channel_id: channel,
          file: chart.data,
          filename: chart.filename,
          title: chart.alt,
          alt_text: chart.alt,
        };
        await this.#tools.web.filesUploadV2(threadTs ? { ...upload, thread_ts: threadTs } : upload);
      } catch (error) {
        const failure = slackFailure(error, channel);
        this.#tools.logger.warn(
          { code: failure.code, chart: chart.filename },
          `could not upload a chart: ${failure.message}`,
        );
      }
    }
  }
}

/**
 * A handle whose updates run one at a time, in order; an update overtaken by a newer one is skipped,
 * so a fast `--watch` never leaves an older state on screen.
 */
function serialized(apply: (reply: Reply) => Promise<void>): MessageHandle {
  let chain: Promise<void> = Promise.resolve();
  let latest: Reply | undefined;
  return {
    update: (reply) => {
      latest = reply;
      const run = chain.then(() => (latest === reply ? apply(reply) : undefined));
      chain = run.catch(() => {
        // The caller sees this failure through `run`; the chain must keep going.
      });
      return run;
    },
  };
}
