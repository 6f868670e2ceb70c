import test from 'ava';
import { AppError } from '../../src/errors.js';
import { centsToNumber, formatMoney, MAX_CENTS, parseMoney } from '../../src/money.js';

const accepted: Array<[string | number, number]> = [
  ['1,299.99', 129999],
  ['199.9', 19990],
  [199.99, 19999],
  ['0', 0],
  [0, 0],
  ['$15', 1500],
  [' 12.05 ', 1205],
  ['1,000,000', 100000000],
  ['99,999,999.99', MAX_CENTS],
  [99999999.99, MAX_CENTS],
  [0.1, 10],
];

for (const [input, cents] of accepted) {
  test(`when parseMoney is given ${JSON.stringify(input)}, then it returns ${cents} cents`, (t) => {
    t.is(parseMoney(input), cents);
  });
}

const rejected: Array<string | number> = [
  '12.345',
  '-1',
  -1,
  -0.01,
  NaN,
  Infinity,
  -Infinity,
  '1,29.00',
  '12,34',
  'abc',
  '',
  '   ',
  '1.',
  '.5',
  '1e3',
  1e21,
  '100000000.00',
  100000000,
  '99999999999999999999',
  12.345,
];

for (const input of rejected) {
  test(`when parseMoney is given ${typeof input === 'string' ? JSON.stringify(input) : String(input)}, then it throws VALIDATION_FAILED`, (t) => {
    const err = t.throws(() => parseMoney(input), { instanceOf: AppError });
    t.is(err?.code, 'VALIDATION_FAILED');
    t.is(err?.kind, 'invalid');
  });
}

test('when parseMoney gets something that is neither a string nor a number, then it throws VALIDATION_FAILED', (t) => {
  for (const input of [null, undefined, {}, [], true]) {
    const err = t.throws(() => parseMoney(input as unknown as string), { instanceOf: AppError });
    t.is(err?.code, 'VALIDATION_FAILED');
  }
});

test('when parseMoney rejects a value, then the error names the field it was given', (t) => {
  const err = t.throws(() => parseMoney('1.234', 'unit_price'), { instanceOf: AppError });
  t.is(err?.details?.[0]?.path, 'unit_price');
  t.regex(err?.message ?? '', /unit_price/);
});

test('when formatMoney is given 129999 cents, then it shows "$1,299.99"', (t) => {
  t.is(formatMoney(129999), '$1,299.99');
});

test('when formatMoney is given whole and zero amounts, then it always shows two decimals', (t) => {
  t.is(formatMoney(1500), '$15.00');
  t.is(formatMoney(0), '$0.00');
  t.is(formatMoney(5), '$0.05');
});

test('when formatMoney is given another currency, then it uses that currency', (t) => {
  t.is(formatMoney(129999, 'eur'), '€1,299.99');
});

test('when centsToNumber is given cents, then it returns major units with at most two decimals', (t) => {
  t.is(centsToNumber(129999), 1299.99);
  t.is(centsToNumber(19990), 199.9);
  t.is(centsToNumber(1500), 15);
  t.is(centsToNumber(0), 0);
  t.is(centsToNumber(1), 0.01);
  t.is(centsToNumber(MAX_CENTS), 99999999.99);
});

test('when a price goes through parseMoney and back through centsToNumber, then it is unchanged', (t) => {
  for (const price of [0.01, 0.29, 1.1, 19.99, 199.99, 1299.99, 4567.89, 99999999.99]) {
    t.is(centsToNumber(parseMoney(price)), price);
  }
});
