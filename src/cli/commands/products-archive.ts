/** `watchstore products archive|unarchive <id>`: out of the catalog (past orders intact), audited as `cli:<os user>`. */
import { cliConfig } from '../context.js';
import { adminArchiveProduct } from '../../products/admin-products.service.js';
import { parseProductId } from '../../products/products.service.js';
import { currentCliActor } from '../actor.js';
import { openDb } from '../db.js';
import { ui } from '../ui.js';

async function setArchived(id: string, archived: boolean): Promise<void> {
  const product = await adminArchiveProduct(await openDb(), currentCliActor(), parseProductId(id), archived, (await cliConfig()).currency);
  await ui.result(product, () =>
    ui.print(
      archived
        ? `Product #${product.id} ${ui.style.bold(product.name)} is archived: hidden from the catalog, past orders intact.`
        : `Product #${product.id} ${ui.style.bold(product.name)} is back in the catalog.`,
    ),
  );
}

export async function archive([id]: string[]): Promise<void> {
  await setArchived(id, true);
}

export async function unarchive([id]: string[]): Promise<void> {
  await setArchived(id, false);
}
