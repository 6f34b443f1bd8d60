// Field schemas every config section shares: text, secrets that may be empty, URLs, durations, ports, switches.
import { z } from 'zod';
import { isDuration } from '../core/duration.js';
import { lazySchema } from '../core/lazy-schema.js';

export const text = lazySchema(() => z.string().min(1, { error: 'must not be empty' }));
/** Optional text where empty (`key:`, or `${VAR:-}` with VAR unset) means "not set", the usual way to switch a secret off. */
export const optionalText = lazySchema(() =>
  z.preprocess((value) => (value === '' || value === null ? undefined : value), text.optional()),
);
export const httpUrl = lazySchema(() =>
  z.url({
    protocol: /^https?$/,
    error: 'expected an http(s) URL like https://host/path',
  }),
);
export const duration = lazySchema(() =>
  z.string().refine(isDuration, { error: 'expected a duration like 10s, 5m or 1h30m' }),
);

// An interpolated scalar is always a string (`port: ${PORT}` gives "8080"), so fields that want a
// number or a switch also take its string form.
const portMessage = 'expected a whole number between 0 and 65535';
export const port = lazySchema(() =>
  z.preprocess(
    (value) => (typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value),
    z.int({ error: portMessage }).min(0, { error: portMessage }).max(65535, { error: portMessage }),
  ),
);
/** A whole number of at least 1 (a count or a cap), also in its string form. */
export const positiveCount = lazySchema(() =>
  z.preprocess(
    (value) => (typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value),
    z
      .int({ error: 'expected a whole number of at least 1' })
      .min(1, { error: 'expected a whole number of at least 1' }),
  ),
);
export const flag = lazySchema(() =>
  z.preprocess(
    (value) => (value === 'true' ? true : value === 'false' ? false : value),
    z.boolean({ error: 'expected true or false' }),
  ),
);
