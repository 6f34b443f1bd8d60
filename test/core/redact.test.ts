// Token shapes in free text are replaced wherever they appear, and text without one comes back as is.
import fc from 'fast-check';
import { REDACTED, redactText, SECRET_SHAPES } from '../../src/core/redact.js';

/** Every pattern applied in turn, with no shortcut: what redactText must always equal. */
function everyPattern(value: string): string {
  let out = value;
  for (const { pattern } of SECRET_SHAPES) out = out.replace(pattern, REDACTED);
  return out;
}

const TOKENS = [
  'xoxb-1234567890-abcdefghij',
  'xapp-1-A0123456789-abcdef',
  'https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX',
  'ghp_abcdefghijklmnopqrstuvwxyz012345',
  'github_pat_11ABCDEFG0123456789_abcdefghij',
  'Bearer abc.def-ghi_jkl',
  'bearer ABCDEFGHIJKLMNOP',
  'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl',
  'AKIAABCDEFGHIJKLMNOP',
  'abc8Q~abcdefghijklmnopqrstuvwxyz0123456',
  '-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----',
];

describe('redactText', () => {
  it.each(TOKENS)('replaces %s inside a sentence', (token) => {
    const out = redactText(`deploy failed: ${token} was rejected`);
    expect(out).toContain(REDACTED);
    expect(out).not.toContain(token);
  });

  it('returns ordinary text unchanged', () => {
    for (const text of [
      'checkout 99.9% 30d',
      'ghost_service restarted',
      'Bearer',
      'a1b2c3d4e5f6 rev 9f3c2a1',
    ]) {
      expect(redactText(text)).toBe(text);
    }
  });

  it('answers exactly as applying every pattern would, for text with and without tokens', () => {
    const piece = fc.oneof(
      fc.string(),
      fc.constantFrom(...TOKENS),
      fc.constantFrom('gh', 'xo', 'x', 'Q~', 'eyJ'),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 6 }), (pieces) => {
        const text = pieces.join(' ');
        expect(redactText(text)).toBe(everyPattern(text));
      }),
      { numRuns: 2000 },
    );
  });
});
