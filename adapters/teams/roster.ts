// Who clicked or typed in Teams: the AAD object id the router checks, and the name a card shows
// (the UPN from the team roster when it answers, looked up once an hour; else the display name).
import { type Activity, type CloudAdapter, type ConversationReference, TeamsInfo } from 'botbuilder';
import type { Clock, CommandRequest, Logger } from '../../src/core/index.js';

/** Runs one roster read through the Bot Connector's shared policy (its retries and circuit). */
export type ConnectorRead = (reference: ConversationReference, read: () => Promise<void>) => Promise<void>;

const NAME_CACHE_MS = 3600_000;

/** Who clicked or typed, as the router and the card see them. */
export interface Speaker {
  actor: CommandRequest['actor'];
  /** How the card names them. */
  shown: string;
}

/** The name an activity carries for its sender, for when the roster has none. */
export function displayName(activity: Activity): string {
  return activity.from?.name || activity.from?.aadObjectId || activity.from?.id || 'someone';
}

interface RosterOptions {
  cloud: CloudAdapter;
  appId: string;
  clock: Clock;
  logger: Logger;
  read: ConnectorRead;
}

/**
 * Names the people behind activities.
 *
 * @example
 * const { actor, shown } = await roster.speaker(turn.activity, reference);
 */
export class Roster {
  readonly #names = new Map<string, { name: string; at: number }>();
  readonly #options: RosterOptions;

  constructor(options: RosterOptions) {
    this.#options = options;
  }

  /** The actor: AAD object id, named by UPN when the roster has it (asked only with a reference). */
  async speaker(activity: Activity, reference?: ConversationReference): Promise<Speaker> {
    const { clock } = this.#options;
    const from = activity.from;
    const id = from?.aadObjectId ?? from?.id ?? 'unknown';
    const cached = this.#names.get(id);
    let name = cached && clock.now().getTime() - cached.at < NAME_CACHE_MS ? cached.name : undefined;
    if (name === undefined && reference && from?.id) {
      name = await this.#lookUpName(reference, from.id);
      if (name) this.#names.set(id, { name, at: clock.now().getTime() });
    }
    const shown = name ?? displayName(activity);
    return { actor: { id, ...(shown ? { name: shown } : {}) }, shown };
  }

  async #lookUpName(reference: ConversationReference, userId: string): Promise<string | undefined> {
    const { cloud, appId, logger, read } = this.#options;
    try {
      let upn: string | undefined;
      await read(reference, () =>
        cloud.continueConversationAsync(appId, reference, async (turn) => {
          upn = (await TeamsInfo.getMember(turn, userId)).userPrincipalName;
        }),
      );
      return upn;
    } catch (error) {
      // The display name from the activity is good enough to go on with.
      logger.debug({ err: error }, 'teams: roster lookup failed');
      return undefined;
    }
  }
}
