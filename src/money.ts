import { validationError } from './errors.js';

/** Largest accepted price: 99,999,999.99 in major units. */
export const MAX_CENTS = 9_999_999_999;

const DECIMAL = /^(?:\d+|\d{1,3}(?:,\d{3})+)(?:\.(\d{1,2}))?$/;

/**
 * Parses a price given as a decimal string ("1,299.99", "199.9", "$15") or a number (199.99)
 * into integer cents. Rejects negatives, more than two decimals, NaN and out-of-range values.
 */
export function parseMoney(input: string | number, field = 'price'): number {
  let text: string;
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) throw validationError(`${field} must be a number.`, [{ path: field, message: 'not a finite number' }]);
    // Numbers reach us as JSON or CLI values; go through the shortest decimal representation.
    text = String(input);
    if (/e/i.test(text)) throw validationError(`${field} is out of range.`, [{ path: field, message: 'out of range' }]);
  } else if (typeof input === 'string') {
    text = input.trim().replace(/^\$/, '');
  } else {
    throw validationError(`${field} must be a decimal amount.`, [{ path: field, message: 'expected a decimal amount' }]);
  }
  if (text.startsWith('-')) {
    throw validationError(`${field} cannot be negative.`, [{ path: field, message: 'must not be negative' }]);
  }
  const m = DECIMAL.exec(text);
  if (!m) {
    throw validationError(`${field} must be an amount with at most two decimals, like 1299.99.`, [
      { path: field, message: 'expected an amount with at most two decimals' },
    ]);
  }
  const [whole, frac = ''] = text.replace(/,/g, '').split('.');
  const cents = Number(whole) * 100 + Number(frac.padEnd(2, '0'));
  if (!Number.isSafeInteger(cents) || cents > MAX_CENTS) {
    throw validationError(`${field} must be between 0 and 99,999,999.99.`, [{ path: field, message: 'out of range' }]);
  }
  return cents;
}

/** Cents as a JSON number in major units (at most two decimals). */
export function centsToNumber(cents: number): number {
  return Math.round(cents) / 100;
}

const formatters = new Map<string, Intl.NumberFormat>();

/** Cents for people: `$1,299.99`. */
export function formatMoney(cents: number, currency = 'usd'): string {
  const key = currency.toUpperCase();
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.NumberFormat('en-US', { style: 'currency', currency: key });
    formatters.set(key, f);
  }
  return f.format(cents / 100);
}
