/**
 * The order state machine, as one table (docs/data.md, "Order states"): from each state, the
 * states an order may move to. Every move — a customer's cancel, a webhook or `orders reconcile`
 * settling a payment, `orders expire`, `orders mark` — goes through `moveOrder` in
 * orders.service.ts, whose guarded UPDATE takes its allowed starting states from here, and a move
 * the table refuses is the same INVALID_TRANSITION error wherever it was asked for.
 */
import { AppError } from '../errors.js';
import type { OrderStatus } from './orders.schemas.js';

export const ORDER_MOVES: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  pending: ['paid', 'canceled'],
  paid: ['shipped', 'refunded'],
  shipped: ['delivered', 'refunded'],
  delivered: ['refunded'],
  canceled: [],
  refunded: [],
};

/** True when the table allows `from` → `to`. */
export function canMove(from: OrderStatus, to: OrderStatus): boolean {
  return ORDER_MOVES[from].includes(to);
}

/** The states an order may be in to move to `to` (the guard of the UPDATE that moves it). */
export function movesInto(to: OrderStatus): OrderStatus[] {
  return (Object.keys(ORDER_MOVES) as OrderStatus[]).filter((from) => canMove(from, to));
}

/** The one error for a move the table refuses. */
export function invalidTransition(order: { id: number; status: OrderStatus }, to: OrderStatus): AppError {
  if (order.status === to) return new AppError('INVALID_TRANSITION', `Order ${order.id} is already ${to}.`);
  const from = movesInto(to);
  const which = from.length === 0 ? 'no' : `only ${from.join(' or ')}`;
  return new AppError('INVALID_TRANSITION', `Order ${order.id} is ${order.status}; ${which} orders can be marked ${to}.`);
}

/** Throws INVALID_TRANSITION unless the table allows the order's move to `to`. */
export function assertMove(order: { id: number; status: OrderStatus }, to: OrderStatus): void {
  if (!canMove(order.status, to)) throw invalidTransition(order, to);
}
