import test from 'ava';
import { isAppError } from '../../src/errors.js';
import { assertMove, canMove, invalidTransition, movesInto, ORDER_MOVES } from '../../src/orders/order-states.js';
import { ORDER_STATUSES } from '../../src/orders/orders.schemas.js';

test('when the table is read, then it is docs/data.md: pending → paid → shipped → delivered, pending → canceled, paid|shipped|delivered → refunded, nothing else', (t) => {
  const moves = ORDER_STATUSES.flatMap((from) => ORDER_STATUSES.filter((to) => canMove(from, to)).map((to) => `${from}→${to}`));
  t.deepEqual(moves.sort(), [
    'delivered→refunded',
    'paid→refunded',
    'paid→shipped',
    'pending→canceled',
    'pending→paid',
    'shipped→delivered',
    'shipped→refunded',
  ]);
  t.deepEqual(Object.keys(ORDER_MOVES).sort(), [...ORDER_STATUSES].sort(), 'every status has a row');
});

test('when asked which states move into a state, then the guard of each move is its starting states', (t) => {
  t.deepEqual(movesInto('paid'), ['pending']);
  t.deepEqual(movesInto('canceled'), ['pending']);
  t.deepEqual(movesInto('shipped'), ['paid']);
  t.deepEqual(movesInto('delivered'), ['shipped']);
  t.deepEqual(movesInto('pending'), []);
  t.deepEqual(movesInto('refunded'), ['paid', 'shipped', 'delivered']);
});

test('when no state may move back or leave a final state, then canceled and refunded have no way out, and delivered only to refunded', (t) => {
  for (const to of ORDER_STATUSES) {
    t.false(canMove('canceled', to));
    t.false(canMove('refunded', to));
    t.is(canMove('delivered', to), to === 'refunded');
    t.false(canMove(to, 'pending'));
  }
});

test('when a move is refused, then it is INVALID_TRANSITION saying why, the same for every mover', (t) => {
  const err = t.throws(() => assertMove({ id: 7, status: 'paid' }, 'canceled'));
  t.true(isAppError(err));
  t.like(err, { code: 'INVALID_TRANSITION', kind: 'conflict', message: 'Order 7 is paid; only pending orders can be marked canceled.' });
  t.is(invalidTransition({ id: 7, status: 'shipped' }, 'shipped').message, 'Order 7 is already shipped.');
  t.is(invalidTransition({ id: 7, status: 'pending' }, 'delivered').message, 'Order 7 is pending; only shipped orders can be marked delivered.');
  t.notThrows(() => assertMove({ id: 7, status: 'pending' }, 'paid'));
});
