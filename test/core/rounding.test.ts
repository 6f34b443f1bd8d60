// Numbers and ages an on-call engineer reads: three significant digits (never more than 0.5% off),
// and ages in two adjacent units, so a skipped middle unit never reads like the wrong number.
import { formatDuration } from '../../src/core/duration.js';
import { formatWhen } from '../../src/core/time.js';
import { burnState, formatBurn, formatBurnAgainst, formatPercent } from '../../src/slo/burn-rate.js';
import type { BurnRule } from '../../src/slo/spec.js';

const burn = (value: number) => formatBurn({ kind: 'value', value });

it('burn rates keep three significant digits', () => {
  expect(burn(0.4764)).toBe('0.476×');
  expect(burn(14.44)).toBe('14.4×');
  expect(burn(1234.5)).toBe('1230×');
  expect(burn(0)).toBe('0×');
  for (const value of [0.4764, 0.00123456, 3.0517, 27.35, 999.4, 1e5 + 321]) {
    const shown = Number(burn(value).replace('×', ''));
    expect(Math.abs(shown - value) / value).toBeLessThanOrEqual(0.005);
  }
});

it('percentages keep at least three significant digits', () => {
  expect(formatPercent(0.0504)).toBe('5.04%');
  expect(formatPercent(0.004764)).toBe('0.476%');
  expect(formatPercent(0.361)).toBe('36.1%');
  expect(formatPercent(0.5)).toBe('50%');
  expect(formatPercent(0)).toBe('0%');
  expect(formatPercent(-0.125)).toBe('-12.5%');
});

it('a burn rate next to its threshold shows the digits that make the comparison true', () => {
  expect(formatBurnAgainst(14.42, 14.4)).toBe('14.42×');
  expect(formatBurnAgainst(1.0004, 1)).toBe('1.0004×');
  expect(formatBurnAgainst(200, 14.4)).toBe('200×');
  const rule: BurnRule = { severity: 'page', long: '1h', short: '5m', factor: 14.4 };
  const value = (v: number) => ({ kind: 'value' as const, value: v });
  const state = burnState(
    new Map([
      ['1h', value(14.42)],
      ['5m', value(14.4001)],
    ]),
    [rule],
  );
  expect(state.reason).toBe('1h 14.42× and 5m 14.4001× both above 14.4×');
});

it('float noise in the budget reads as none, not 2.22e-14%', () => {
  expect(formatPercent(2.220446049250313e-16)).toBe('0%');
  expect(formatPercent(-2.220446049250313e-16)).toBe('0%');
  expect(formatPercent(0.0004)).toBe('0.04%');
});

it('durations and ages show the largest unit and the next one, never skipping one', () => {
  const s = 1000;
  expect(formatDuration((10 * 3600 + 19) * s)).toBe('10h');
  expect(formatDuration((86_400 + 25) * s)).toBe('1d');
  expect(formatDuration((2 * 3600 + 5 * 60) * s)).toBe('2h5m');
  expect(formatDuration((86_400 + 2 * 3600 + 59) * s)).toBe('1d2h');
  expect(formatDuration(90 * s)).toBe('1m30s');
  expect(formatDuration(45 * s)).toBe('45s');
  expect(formatDuration(250)).toBe('250ms');
  const now = new Date('2026-11-26T23:00:19Z');
  expect(formatWhen(new Date('2026-11-26T13:00:00Z'), now)).toBe('10h ago (2026-11-26 13:00 UTC)');
});
