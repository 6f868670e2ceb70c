/**
 * `--image FILE` for products: the file is copied into the images directory under a safe name
 * (slug of its name + a hash of its content), and the product gets `/images/<name>`. A file that
 * is already in the images directory is used as it is.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { usageError } from './ui.js';

export const IMAGE_EXTENSIONS = ['.svg', '.png', '.jpg', '.jpeg', '.webp', '.gif', '.avif'];
export const MAX_IMAGE_BYTES = 5 * 1024 * 1024;
const SAFE_NAME = /^[a-z0-9][a-z0-9._-]*$/i;

/** `My Watch (front).PNG` + content → `my-watch-front-1a2b3c4d.png`. */
export function safeImageName(original: string, content: Uint8Array): string {
  const ext = path.extname(original).toLowerCase();
  const slug =
    path
      .basename(original, path.extname(original))
      .normalize('NFKD')
      .replace(/[\u0300-\u036f]/g, '')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 60) || 'image';
  const hash = createHash('sha256').update(content).digest('hex').slice(0, 8);
  return `${slug}-${hash}${ext}`;
}

export interface InstalledImage {
  url: string;
  /** Removes the copy again if this call made it (the product write failed). */
  discard(): Promise<void>;
}

export async function installImage(file: string, imagesDir: string): Promise<InstalledImage> {
  const source = path.resolve(file);
  const info = await stat(source).catch(() => undefined);
  if (!info) throw usageError(`image file not found: ${file}`);
  if (!info.isFile()) throw usageError(`image is not a file: ${file}`);
  const ext = path.extname(source).toLowerCase();
  if (!IMAGE_EXTENSIONS.includes(ext)) throw usageError(`image must be one of ${IMAGE_EXTENSIONS.join(' ')}: ${file}`);
  if (info.size > MAX_IMAGE_BYTES) throw usageError(`image is larger than ${MAX_IMAGE_BYTES / 1024 / 1024} MB: ${file}`);

  const dir = path.resolve(imagesDir);
  const keep = { url: '', discard: async () => {} };
  if (path.dirname(source) === dir && SAFE_NAME.test(path.basename(source))) {
    return { ...keep, url: `/images/${path.basename(source)}` };
  }
  const content = await readFile(source);
  const name = safeImageName(source, content);
  const target = path.join(dir, name);
  await mkdir(dir, { recursive: true });
  try {
    await writeFile(target, content, { flag: 'wx' });
  } catch (err) {
    // Same name means same content (the name carries its hash): already installed.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return { ...keep, url: `/images/${name}` };
    throw err;
  }
  return { url: `/images/${name}`, discard: () => rm(target, { force: true }) };
}
