export { type ActionPayload, ActionSigner, signAction, verifyAction } from '../core/action-token.js';
export {
  AccessControl,
  type AccessDecision,
  type AccessSpec,
  patternCovers,
  type RoleSpec,
  type Subject,
} from './access-control.js';
export { IMPERSONATE, type ShellIdentity, shellIdentity } from './impersonation.js';
export { SPENT_ACTIONS, StoreSpentActions } from './spent-actions.js';
