// What a form may show as a prefilled value, decided once for every surface, and text cut to a limit
// without splitting a character.
import { describe, expect, it } from '@jest/globals';
import { clip, type FormField, prefillNote, prefillProblem, prefillRefusal } from '../../src/core/index.js';

const replicas: FormField = {
  name: 'replicas',
  label: 'Replicas',
  type: 'int',
  required: true,
  min: 1,
  max: 20,
};

describe('prefillProblem', () => {
  it.each([
    ['six', 'not a whole number'],
    ['2.5', 'not a whole number'],
    ['+3', 'not a whole number'],
    ['0', 'below the minimum 1'],
    ['21', 'above the maximum 20'],
    ['1', undefined],
    ['20', undefined],
  ])('a whole number field given %s: %s', (value, problem) => {
    expect(prefillProblem(replicas, value)).toBe(problem);
  });

  it('refuses a whole number a number input cannot show as it is', () => {
    const unbounded: FormField = { name: 'n', label: 'N', type: 'int', required: false };
    expect(prefillProblem(unbounded, '12345678901234567891')).toBe('too large for a number input');
    expect(prefillProblem(unbounded, `1${'0'.repeat(400)}`)).toBe('too large for a number input');
    expect(prefillProblem(unbounded, String(Number.MAX_SAFE_INTEGER))).toBeUndefined();
  });

  it('checks choices, switches and lengths', () => {
    const env: FormField = {
      name: 'env',
      label: 'Env',
      type: 'enum',
      required: true,
      options: ['prod', 'staging'],
    };
    expect(prefillProblem(env, 'Staging')).toBe('not one of the choices');
    expect(prefillProblem(env, 'staging')).toBeUndefined();
    const wait: FormField = { name: 'wait', label: 'Wait', type: 'bool', required: false };
    expect(prefillProblem(wait, 'maybe')).toBe('not true or false');
    const note: FormField = { name: 'note', label: 'Note', type: 'string', required: false, maxLength: 5 };
    expect(prefillProblem(note, 'toolong')).toBe('7 characters, more than the 5 allowed');
  });

  it("prefers the command's own reason, and says nothing when there is no prefill", () => {
    expect(prefillRefusal({ ...replicas, default: '7', defaultProblem: 'must not be 7' })).toBe(
      'must not be 7',
    );
    expect(prefillRefusal({ ...replicas, default: 'six' })).toBe('not a whole number');
    expect(prefillRefusal(replicas)).toBeUndefined();
  });

  it('names the value given, cut to 40 characters', () => {
    expect(prefillNote({ ...replicas, default: 'six' }, 'not a whole number')).toBe(
      'Given replicas=six: not a whole number, so it is not filled in.',
    );
    expect(prefillNote({ ...replicas, default: 'x'.repeat(60) }, 'too long')).toBe(
      `Given replicas=${'x'.repeat(39)}…: too long, so it is not filled in.`,
    );
  });
});

describe('clip', () => {
  it('keeps short text and cuts long text with an ellipsis', () => {
    expect(clip('restart', 10)).toBe('restart');
    expect(clip('restart-deployment', 10)).toBe('restart-d…');
  });

  it('never cuts an emoji in half', () => {
    // The emoji's two halves sit at positions 8 and 9; a cut after 9 characters would split it.
    const clipped = clip('12345678🚀abc', 10);
    expect(clipped).toBe('12345678…');
    // No lone half of a surrogate pair is left behind.
    expect(clipped).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
  });
});
