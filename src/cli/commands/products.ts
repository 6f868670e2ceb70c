/**
 * `watchstore products list|add|update|stock|remove`: the catalog. Changes go through the admin
 * products service, as the admin API's do, audited as `cli:<os user>` (docs/cli.md).
 */
import { cliConfig } from '../context.js';
import { openDb } from '../db.js';
import { formatMoney, parseMoney } from '../../money.js';
import { newProductSchema, productPatchSchema, stockChangeSchema, stockSchema, type PublicProduct } from '../../products/products.schemas.js';
import { adminAdjustStock, adminCreateProduct, adminDeleteProduct, adminUpdateProduct } from '../../products/admin-products.service.js';
import { currentCliActor } from '../actor.js';
import { AppError } from '../../errors.js';
import { parseInput } from '../../validation.js';
import { getProduct, listProducts, parseProductId } from '../../products/products.service.js';
import { installImage, type InstalledImage } from '../product-image.js';
import { checkWith, joinAnd, shortTime, ui, usageError } from '../ui.js';

const price = (p: PublicProduct) => formatMoney(p.price_cents, p.currency);

function stockText(stock: number): string {
  if (stock === 0) return ui.style.red('0');
  if (stock <= 5) return ui.style.yellow(String(stock));
  return String(stock);
}

function summary(p: PublicProduct): string {
  return `#${p.id} ${ui.style.bold(p.name)}: ${price(p)}, ${p.stock} in stock`;
}

export interface ListOptions {
  search?: string;
  lowStock?: string;
  limit?: string;
}

export async function list(_args: string[], opts: ListOptions): Promise<void> {
  const page = await listProducts(await openDb(), { q: opts.search, low_stock: opts.lowStock, limit: opts.limit }, (await cliConfig()).currency);
  await ui.result(page.items, async () => {
    if (page.items.length === 0) return ui.print('No products match.');
    await ui.table(
      ['ID', 'Name', 'Price', 'Stock', 'Added'],
      page.items.map((p) => [p.id, p.name, price(p), stockText(p.stock), shortTime(p.created_at)]),
      ['right', 'left', 'right', 'right', 'left'],
    );
    ui.print(`${page.items.length} of ${page.total} product${page.total === 1 ? '' : 's'}.`);
  });
}

/** Installs the image (if any), runs the write, and takes the image back out if the write fails. */
async function withImage<T>(file: string | undefined, write: (imageUrl: string | undefined) => Promise<T>): Promise<T> {
  const image: InstalledImage | undefined = file === undefined ? undefined : await installImage(await openDb(), file, (await cliConfig()).imagesDir);
  try {
    return await write(image?.url);
  } catch (err) {
    await image?.discard();
    throw err;
  }
}

export interface AddOptions {
  name?: string;
  price?: string;
  stock?: string;
  description?: string;
  image?: string;
}

export async function add(_args: string[], opts: AddOptions): Promise<void> {
  const missing = (['name', 'price', 'stock'] as const).filter((k) => opts[k] === undefined).map((k) => `--${k}`);
  if (missing.length > 0 && !ui.interactive()) {
    throw usageError(
      `products add needs ${joinAnd(missing)} when not run interactively; usage: watchstore products add --name N --price 199.99 --stock 5 [--description D] [--image FILE]`,
    );
  }
  const name = opts.name ?? (await ui.ask('Name:', (v) => (v.trim() ? true : 'A name is required.')));
  const price =
    opts.price ??
    (await ui.ask(
      'Price (such as 199.99):',
      checkWith((v) => parseMoney(v)),
    ));
  const stock =
    opts.stock ??
    (await ui.ask(
      'Stock (units):',
      checkWith((v) => parseInput(stockSchema, v.trim() === '' ? undefined : v, 'stock')),
    ));
  const db = await openDb();
  const { currency } = await cliConfig();
  const product = await withImage(opts.image, (image_url) =>
    adminCreateProduct(
      db,
      currentCliActor(),
      parseInput(newProductSchema, { name, price, stock, description: opts.description, image_url }, 'product'),
      currency,
    ),
  );
  await ui.result(product, () => ui.print(`Added ${summary(product)}.`));
}

export interface UpdateOptions {
  name?: string;
  price?: string;
  description?: string;
  image?: string;
}

export async function update([id]: string[], opts: UpdateOptions): Promise<void> {
  const db = await openDb();
  const { currency } = await cliConfig();
  const pid = parseProductId(id);
  const product = await withImage(opts.image, (image_url) => {
    const patch = parseInput(
      productPatchSchema,
      {
        ...(opts.name !== undefined && { name: opts.name }),
        ...(opts.price !== undefined && { price: opts.price }),
        ...(opts.description !== undefined && { description: opts.description }),
        ...(image_url !== undefined && { image_url }),
      },
      'product',
    );
    if (Object.keys(patch).length === 0) throw new AppError('VALIDATION_FAILED', 'Nothing to update: give at least one of name, price, description, image.');
    return adminUpdateProduct(db, currentCliActor(), pid, patch, currency);
  });
  await ui.result(product, () => ui.print(`Updated ${summary(product)}.`));
}

export async function stock([id, change]: string[]): Promise<void> {
  const pid = parseProductId(id);
  const c = parseInput(stockChangeSchema, change, 'stock change');
  const adjust = 'set' in c ? { set: parseInput(stockSchema, c.set, 'stock') } : { delta: c.delta };
  const product = await adminAdjustStock(await openDb(), currentCliActor(), pid, adjust, (await cliConfig()).currency);
  await ui.result(product, () => ui.print(`Stock of #${product.id} ${ui.style.bold(product.name)} is now ${stockText(product.stock)}.`));
}

export interface RemoveOptions {
  yes?: boolean;
}

export async function remove([id]: string[], opts: RemoveOptions): Promise<number | void> {
  const db = await openDb();
  if (!(await ui.confirmRemoval('products remove', opts.yes, async () => summary(await getProduct(db, id, (await cliConfig()).currency))))) return 1;
  const product = await adminDeleteProduct(db, currentCliActor(), parseProductId(id), (await cliConfig()).currency);
  await ui.result(product, () => ui.print(`Removed ${summary(product)}.`));
}
