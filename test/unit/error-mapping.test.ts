import test from 'ava';
import { toAppError } from '../../src/http/middleware/error-handler.js';

test('when a write still ends in a MariaDB deadlock after its retries, then the client gets 409 CONFLICT (retry), never a 500', (t) => {
  for (const code of ['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT']) {
    const err = Object.assign(new Error('Deadlock found when trying to get lock'), { code });
    t.is(toAppError(err)?.code, 'CONFLICT', code);
  }
});

test('when the database cannot be reached, then the client gets 503 SERVICE_UNAVAILABLE', (t) => {
  t.is(toAppError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))?.code, 'SERVICE_UNAVAILABLE');
});

test('when an unknown error is thrown, then it is not mapped (the handler answers 500 INTERNAL with the request id only)', (t) => {
  t.is(toAppError(new Error('boom')), undefined);
});
