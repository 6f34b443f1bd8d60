// A count meets its noun in the right number, wherever deploys and rollout steps name pods' restarts.
import { counted } from '../../src/core/index.js';
import { describeTroubles } from '../../src/upstreams/kubernetes/rollout-verdict.js';

test('one is singular, every other count plural', () => {
  expect([0, 1, 2, 17].map((n) => counted(n, 'restart'))).toEqual([
    '0 restarts',
    '1 restart',
    '2 restarts',
    '17 restarts',
  ]);
  expect(counted(1, 'old replica is', 'old replicas are')).toBe('1 old replica is');
  expect(counted(3, 'old replica is', 'old replicas are')).toBe('3 old replicas are');
});

test('a failing pod that restarted once reads "(1 restart)"', () => {
  const trouble = {
    pod: 'cart-6d9f7c8b5d-m4q9z',
    revision: 4,
    reason: 'CrashLoopBackOff',
    isNew: true,
    message: null,
  };
  expect(
    describeTroubles([
      { ...trouble, restarts: 1 },
      { ...trouble, pod: 'cart-6d9f7c8b5d-x7k2p', restarts: 9 },
    ]),
  ).toBe(
    'pod cart-6d9f7c8b5d-m4q9z CrashLoopBackOff (1 restart), pod cart-6d9f7c8b5d-x7k2p CrashLoopBackOff (9 restarts)',
  );
});
