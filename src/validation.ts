import type { z } from 'zod';
import { validationError } from './errors.js';

/** Parses input with a zod schema, or throws VALIDATION_FAILED with `[{path, message}]` details. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, what = 'input'): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const details = result.error.issues.map((i) => ({
    path: i.path.map(String).join('.') || what,
    message: i.message,
  }));
  const first = details[0];
  const message = first.path && first.path !== what ? `${first.path}: ${first.message}` : first.message;
  throw validationError(`Invalid ${what}: ${message}`, details);
}
