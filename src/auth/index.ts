export {
  AccessControl,
  type AccessDecision,
  type AccessSpec,
  patternCovers,
  type RoleSpec,
  type Subject,
} from './access-control.js';
export { type ActionPayload, ActionSigner, signAction, verifyAction } from './action-token.js';
