// Public face of the Slack adapter.
export {
  ACTION_PREFIX,
  escapeMrkdwn,
  FORM_CALLBACK_ID,
  type RenderedMessage,
  renderMessage,
  SLACK_LIMITS,
} from './block-kit.js';
export { SlackIncidentRoom, type SlackIncidentRoomOptions } from './incident-room.js';
export { formToModal, submittedLine } from './modal.js';
export { type GuardVerdict, type RecordOutcome, SlackRequestGuard } from './request-guard.js';
export { SeenLedger } from './seen-ledger.js';
export {
  type RouteTarget,
  SLACK_EVENTS_PATH,
  SlackAdapter,
  type SlackAdapterOptions,
  type SlackConfig,
} from './slack-adapter.js';
export { SlackErrorCode, slackFailure } from './slack-errors.js';
export { commandFromMention, decodeSlackText } from './slack-text.js';
