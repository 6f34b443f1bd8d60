// Public face of the Teams surface: the adapter main mounts, and the card renderer tests and
// later features can reuse.
export {
  ACTION_VERB,
  type AdaptiveCard,
  CARD_CONTENT_TYPE,
  type CardActionData,
  type CardElement,
  FORM_VERB,
  inputId,
  renderCard,
} from './adaptive-card.js';
export { PUBLIC_CLOUD, type ResolvedTeamsAuth, resolveTeamsAuth, type TeamsConfig } from './bot-auth.js';
export { CARDS } from './card-ledger.js';
export { formCommand, readSubmission } from './card-submission.js';
export { ChannelAuthError, ChannelTokenValidator } from './channel-token.js';
export { commandText } from './command-text.js';
export { CONVERSATIONS, type StoredConversation } from './conversations.js';
export {
  MESSAGES_ROUTE,
  TeamsAdapter,
  type TeamsAdapterOptions,
  type TeamsIO,
} from './teams-adapter.js';
