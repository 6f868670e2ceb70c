import { z } from 'zod';
import { isAppError, validationError } from './errors.js';
import { parseMoney } from './money.js';

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

/** A query parameter sent empty (`?q=&limit=`) is a parameter not given: its default applies. */
export function queryParam<S extends z.ZodType>(schema: S) {
  return z.preprocess((v) => (v === '' ? undefined : v), schema);
}

/**
 * An amount in major units ("199.99", 199.99) parsed to integer cents by parseMoney: at most two
 * decimals, 0 to 99,999,999.99. Anything else is a validation issue on the field.
 */
export const moneyInCents = z.union([z.string(), z.number()], { message: 'must be an amount such as 199.99' }).transform((v, ctx) => {
  try {
    return parseMoney(v);
  } catch (err) {
    const detail = isAppError(err) ? err.details?.[0]?.message : undefined;
    ctx.issues.push({ code: 'custom', input: v, message: typeof detail === 'string' ? detail : 'must be an amount such as 199.99' });
    return z.NEVER;
  }
});
