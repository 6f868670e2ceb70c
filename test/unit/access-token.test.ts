import test from 'ava';
import jwt from 'jsonwebtoken';
import { ACCESS_TOKEN_TTL_SECONDS, signAccessToken, verifyAccessToken } from '../../src/auth/access-token.js';
import { AppError } from '../../src/errors.js';

const SECRET = 'unit-test-secret-0123456789abcdef0123456789';
const unauthenticated = (t: import('ava').ExecutionContext, f: () => unknown) => {
  const err = t.throws(f);
  t.true(err instanceof AppError && err.code === 'UNAUTHENTICATED', String(err));
};

test('when a token that verified has since expired, then it is refused', (t) => {
  const token = signAccessToken({ id: 7, role: 'customer' }, SECRET);
  const now = Date.now();
  t.deepEqual(verifyAccessToken(token, SECRET, now), { id: 7, role: 'customer' });
  t.deepEqual(verifyAccessToken(token, SECRET, now + 1000), { id: 7, role: 'customer' }, 'still valid a second later');
  unauthenticated(t, () => verifyAccessToken(token, SECRET, now + (ACCESS_TOKEN_TTL_SECONDS + 5) * 1000));
});

test('when a token verified under one secret is presented to an app with another, then it is refused', (t) => {
  const token = signAccessToken({ id: 8, role: 'admin' }, SECRET);
  t.is(verifyAccessToken(token, SECRET).role, 'admin');
  unauthenticated(t, () => verifyAccessToken(token, `${SECRET}-other`));
});

test('when a verified token is altered (its payload forged, or signed with alg none), then it is refused', (t) => {
  const token = signAccessToken({ id: 9, role: 'customer' }, SECRET);
  verifyAccessToken(token, SECRET);
  const [h, p, s] = token.split('.');
  const forgedPayload = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), role: 'admin' })).toString('base64url');
  unauthenticated(t, () => verifyAccessToken(`${h}.${forgedPayload}.${s}`, SECRET));
  unauthenticated(t, () => verifyAccessToken(jwt.sign({ role: 'admin' }, 'x', { algorithm: 'none' as never, subject: '9' }), SECRET));
});

test('when a token carries a session epoch, then it comes back; a malformed epoch is refused', (t) => {
  t.deepEqual(verifyAccessToken(signAccessToken({ id: 3, role: 'customer', sid: 's1', epoch: 4 }, SECRET), SECRET), {
    id: 3,
    role: 'customer',
    sid: 's1',
    epoch: 4,
  });
  t.deepEqual(verifyAccessToken(signAccessToken({ id: 3, role: 'customer', epoch: 0 }, SECRET), SECRET), { id: 3, role: 'customer' }, 'epoch 0 is no claim');
  for (const ep of [-1, 1.5, '2'])
    unauthenticated(t, () => verifyAccessToken(jwt.sign({ role: 'customer', ep }, SECRET, { algorithm: 'HS256', subject: '3', expiresIn: 60 }), SECRET));
});
