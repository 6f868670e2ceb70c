import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('watchstore: cannot find the package root');
    dir = up;
  }
  return dir;
}

/** The installed package's root (the source checkout, not dist/). */
export const PROJECT_ROOT = findRoot();
export const DEFAULT_CATALOG = path.join(PROJECT_ROOT, 'seeds', 'catalog.json');
export const DEFAULT_IMAGES_DIR = path.join(PROJECT_ROOT, 'images');
/** Where the default SQLite database lives unless DATA_DIR says otherwise (docs/data.md). */
export const DEFAULT_DATA_DIR = path.join(PROJECT_ROOT, 'data');
