import test from 'ava';
import { isAppError } from '../../src/errors.js';
import { assertMove, canMove, invalidTransition, movesInto, ORDER_MOVES } from '../../src/orders/order-states.js';
import { ORDER_STATUSES } from '../../src/orders/orders.schemas.js';

test('when the table is read, then it is docs/data.md: pending → paid → shipped → delivered, pending → canceled, nothing else', (t) => {
  const moves = ORDER_STATUSES.flatMap((from) => ORDER_STATUSES.filter((to) => canMove(from, to)).map((to) => `${from}→${to}`));
  t.deepEqual(moves.sort(), ['paid→shipped', 'pending→canceled', 'pending→paid', 'shipped→delivered']);
  t.deepEqual(Object.keys(ORDER_MOVES).sort(), [...ORDER_STATUSES].sort(), 'every status has a row');
});

test('when asked which states move into a state, then the guard of each move is its one starting state', (t) => {
  t.deepEqual(movesInto('paid'), ['pending']);
  t.deepEqual(movesInto('canceled'), ['pending']);
  t.deepEqual(movesInto('shipped'), ['paid']);
  t.deepEqual(movesInto('delivered'), ['shipped']);
  t.deepEqual(movesInto('pending'), []);
});

test('when no state may move back or leave a final state, then canceled and delivered have no way out', (t) => {
  for (const to of ORDER_STATUSES) {
    t.false(canMove('canceled', to));
    t.false(canMove('delivered', to));
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
