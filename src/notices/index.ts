// Public face of notices: the module that posts domain events, and the renderers behind it.
export { type AlertNoticeOptions, AlertNotices, resolvedNotice } from './alert-notices.js';
export { breakGlassNotice } from './break-glass-notices.js';
export { changeNotice, changeTransitionNotice, verificationFailedNotice } from './change-notices.js';
export { postIncidentBrief } from './incident-notices.js';
export { noticesModule } from './module.js';
export { type FailureLog, postNotice } from './post.js';
export {
  currentShare,
  lastVerdict,
  ReleaseNotices,
  releaseBlocks,
  stepsLine,
} from './release-notices.js';
