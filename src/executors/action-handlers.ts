// An executor's action handlers checked against the actions its metadata declares, when it is built:
// an action offered with no code behind it, or code no metadata describes, stops start-up.
import { ErrorCode, MillwrightError } from '../core/errors.js';

/**
 * Throws `millwright_config_invalid` naming the first action that is declared without a handler, or
 * handled without being declared.
 *
 * @example
 * checkActionHandlers('kubernetes', metadata.actions, { restart: runRestart, scale: runScale });
 */
export function checkActionHandlers(
  executor: string,
  declared: Readonly<Record<string, unknown>>,
  handlers: Readonly<Record<string, unknown>>,
): void {
  const hint = `every action in executor "${executor}"'s metadata needs a handler of the same name, and every handler an entry in the metadata`;
  for (const action of Object.keys(declared)) {
    if (!Object.hasOwn(handlers, action) || typeof handlers[action] !== 'function') {
      throw new MillwrightError(
        ErrorCode.ConfigInvalid,
        `executor "${executor}" declares action "${action}" in its metadata but has no handler for it`,
        { hint },
      );
    }
  }
  for (const action of Object.keys(handlers)) {
    if (!Object.hasOwn(declared, action)) {
      throw new MillwrightError(
        ErrorCode.ConfigInvalid,
        `executor "${executor}" has a handler for action "${action}" that its metadata does not declare`,
        { hint },
      );
    }
  }
}
