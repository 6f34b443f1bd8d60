// The one check both stores make of a record they hold (the embedded store at open, PostgreSQL on
// every read): an object, keyed by its own id, passing its collection's schema.
import type { ZodType } from 'zod';
import type { StoredRecord } from './store.js';

/**
 * What is wrong with a stored record, or undefined: not an object, an id that is not its key, or the
 * first field its collection's schema refuses. Never the value (records may hold secrets).
 */
export function recordProblem(record: unknown, id: string, schema: ZodType | undefined): string | undefined {
  if (record === null || typeof record !== 'object' || Array.isArray(record)) return 'is not an object';
  if ((record as StoredRecord).id !== id) return 'has an id field that does not match its key';
  const parsed = schema?.safeParse(record);
  if (parsed === undefined || parsed.success) return undefined;
  const issue = parsed.error.issues[0];
  const field = issue?.path.map(String).join('.') || 'the record';
  return `${field}: ${issue?.code === 'invalid_type' ? `expected ${issue.expected}` : (issue?.message ?? 'invalid')}`;
}
