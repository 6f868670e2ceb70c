import test from 'ava';
import { startApp, type TestApp } from '../helpers/app.js';

let app: TestApp;
test.before(async () => {
  app = await startApp();
});
test.after.always(async () => {
  await app?.close();
});

test('when the database answers, then health is 200 ok with the version', async (t) => {
  const res = await app.client().get('/api/health');
  t.is(res.status, 200);
  t.is(res.body.status, 'ok');
  t.is(res.body.db, 'ok');
  t.regex(res.body.version, /^\d+\.\d+\.\d+/);
  t.truthy(res.headers.get('x-request-id'));
});

test('when a path is unknown, then the answer is a 404 NOT_FOUND error body', async (t) => {
  const res = await app.client().get('/api/nope');
  t.is(res.status, 404);
  t.is(res.body.error.code, 'NOT_FOUND');
});
