/**
 * The domain services with this test process's settings (currency, bcrypt cost) filled in, as
 * the HTTP routes and CLI commands pass theirs: tests call these, the services take settings as
 * arguments and read no configuration themselves.
 */
import { getConfig } from '../../src/config.js';
import * as cart from '../../src/cart/cart.service.js';
import type { Db } from '../../src/db/connection.js';
import * as orders from '../../src/orders/orders.service.js';
import * as products from '../../src/products/products.service.js';
import * as users from '../../src/users/users.service.js';

const currency = () => getConfig().currency;
const password = () => ({ bcryptCost: getConfig().bcryptCost });

type Input<F extends (...a: never[]) => unknown, N extends number> = Parameters<F>[N];

export const createProduct = (db: Db, input: Input<typeof products.createProduct, 1>) => products.createProduct(db, input, currency());
export const updateProduct = (db: Db, id: unknown, input: Input<typeof products.updateProduct, 2>) => products.updateProduct(db, id, input, currency());
export const changeStock = (db: Db, id: unknown, change: string) => products.changeStock(db, id, change, currency());
export const removeProduct = (db: Db, id: unknown) => products.removeProduct(db, id, currency());
export const getProduct = (db: Db, id: unknown) => products.getProduct(db, id, currency());
export const listProducts = (db: Db, query: Record<string, unknown> = {}) => products.listProducts(db, query, currency());

export const getCart = (db: Db, userId: number, cur = currency()) => cart.getCart(db, userId, cur);
export const addToCart = (db: Db, userId: number, input: Input<typeof cart.addToCart, 2>, cur = currency()) => cart.addToCart(db, userId, input, cur);
export const incrementLine = (db: Db, userId: number, input: Input<typeof cart.incrementLine, 2>) => cart.incrementLine(db, userId, input, currency());
export const decrementLine = (db: Db, userId: number, input: Input<typeof cart.decrementLine, 2>) => cart.decrementLine(db, userId, input, currency());
export const removeFromCart = (db: Db, userId: number, productId: number) => cart.removeFromCart(db, userId, productId, currency());
export const clearCart = (db: Db, userId: number) => cart.clearCart(db, userId, currency());

export const createUser = (db: Db, input: Input<typeof users.createUser, 1>, opts = password()) => users.createUser(db, input, opts);
export const setPassword = (db: Db, username: string, pw: string, opts = password()) => users.setPassword(db, username, pw, opts);
export const verifyCredentials = (db: Db, login: string, pw: string, opts = password()) => users.verifyCredentials(db, login, pw, opts);

export const createOrderFromCart = (db: Db, userId: number, opts: { idempotencyKey?: string; currency?: string } = {}) =>
  orders.createOrderFromCart(db, userId, { ...opts, currency: opts.currency ?? currency() });
