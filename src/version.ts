import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from './paths.js';

const pkg = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8'));

export const VERSION: string = pkg.version;
/** package.json's `license`: "UNLICENSED", npm's word for "not licensed for use by others". */
export const LICENSE: string = pkg.license;
