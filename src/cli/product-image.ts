/**
 * `--image FILE` for products: the file goes through the same checks and processing as the admin
 * API's upload (products/product-image.ts; docs/cli.md): type by its bytes (JPEG, PNG, WebP; SVG
 * refused), at most 5 MB, re-encoded at a bounded width and stored under its content hash.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Db } from '../db/connection.js';
import { checkImageSize, discardImage, type StoredImage, storeImage } from '../products/product-image.js';
import { usageError } from './ui.js';

export interface InstalledImage {
  url: string;
  /** Removes the stored file again if this call made it and nothing names it (the product write failed). */
  discard(): Promise<void>;
}

export async function installImage(db: Db, file: string, imagesDir: string): Promise<InstalledImage> {
  const source = path.resolve(file);
  const info = await stat(source).catch(() => undefined);
  if (!info) throw usageError(`image file not found: ${file}`);
  if (!info.isFile()) throw usageError(`image is not a file: ${file}`);
  checkImageSize(info.size);
  const stored: StoredImage = await storeImage(await readFile(source), imagesDir);
  return { url: stored.url, discard: () => discardImage(db, stored) };
}
