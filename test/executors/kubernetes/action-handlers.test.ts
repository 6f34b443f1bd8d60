// Every action the kubernetes executor declares has a handler, and every handler is declared: a
// mismatch is refused when the executor is built, never found later as an action that does nothing.

import { isMillwrightError } from '../../../src/core/errors.js';
import { checkActionHandlers } from '../../../src/executors/action-handlers.js';
import { KUBERNETES_ACTION_HANDLERS } from '../../../src/executors/kubernetes/executor.js';
import { DEFAULT_SCALE_BOUNDS, kubernetesActions } from '../../../src/executors/kubernetes/metadata.js';

const declared = kubernetesActions(DEFAULT_SCALE_BOUNDS);

function refusal(work: () => void) {
  try {
    work();
  } catch (error) {
    if (isMillwrightError(error)) return error;
    throw error;
  }
  throw new Error('expected a registration error');
}

describe('kubernetes action handlers', () => {
  it('has exactly one handler per declared action', () => {
    expect(Object.keys(KUBERNETES_ACTION_HANDLERS).sort()).toEqual(Object.keys(declared).sort());
    expect(() => checkActionHandlers('kubernetes', declared, KUBERNETES_ACTION_HANDLERS)).not.toThrow();
  });

  it('refuses an action declared in the metadata with no handler, naming it', () => {
    const { logs: _logs, ...handlers } = KUBERNETES_ACTION_HANDLERS;
    const error = refusal(() => checkActionHandlers('kubernetes', declared, handlers));
    expect(error).toMatchObject({
      code: 'millwright_config_invalid',
      message: 'executor "kubernetes" declares action "logs" in its metadata but has no handler for it',
    });
    expect(error.hint).toContain('needs a handler of the same name');
  });

  it('refuses a handler that no action in the metadata declares, naming it', () => {
    const handlers = { ...KUBERNETES_ACTION_HANDLERS, drain: KUBERNETES_ACTION_HANDLERS.restart };
    const error = refusal(() => checkActionHandlers('kubernetes', declared, handlers));
    expect(error).toMatchObject({
      code: 'millwright_config_invalid',
      message: 'executor "kubernetes" has a handler for action "drain" that its metadata does not declare',
    });
  });

  it('refuses a declared action whose handler is not a function', () => {
    const handlers = { ...KUBERNETES_ACTION_HANDLERS, scale: undefined };
    const error = refusal(() => checkActionHandlers('kubernetes', declared, handlers));
    expect(error.message).toBe(
      'executor "kubernetes" declares action "scale" in its metadata but has no handler for it',
    );
  });
});
