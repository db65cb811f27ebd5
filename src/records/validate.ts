/** @module records/validate — turns a zod failure into one readable line naming the field. */
import type { z } from 'zod';

/** `most_positive_activation_records[3].activations[7]: must be a finite number` style summary of the first issue. */
export function describeZodError(error: z.ZodError, pathPrefix: string[] = []): { location: string; reason: string } {
  const issue = error.issues[0];
  if (!issue) return { location: pathPrefix.join('.'), reason: 'invalid value' };
  const parts = [...pathPrefix];
  for (const key of issue.path) {
    if (typeof key === 'number') parts.push(`[${key}]`);
    else parts.push(`.${String(key)}`);
  }
  const location = parts.join('').replace(/^\./, '');
  return { location, reason: issue.message };
}
