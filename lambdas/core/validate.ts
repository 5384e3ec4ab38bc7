import type { z } from 'zod';
import { InvalidInputError } from './rotationErrors.js';

/** Parses `value` with `schema`, or throws {@link InvalidInputError} listing every issue with its path (never values). */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new InvalidInputError(
    what,
    result.error.issues.map(
      (issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`,
    ),
  );
}
