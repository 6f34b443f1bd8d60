// Conversation references kept in the store (collection `teams_conversations`) when Millwright is
// installed or first spoken to, so digests and incident notices can post without a user message.
import type { Activity, ConversationReference } from 'botbuilder';
import { ErrorCode, MillwrightError } from '../../src/core/index.js';
import type { Store, StoredRecord } from '../../src/store/index.js';

export const CONVERSATIONS = 'teams_conversations';

export interface StoredConversation extends StoredRecord {
  /** The conversation id without `;messageid=`: a channel, a group chat or a personal chat. */
  id: string;
  kind: 'personal' | 'groupChat' | 'channel';
  teamId?: string;
  channelId?: string;
  tenantId?: string;
  /** For personal chats: whose chat it is (AAD object id). */
  userAadObjectId?: string;
  name?: string;
  /** Enough to start a new message there; no activity id, so a channel post starts a new thread. */
  reference: Partial<ConversationReference>;
  updatedAt: string;
}

/** `19:abc@thread.tacv2;messageid=123` is a thread in channel `19:abc@thread.tacv2`. */
export function baseConversationId(id: string): string {
  return id.split(';messageid=')[0] ?? id;
}

/** The id access control and button tokens see: the Teams channel id, or the chat's conversation id. */
export function routerChannel(activity: Partial<Activity>): string {
  const channelData = activity.channelData as { channel?: { id?: string } } | undefined;
  return channelData?.channel?.id ?? baseConversationId(activity.conversation?.id ?? 'unknown');
}

/**
 * Remembers where Millwright may post, and finds it again by the ids an SRE has at hand.
 *
 * @example
 * await conversations.remember(context.activity);
 * const target = await conversations.find('19:ops@thread.tacv2');
 */
export class ConversationDirectory {
  constructor(
    private readonly store: Store,
    private readonly now: () => Date,
  ) {}

  /** Stores or refreshes the conversation an activity came from; cheap when nothing changed. */
  async remember(activity: Partial<Activity>): Promise<void> {
    const conversation = activity.conversation;
    if (!conversation?.id || !activity.serviceUrl) return;
    const id = baseConversationId(conversation.id);
    const channelData = (activity.channelData ?? {}) as {
      team?: { id?: string; name?: string };
      channel?: { id?: string; name?: string };
      tenant?: { id?: string };
    };
    const kind =
      conversation.conversationType === 'channel'
        ? 'channel'
        : conversation.conversationType === 'personal'
          ? 'personal'
          : 'groupChat';
    const existing = await this.store.get<StoredConversation>(CONVERSATIONS, id);
    if (existing && existing.reference.serviceUrl === activity.serviceUrl) return;
    const tenantId = channelData.tenant?.id ?? conversation.tenantId;
    const record: StoredConversation = {
      id,
      kind,
      ...(channelData.team?.id ? { teamId: channelData.team.id } : {}),
      ...(channelData.channel?.id ? { channelId: channelData.channel.id } : {}),
      ...(tenantId ? { tenantId } : {}),
      ...(kind === 'personal' && activity.from?.aadObjectId
        ? { userAadObjectId: activity.from.aadObjectId }
        : {}),
      ...(channelData.team?.name || conversation.name
        ? { name: channelData.team?.name ?? conversation.name }
        : {}),
      reference: {
        channelId: activity.channelId ?? 'msteams',
        serviceUrl: activity.serviceUrl,
        ...(activity.recipient ? { bot: { id: activity.recipient.id, name: activity.recipient.name } } : {}),
        conversation: {
          id,
          isGroup: kind !== 'personal',
          conversationType: conversation.conversationType,
          ...(tenantId ? { tenantId } : {}),
          name: conversation.name ?? '',
        },
      },
      updatedAt: this.now().toISOString(),
    };
    await this.store.put(CONVERSATIONS, record);
  }

  /** Forgets a conversation Millwright was removed from. */
  async forget(activity: Partial<Activity>): Promise<void> {
    if (activity.conversation?.id)
      await this.store.delete(CONVERSATIONS, baseConversationId(activity.conversation.id));
  }

  /**
   * Finds a stored conversation by its id, a channel id, or `user:<aad object id>` for a personal chat.
   * Throws a one-line error with a hint when Millwright has never been there.
   */
  async find(target: string): Promise<StoredConversation> {
    const direct = await this.store.get<StoredConversation>(CONVERSATIONS, baseConversationId(target));
    if (direct) return direct;
    const user = target.startsWith('user:') ? target.slice('user:'.length) : undefined;
    const [match] = await this.store.list<StoredConversation>(CONVERSATIONS, (record) =>
      user ? record.userAadObjectId === user : record.channelId === target,
    );
    if (match) return match;
    throw new MillwrightError(ErrorCode.NotFound, `Millwright has no Teams conversation "${target}"`, {
      hint: 'install the app in that team or chat (or mention Millwright there once); targets are a channel or chat id, or user:<AAD object id>',
    });
  }
}
