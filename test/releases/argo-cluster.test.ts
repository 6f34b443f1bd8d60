// Which Argo Rollout strategies a release can drive: setWeight + indefinite pause pairs, rising and
// below 100. Everything else is refused in one line that names the step and the fix.
import { pausesOf } from '../../src/releases/argo-cluster.js';

const weight = (setWeight: number) => ({ setWeight });
const hold = { pause: { duration: null } };

it("reads a Rollout's pauses from setWeight + pause: {} pairs", () => {
  expect(pausesOf([weight(5), hold, weight(25), hold, weight(50), hold], 'checkout')).toEqual([5, 25, 50]);
  expect(pausesOf([weight(20), hold], 'checkout')).toEqual([20]);
});

it.each([
  [[], 'its canary has no steps'],
  [
    [weight(20), { pause: { duration: '10m' } }],
    'step 1 pauses for 10m; a release needs pause: {} (it judges the step itself)',
  ],
  [[weight(20), hold, { other: 'analysis' }, hold], 'step 2 is an analysis step, not a setWeight'],
  [[weight(20), weight(40), hold], 'step 1 is setWeight 40, not the pause: {} after setWeight 20'],
  [[weight(20), hold, weight(40)], 'step 3 is missing, not the pause: {} after setWeight 40'],
  [[weight(40), hold, weight(20), hold], 'setWeight 20 at step 2 does not rise from 40 and stay below 100'],
  [[weight(50), hold, weight(100), hold], 'setWeight 100 at step 2 does not rise from 50 and stay below 100'],
  [[hold, weight(20)], 'step 0 is pause: {}, not a setWeight'],
])('refuses %j: %s', (steps, why) => {
  expect(() => pausesOf(steps, 'checkout')).toThrow(
    `rollout checkout cannot be released by Millwright: ${why}`,
  );
});
