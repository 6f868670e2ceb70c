/**
 * Product images, as the admin API's upload and the CLI's `--image FILE` both take them
 * (docs/api.md, "Product images"): one set of rules, written once here.
 *
 * - At most MAX_IMAGE_BYTES; an empty file is refused.
 * - The type is decided by the file's first bytes (JPEG, PNG or WebP), never by its name or a
 *   declared Content-Type. SVG (it can carry script) and everything else is refused.
 * - The image is decoded and re-encoded by sharp in its own format, at most MAX_IMAGE_WIDTH wide:
 *   metadata (EXIF, GPS) and anything riding along the pixels (a script appended to a JPEG, a
 *   polyglot) do not survive.
 * - The output is stored in the images directory as `<sha256 of the output>.<ext>`: the client's
 *   file name is never used, so no path in it can matter, and the same image is stored once.
 * - A stored file is never replaced, and the previous image of a product is kept: order lines do
 *   not snapshot image_url, but another product may name the same file.
 */
import { createHash, randomBytes } from 'node:crypto';
import { link, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Db } from '../db/connection.js';
import { validationError } from '../errors.js';

export const MAX_IMAGE_BYTES = 5 * 1024 * 1024;
export const MAX_IMAGE_WIDTH = 1600;
/** Decoding bombs: a small file that claims 100,000 × 100,000 pixels is refused before decoding. */
const MAX_INPUT_PIXELS = 50_000_000;

export type ImageType = 'jpeg' | 'png' | 'webp';
export const IMAGE_TYPES: Record<ImageType, { ext: string; mime: string }> = {
  jpeg: { ext: 'jpg', mime: 'image/jpeg' },
  png: { ext: 'png', mime: 'image/png' },
  webp: { ext: 'webp', mime: 'image/webp' },
};

const startsWith = (bytes: Uint8Array, sig: number[], at = 0) => bytes.length >= at + sig.length && sig.every((b, i) => bytes[at + i] === b);
const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));

/** The image type the bytes say, by their magic numbers; undefined for anything else. */
export function sniffImageType(bytes: Uint8Array): ImageType | undefined {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (startsWith(bytes, ascii('RIFF')) && startsWith(bytes, ascii('WEBP'), 8)) return 'webp';
  return undefined;
}

/** Text that looks like SVG (or any XML), after a BOM and whitespace: named in the refusal. */
function looksLikeSvg(bytes: Uint8Array): boolean {
  const head = Buffer.from(bytes.subarray(0, 1024))
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .trimStart()
    .toLowerCase();
  return head.startsWith('<?xml') || head.startsWith('<svg') || (head.startsWith('<!') && head.includes('<svg'));
}

const tooLarge = () => validationError(`The image is larger than ${MAX_IMAGE_BYTES / 1024 / 1024} MB.`);

export interface ProcessedImage {
  type: ImageType;
  bytes: Buffer;
  width: number;
  height: number;
}

/**
 * Checks an uploaded image by its bytes and re-encodes it (at most MAX_IMAGE_WIDTH wide, no
 * metadata). VALIDATION_FAILED for anything that is not a decodable JPEG, PNG or WebP.
 */
export async function processImage(input: Uint8Array): Promise<ProcessedImage> {
  if (input.length === 0) throw validationError('The image file is empty.');
  if (input.length > MAX_IMAGE_BYTES) throw tooLarge();
  const type = sniffImageType(input);
  if (!type) {
    if (looksLikeSvg(input)) throw validationError('SVG images are not accepted (they can carry script); send a JPEG, PNG or WebP.');
    throw validationError('The file is not a JPEG, PNG or WebP image (its type is read from its content, not its name).');
  }
  // Loaded on the first upload, not at start: libvips adds tens of MB to a server's memory.
  const { default: sharp } = await import('sharp');
  let out: { data: Buffer; info: { width: number; height: number } };
  try {
    // failOn 'error': a truncated or corrupt image is refused, not half-decoded; `animated`
    // off: the first frame of an animated WebP only.
    const image = sharp(input, { failOn: 'error', limitInputPixels: MAX_INPUT_PIXELS })
      .rotate() // apply the EXIF orientation before the metadata is dropped
      .resize({ width: MAX_IMAGE_WIDTH, withoutEnlargement: true });
    const encoded =
      type === 'jpeg' ? image.jpeg({ quality: 85, mozjpeg: true }) : type === 'png' ? image.png({ compressionLevel: 9 }) : image.webp({ quality: 85 });
    out = await encoded.toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw validationError(`The file starts like a ${type.toUpperCase()} image but could not be decoded as one.`, [
      { message: String((err as Error).message ?? err).slice(0, 200) },
    ]);
  }
  return { type, bytes: out.data, width: out.info.width, height: out.info.height };
}

export interface StoredImage {
  /** `/images/<sha256>.<ext>`, what a product's image_url holds. */
  url: string;
  file: string;
  type: ImageType;
  width: number;
  height: number;
  /** True when this call wrote the file (false: the same image was already stored). */
  created: boolean;
}

/** Processes the image and stores it in `imagesDir` under its content hash. */
export async function storeImage(input: Uint8Array, imagesDir: string): Promise<StoredImage> {
  const image = await processImage(input);
  const name = `${createHash('sha256').update(image.bytes).digest('hex')}.${IMAGE_TYPES[image.type].ext}`;
  const dir = path.resolve(imagesDir);
  const file = path.join(dir, name);
  await mkdir(dir, { recursive: true });
  // Written under a temporary name, then linked to its own: the served name never shows a
  // half-written file, and an existing one (same name, same content) is never replaced.
  const tmp = path.join(dir, `.${name}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let created = true;
  await writeFile(tmp, image.bytes, { flag: 'wx' });
  try {
    await link(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    created = false;
  } finally {
    await rm(tmp, { force: true });
  }
  return { url: `/images/${name}`, file, type: image.type, width: image.width, height: image.height, created };
}

/**
 * Takes a stored image back out after the product write failed: only a file this call created,
 * and only while no product names it (another upload of the same image may have since).
 */
export async function discardImage(db: Db, stored: StoredImage): Promise<void> {
  if (!stored.created) return;
  const named = await db('products').where({ image_url: stored.url }).first('id');
  if (!named) await rm(stored.file, { force: true });
}

/** The same size rules, for a file whose size is known before it is read (the CLI's `--image`). */
export function checkImageSize(size: number): void {
  if (size > MAX_IMAGE_BYTES) throw tooLarge();
  if (size === 0) throw validationError('The image file is empty.');
}
