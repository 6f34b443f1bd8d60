// The one chat message per release: posted when it starts and edited in place on every move, with
// the steps, the share the canary has, the last verdict with its numbers, Promote / Abort buttons
// (signed, single-use, the clicker's permission checked again) and a chart of canary vs stable per
// step. A chart that cannot be drawn leaves a line instead; it never holds the release up.
import type { ActionSigner } from '../core/action-token.js';
import type { Clock } from '../core/clock.js';
import { asMillwrightError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { MessageHandle } from '../core/messages.js';
import { type ActionsBlock, type Block, context, fields, header, type Reply, text } from '../core/reply.js';
import type { Notices } from '../core/surfaces.js';
import { formatWhen } from '../core/time.js';
import type { ReleaseRecord } from '../releases/controller.js';
import type { ReleaseChanged } from '../releases/events.js';

const STATES: Record<ReleaseRecord['plan']['state'], string> = {
  running: 'running',
  paused: 'PAUSED',
  promoting: 'promoting to 100%',
  promoted: 'promoted',
  aborted: 'ABORTED',
};

/** The share the canary has now, in percent (what the last set-canary reached). */
export function currentShare(release: ReleaseRecord): number {
  if (release.plan.state === 'promoted') return 100;
  if (release.plan.state === 'aborted') return 0;
  const reached = [...release.history].reverse().find((entry) => entry.share !== undefined)?.share;
  return reached ?? 0;
}

/** `5% ✔ · 25% ◀ · 50% · 100%`: where the release is among its steps. */
export function stepsLine(release: ReleaseRecord): string {
  const { plan } = release;
  return plan.steps
    .map((share, i) => {
      if (plan.state === 'promoted') return `${share}% ✔`;
      if (i < plan.step) return `${share}% ✔`;
      if (i === plan.step) return plan.state === 'aborted' ? `${share}% ✘` : `${share}% ◀`;
      return `${share}%`;
    })
    .join(' · ');
}

/** The last verdict with its numbers, or undefined before the first. */
export function lastVerdict(release: ReleaseRecord) {
  return [...release.history].reverse().find((entry) => entry.verdict)?.verdict;
}

/**
 * The blocks that show a release: headline, facts, steps, the last verdict and why it is paused or
 * over. Shared by the chat message and `release status`.
 */
export function releaseBlocks(release: ReleaseRecord, now: Date): Block[] {
  const verdict = lastVerdict(release);
  const blocks: Block[] = [
    header(`${release.id} ${release.service} → ${release.image}: ${STATES[release.plan.state]}`),
    fields({
      service: release.service,
      image: release.image,
      'canary share': `${currentShare(release)}%`,
      step: `${Math.min(release.plan.step + 1, release.plan.steps.length)} of ${release.plan.steps.length}`,
      interval: `${Math.round(release.intervalMs / 60_000)}m`,
      ...(release.changeId ? { change: release.changeId } : {}),
      requested: `${release.requester}, ${formatWhen(new Date(release.createdAt), now)}`,
    }),
    text(`*Steps:* ${stepsLine(release)}`),
  ];
  if (release.plan.because) blocks.push(text(`*Why ${release.plan.state}:* ${release.plan.because}`));
  if (release.trouble) {
    const { action, attempts, message, at } = release.trouble;
    blocks.push(
      text(
        `*Stuck:* ${action} failed ${attempts === 1 ? 'once' : `${attempts} times`} (last ${formatWhen(new Date(at), now)}): ${message}`,
      ),
    );
  }
  if (verdict) blocks.push(text(`*Last verdict: ${verdict.decision}* — ${verdict.reason}`));
  return blocks;
}

export interface ReleaseNoticeOptions {
  notices: Notices;
  actions: ActionSigner;
  clock: Clock;
  logger: Logger;
  /** Draws the chart as an image URL; undefined before any verdict. Throws when it cannot draw. */
  chart: (release: ReleaseRecord) => Promise<string | undefined>;
}

/** Keeps one message per release and edits it on every `release.changed`. */
export class ReleaseNotices {
  // Posted messages by release id (until a restart: a release resumed after one gets a new message).
  readonly #posted = new Map<string, MessageHandle>();
  // One update at a time per release, in the order the moves happened.
  readonly #queues = new Map<string, Promise<void>>();
  // The last chart drawn per release, with how many verdicts it shows: drawn again only when one is added.
  readonly #charts = new Map<string, { verdicts: number; url?: string; failure?: string }>();

  constructor(private readonly options: ReleaseNoticeOptions) {}

  changed(event: ReleaseChanged): Promise<void> {
    const id = event.release.id;
    const next = (this.#queues.get(id) ?? Promise.resolve()).then(() => this.#tell(event));
    const settled = next.catch((error: unknown) => {
      this.options.logger.error({ err: error, release: id }, 'release message could not be posted');
    });
    this.#queues.set(id, settled);
    return settled;
  }

  async render(release: ReleaseRecord): Promise<Reply> {
    const blocks = releaseBlocks(release, this.options.clock.now());
    const channel = release.channel;
    const over = release.plan.state === 'promoted' || release.plan.state === 'aborted';
    if (!over && channel) {
      const button = (id: 'promote' | 'abort', label: string, command: string) => ({
        id,
        label,
        command,
        ...(id === 'promote' ? { style: 'primary' as const } : { style: 'danger' as const }),
        token: this.options.actions.sign({ command, channel }),
      });
      const buttons: ActionsBlock = {
        type: 'actions',
        actions: [
          ...(release.plan.state === 'running'
            ? [button('promote', 'Promote', `release promote ${release.id}`)]
            : []),
          button('abort', 'Abort', `release abort ${release.id} reason="aborted from the release message"`),
        ],
      };
      blocks.push(buttons);
    }
    const chart = await this.#chart(release);
    if (chart.url)
      blocks.push({ type: 'image', url: chart.url, alt: `${release.id}: canary vs stable per step` });
    else if (chart.failure) blocks.push(context(`chart not drawn: ${chart.failure}`));
    blocks.push(context(`release status ${release.id} has every step`));
    return { ok: true, visibility: 'public', blocks };
  }

  async #tell(event: ReleaseChanged): Promise<void> {
    const { release } = event;
    if (!this.options.notices.available || !release.channel) return;
    const message = await this.render(release);
    const handle = this.#posted.get(release.id);
    if (handle) await handle.update(message);
    else this.#posted.set(release.id, await this.options.notices.post(release.channel, message));
    const over = release.plan.state === 'promoted' || release.plan.state === 'aborted';
    if (!over) return;
    this.#posted.delete(release.id);
    this.#charts.delete(release.id);
    if (event.owners) {
      const outcome =
        release.plan.state === 'promoted'
          ? `${release.id} promoted ${release.image} on ${release.service}`
          : `${release.id} of ${release.service} was aborted: ${release.plan.because ?? ''}; the stable keeps serving`;
      await this.options.notices.post(event.owners, {
        ok: true,
        visibility: 'public',
        blocks: [header(outcome), context(`release status ${release.id} has every step`)],
      });
    }
  }

  async #chart(release: ReleaseRecord): Promise<{ url?: string; failure?: string }> {
    const verdicts = release.history.filter((entry) => entry.verdict?.slis?.length).length;
    const cached = this.#charts.get(release.id);
    if (cached && cached.verdicts === verdicts) return cached;
    let drawn: { verdicts: number; url?: string; failure?: string };
    try {
      const url = await this.options.chart(release);
      drawn = { verdicts, ...(url ? { url } : {}) };
    } catch (error) {
      drawn = { verdicts, failure: asMillwrightError(error).message };
    }
    this.#charts.set(release.id, drawn);
    return drawn;
  }
}
