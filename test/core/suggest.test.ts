import { nearest } from '../../src/core/index.js';

describe('suggestions for typos', () => {
  const verbs = ['help', 'whoami', 'audit', 'runbook', 'deploys', 'budget', 'change', 'incident', 'digest'];
  it.each([
    ['budgte', 'budget'],
    ['deploy', 'deploys'],
    ['runbok', 'runbook'],
    ['hlep', 'help'],
    ['inc', 'incident'],
  ])('%s suggests %s', (typo, expected) => {
    expect(nearest(typo, verbs)).toBe(expected);
  });
  it('suggests nothing for something unrelated', () => {
    expect(nearest('kubectl', verbs)).toBeUndefined();
  });
});
