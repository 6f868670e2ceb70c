/**
 * FreshRead (src/db/fresh-read.ts): concurrent callers share a read, but a caller is never
 * answered by a read that started before it asked.
 */
import test from 'ava';
import { FreshRead } from '../../src/db/fresh-read.js';

/** A load whose every call waits until the test settles it; `calls` counts them. */
function controlledLoad() {
  const pending: { resolve: (v: string) => void; reject: (e: Error) => void }[] = [];
  return {
    calls: () => pending.length,
    load: () => new Promise<string>((resolve, reject) => pending.push({ resolve, reject })),
    settle: (n: number, value: string) => pending[n].resolve(value),
    fail: (n: number, err: Error) => pending[n].reject(err),
  };
}

const tick = () => new Promise((r) => setImmediate(r));

test('when a caller asks while a read is in flight, then it gets the next read, which starts after the one in flight, never that one', async (t) => {
  const c = controlledLoad();
  const reads = new FreshRead(c.load);
  const first = reads.read();
  const second = reads.read(); // asked after read 0 started: must not be answered by it
  t.is(c.calls(), 1);
  c.settle(0, 'before the change');
  t.is(await first, 'before the change');
  await tick();
  t.is(c.calls(), 2, 'the queued read starts once the one in flight settled');
  c.settle(1, 'after the change');
  t.is(await second, 'after the change');
});

test('when many callers ask while a read is in flight, then they all share one queued read', async (t) => {
  const c = controlledLoad();
  const reads = new FreshRead(c.load);
  const first = reads.read();
  const later = Array.from({ length: 10 }, () => reads.read());
  c.settle(0, 'r0');
  await first;
  await tick();
  t.is(c.calls(), 2);
  c.settle(1, 'r1');
  t.deepEqual(await Promise.all(later), Array(10).fill('r1'));
});

test('when nothing is in flight, then a caller starts a read of its own at once', async (t) => {
  const c = controlledLoad();
  const reads = new FreshRead(c.load);
  const a = reads.read();
  c.settle(0, 'r0');
  t.is(await a, 'r0');
  await tick();
  const b = reads.read();
  t.is(c.calls(), 2);
  c.settle(1, 'r1');
  t.is(await b, 'r1');
});

test('when a read fails, then its callers get the error and the queued callers still get a read of their own', async (t) => {
  const c = controlledLoad();
  const reads = new FreshRead(c.load);
  const a = reads.read();
  const b = reads.read();
  c.fail(0, new Error('database unavailable'));
  await t.throwsAsync(a, { message: 'database unavailable' });
  await tick();
  c.settle(1, 'r1');
  t.is(await b, 'r1');
});
