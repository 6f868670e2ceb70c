/**
 * Validated query strings (src/http/query-memo.ts). What it must never do: answer a query string
 * with anything but what parsing that same string gave, keep one that failed to parse, or let a
 * caller change what the next one gets.
 */
import test from 'ava';
import { QueryMemo } from '../../src/http/query-memo.js';

function counting<T>(parse: (raw: string) => T) {
  const calls: string[] = [];
  return {
    calls,
    parse: (raw: string) => () => {
      calls.push(raw);
      return parse(raw);
    },
  };
}

test('a query string is parsed once, and answered with what its own parse gave', (t) => {
  const memo = new QueryMemo<{ raw: string }>();
  const p = counting((raw) => ({ raw }));
  const a = memo.get('limit=1', p.parse('limit=1'));
  t.is(memo.get('limit=1', p.parse('limit=1')), a);
  t.deepEqual(memo.get('limit=2', p.parse('limit=2')), { raw: 'limit=2' });
  t.deepEqual(p.calls, ['limit=1', 'limit=2']);
});

test('a query string whose parse failed is never kept: it fails every time', (t) => {
  const memo = new QueryMemo<{ ok: true }>();
  let calls = 0;
  const bad = () => {
    calls++;
    throw new Error('invalid');
  };
  t.throws(() => memo.get('limit=abc', bad));
  t.throws(() => memo.get('limit=abc', bad));
  t.is(calls, 2);
  t.is(memo.size, 0);
});

test('what is kept is frozen: a caller cannot change what the next one gets', (t) => {
  const memo = new QueryMemo<{ limit: number }>();
  const value = memo.get('limit=1', () => ({ limit: 1 }));
  t.throws(() => {
    (value as { limit: number }).limit = 2;
  });
  t.is(memo.get('limit=1', () => ({ limit: 99 })).limit, 1);
});

test('bounded: the oldest query string goes first, and a long one is parsed every time', (t) => {
  const memo = new QueryMemo<{ raw: string }>(2, 10);
  const p = counting((raw) => ({ raw }));
  for (const raw of ['a=1', 'a=2', 'a=3', 'a=1']) memo.get(raw, p.parse(raw));
  t.deepEqual(p.calls, ['a=1', 'a=2', 'a=3', 'a=1'], 'a=1 was dropped for a=3, so parsed again');
  t.is(memo.size, 2);
  const long = `q=${'x'.repeat(20)}`;
  memo.get(long, p.parse(long));
  memo.get(long, p.parse(long));
  t.is(p.calls.filter((c) => c === long).length, 2);
  t.is(memo.size, 2);
});
