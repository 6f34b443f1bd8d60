import { parseDuration } from '../../src/config/index.js';
import { ErrorCode } from '../../src/core/errors.js';

test.each([
  ['250ms', 250],
  ['10s', 10_000],
  ['5m', 300_000],
  ['1h30m', 5_400_000],
  ['28d', 28 * 86_400_000],
  ['2w', 14 * 86_400_000],
])('parseDuration(%s) is %d ms', (text, ms) => {
  expect(parseDuration(text)).toBe(ms);
});

test.each(['', '10', 'ten seconds', '1.5h', '-5m', '5 m', '5y'])(
  'parseDuration(%j) says how to write one',
  (text) => {
    expect(() => parseDuration(text)).toThrow(expect.objectContaining({ code: ErrorCode.BadArgument }));
    expect(() => parseDuration(text)).toThrow(`invalid duration "${text}"`);
  },
);
