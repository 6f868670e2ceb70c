/**
 * products/product-image.ts without a server: the type read from the bytes, SVG named in its
 * refusal, the size rules, and the re-encoding (width bound, format kept, trailing bytes gone).
 */
import test from 'ava';
import sharp from 'sharp';
import { checkImageSize, MAX_IMAGE_BYTES, MAX_IMAGE_WIDTH, processImage, sniffImageType } from '../../src/products/product-image.js';

const solid = (width: number, height: number) => sharp({ create: { width, height, channels: 3, background: '#336699' } });

test('when bytes start with a JPEG, PNG or WebP signature, then that is their type; anything else has none', async (t) => {
  t.is(sniffImageType(await solid(2, 2).jpeg().toBuffer()), 'jpeg');
  t.is(sniffImageType(await solid(2, 2).png().toBuffer()), 'png');
  t.is(sniffImageType(await solid(2, 2).webp().toBuffer()), 'webp');
  t.is(sniffImageType(await solid(2, 2).gif().toBuffer()), undefined);
  t.is(sniffImageType(Buffer.from('RIFF\0\0\0\0WAVEfmt ')), undefined);
  t.is(sniffImageType(Buffer.from('<svg/>')), undefined);
  t.is(sniffImageType(Buffer.from([0xff, 0xd8])), undefined);
  t.is(sniffImageType(Buffer.alloc(0)), undefined);
});

test('when the bytes are SVG (after a BOM, an XML declaration or a doctype), then the refusal names SVG', async (t) => {
  for (const svg of ['\uFEFF  <svg xmlns="http://www.w3.org/2000/svg"/>', '<?xml version="1.0"?><svg/>', '<!DOCTYPE svg><svg/>']) {
    const err = await t.throwsAsync(processImage(Buffer.from(svg)));
    t.is((err as { code?: string }).code, 'VALIDATION_FAILED');
    t.regex(err!.message, /SVG/);
  }
});

test('when the size is zero or over 5 MB, then it is refused', async (t) => {
  t.throws(() => checkImageSize(0), { message: /empty/ });
  t.throws(() => checkImageSize(MAX_IMAGE_BYTES + 1), { message: /larger than 5 MB/ });
  t.notThrows(() => checkImageSize(MAX_IMAGE_BYTES));
  await t.throwsAsync(processImage(Buffer.alloc(MAX_IMAGE_BYTES + 1, 0xff)), { message: /larger than 5 MB/ });
});

test('when an image is processed, then it keeps its format, is at most 1600 px wide (never enlarged) and loses trailing bytes', async (t) => {
  const wide = await processImage(Buffer.concat([await solid(3200, 400).jpeg().toBuffer(), Buffer.from('<script>x</script>')]));
  t.is(wide.type, 'jpeg');
  t.is(wide.width, MAX_IMAGE_WIDTH);
  t.is(wide.height, 200);
  t.false(wide.bytes.includes('<script>'));
  const small = await processImage(await solid(300, 100).png().toBuffer());
  t.is(small.type, 'png');
  t.is(small.width, 300);
});
