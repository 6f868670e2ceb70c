/**
 * Product image upload through the admin API, over real HTTP (SQLite, or MariaDB with
 * TEST_DB=mysql): the type decided by the bytes, re-encoding (no polyglot payload survives), the
 * 5 MB limit, empty files, SVG, a path in the file name, permissions, and one audit row per
 * upload, none per refusal.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import sharp from 'sharp';
import type { Db } from '../../src/db/connection.js';
import { startApp, type TestApp } from '../helpers/app.js';
import { createProduct } from '../helpers/services.js';
import { signedInAs, type SignedIn } from '../helpers/staff.js';

const imagesDir = mkdtempSync(path.join(os.tmpdir(), 'ws-upload-'));
let app: TestApp;
let db: Db;
let admin: SignedIn;
let staff: SignedIn;
let customer: SignedIn;

test.before(async () => {
  app = await startApp({ env: { IMAGES_DIR: imagesDir } });
  db = app.t.db;
  [admin, staff, customer] = await Promise.all(['admin', 'staff', 'customer'].map((r) => signedInAs(db, app.config.accessTokenSecret, r as never)));
});
test.after.always(async () => {
  await app?.close();
  rmSync(imagesDir, { recursive: true, force: true });
});

let seq = 0;
const newProduct = () => createProduct(db, { name: `Pictured watch ${process.pid} ${++seq}`, price: '10.00', stock: 1 });
const imageAudits = (id: number) =>
  db('audit_log')
    .where({ target_type: 'product', target_id: String(id), action: 'product.image' })
    .orderBy('id');
const HASHED = /^\/images\/[0-9a-f]{64}\.(png|jpg|webp)$/;

interface Part {
  field?: string;
  filename?: string;
  type?: string;
  bytes: Buffer;
}

/** A multipart/form-data body written by hand, so the file name and part headers are exactly ours. */
function multipart(parts: Part[]): { body: Buffer; type: string } {
  const boundary = `----watchstore${randomBytes(8).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const disposition = `form-data; name="${p.field ?? 'image'}"${p.filename !== undefined ? `; filename="${p.filename}"` : ''}`;
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\nContent-Type: ${p.type ?? 'application/octet-stream'}\r\n\r\n`));
    chunks.push(p.bytes, Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), type: `multipart/form-data; boundary=${boundary}` };
}

function upload(id: number, parts: Part[], auth: Record<string, string> | undefined = admin.auth) {
  const { body, type } = multipart(parts);
  return app.client().request('POST', `/api/admin/products/${id}/image`, { body, headers: { ...auth, 'content-type': type } });
}

const png = (width = 2000, height = 1000) =>
  sharp({ create: { width, height, channels: 3, background: { r: 200, g: 30, b: 60 } } })
    .png()
    .toBuffer();
const jpeg = (width = 800, height = 600) =>
  sharp({ create: { width, height, channels: 3, background: { r: 10, g: 120, b: 200 } } })
    .jpeg()
    .withMetadata({ exif: { IFD0: { Copyright: 'SECRET-EXIF-OWNER' } } })
    .toBuffer();

const storedFile = (url: string) => path.join(imagesDir, path.basename(url));
const filesNow = () => readdirSync(imagesDir).sort();

test.serial('when an admin uploads a PNG, then it is resized, stored under its hash, served at image_url, and audited once', async (t) => {
  const p = await newProduct();
  const r = await upload(p.id, [{ filename: 'front.png', type: 'image/png', bytes: await png() }]);
  t.is(r.status, 200, r.text);
  t.regex(r.body.image_url, HASHED);
  t.true(r.body.image_url.endsWith('.png'));
  const file = storedFile(r.body.image_url);
  t.true(existsSync(file));
  const meta = await sharp(file).metadata();
  t.is(meta.format, 'png');
  t.is(meta.width, 1600);
  t.is(meta.height, 800);
  const served = await fetch(app.url + r.body.image_url);
  t.is(served.status, 200);
  t.is(served.headers.get('content-type'), 'image/png');
  t.deepEqual(Buffer.from(await served.arrayBuffer()), readFileSync(file));
  t.is((await db('products').where({ id: p.id }).first()).image_url, r.body.image_url);
  const rows = await imageAudits(p.id);
  t.is(rows.length, 1);
  t.deepEqual(JSON.parse(rows[0].before), { image_url: null });
  t.deepEqual(JSON.parse(rows[0].after), { image_url: r.body.image_url });
  t.is(rows[0].actor, String(admin.id));
});

test.serial('when staff uploads a JPEG carrying EXIF, then it is stored as .jpg without the metadata, and the old image file is kept', async (t) => {
  const p = await newProduct();
  const first = await upload(p.id, [{ filename: 'a.png', bytes: await png(40, 40) }], staff.auth);
  t.is(first.status, 200, first.text);
  const source = await jpeg();
  t.true(source.includes('SECRET-EXIF-OWNER'));
  const r = await upload(p.id, [{ filename: 'IMG_0001.JPG', type: 'image/jpeg', bytes: source }], staff.auth);
  t.is(r.status, 200, r.text);
  t.regex(r.body.image_url, /\.jpg$/);
  const stored = readFileSync(storedFile(r.body.image_url));
  t.is((await sharp(stored).metadata()).format, 'jpeg');
  t.false(stored.includes('SECRET-EXIF-OWNER'));
  t.true(existsSync(storedFile(first.body.image_url)));
  t.is((await imageAudits(p.id)).length, 2);
});

test.serial('when a PNG is named .jpg and declared image/jpeg, then its bytes decide: it is stored as a PNG', async (t) => {
  const p = await newProduct();
  const r = await upload(p.id, [{ filename: 'photo.jpg', type: 'image/jpeg', bytes: await png(30, 20) }]);
  t.is(r.status, 200, r.text);
  t.regex(r.body.image_url, /^\/images\/[0-9a-f]{64}\.png$/);
  t.is((await sharp(storedFile(r.body.image_url)).metadata()).format, 'png');
});

test.serial('when a WebP is uploaded with no declared type, then it is stored as .webp', async (t) => {
  const p = await newProduct();
  const webp = await sharp({ create: { width: 120, height: 80, channels: 4, background: { r: 0, g: 90, b: 40, alpha: 0.5 } } })
    .webp()
    .toBuffer();
  const r = await upload(p.id, [{ filename: 'blob', bytes: webp }]);
  t.is(r.status, 200, r.text);
  t.regex(r.body.image_url, /^\/images\/[0-9a-f]{64}\.webp$/);
  const meta = await sharp(storedFile(r.body.image_url)).metadata();
  t.is(meta.format, 'webp');
  t.is(meta.width, 120);
});

test.serial('when a JPEG carries a script after its image data (a polyglot), then the stored re-encoding does not', async (t) => {
  const p = await newProduct();
  const payload = '<script>alert("polyglot")</script><html><body onload="steal()">';
  const r = await upload(p.id, [{ filename: 'poly.jpg', type: 'image/jpeg', bytes: Buffer.concat([await jpeg(64, 64), Buffer.from(payload)]) }]);
  t.is(r.status, 200, r.text);
  const stored = readFileSync(storedFile(r.body.image_url));
  t.false(stored.includes('<script>'));
  t.false(stored.includes('polyglot'));
  t.false(stored.includes('steal()'));
});

test.serial('when a file starts like a JPEG but is HTML after its header, or is a GIF/JS polyglot, then it is refused and nothing is stored', async (t) => {
  const p = await newProduct();
  const before = filesNow();
  const fakeJpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from('<html><script>alert(1)</script></html>')]);
  const a = await upload(p.id, [{ filename: 'x.jpg', type: 'image/jpeg', bytes: fakeJpeg }]);
  t.is(a.status, 400, a.text);
  t.is(a.body.error.code, 'VALIDATION_FAILED');
  const gifJs = Buffer.from('GIF89a=1;alert(document.domain);//\x00\x00\x00');
  const b = await upload(p.id, [{ filename: 'x.gif', type: 'image/gif', bytes: gifJs }]);
  t.is(b.status, 400, b.text);
  t.regex(b.body.error.message, /not a JPEG, PNG or WebP/);
  t.deepEqual(filesNow(), before);
  t.is((await imageAudits(p.id)).length, 0);
  t.is((await db('products').where({ id: p.id }).first()).image_url, null);
});

test.serial('when the file is 6 MB, then 413 PAYLOAD_TOO_LARGE and nothing is stored or audited', async (t) => {
  const p = await newProduct();
  const before = filesNow();
  const big = Buffer.concat([await png(10, 10), randomBytes(6 * 1024 * 1024)]);
  const r = await upload(p.id, [{ filename: 'big.png', type: 'image/png', bytes: big }]);
  t.is(r.status, 413, r.text);
  t.is(r.body.error.code, 'PAYLOAD_TOO_LARGE');
  t.deepEqual(filesNow(), before);
  t.is((await imageAudits(p.id)).length, 0);
});

test.serial('when a 6 MB file is streamed without a Content-Length, then the parser cuts it at 5 MB: 413 and nothing stored', async (t) => {
  const p = await newProduct();
  const before = filesNow();
  const { body, type } = multipart([{ filename: 'big.png', type: 'image/png', bytes: Buffer.concat([await png(10, 10), randomBytes(6 * 1024 * 1024)]) }]);
  const { hostname, port } = new URL(app.url);
  const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = http.request(
      {
        host: hostname,
        port,
        path: `/api/admin/products/${p.id}/image`,
        method: 'POST',
        headers: { ...admin.auth, 'content-type': type, 'transfer-encoding': 'chunked' },
      },
      (r) => {
        let text = '';
        r.setEncoding('utf8');
        r.on('data', (c) => {
          text += c;
        });
        r.on('end', () => resolve({ status: r.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    for (let i = 0; i < body.length; i += 64 * 1024) req.write(body.subarray(i, i + 64 * 1024));
    req.end();
  });
  t.is(res.status, 413, res.text);
  t.deepEqual(filesNow(), before);
  t.is((await imageAudits(p.id)).length, 0);
});

test.serial('when the file is empty, an SVG, missing, or one of two, then 400 with a clear message and nothing stored', async (t) => {
  const p = await newProduct();
  const before = filesNow();
  const empty = await upload(p.id, [{ filename: 'empty.png', type: 'image/png', bytes: Buffer.alloc(0) }]);
  t.is(empty.status, 400, empty.text);
  t.regex(empty.body.error.message, /empty/);
  const svg = await upload(p.id, [
    { filename: 'w.png', type: 'image/png', bytes: Buffer.from('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>') },
  ]);
  t.is(svg.status, 400, svg.text);
  t.regex(svg.body.error.message, /SVG/);
  const none = await upload(p.id, [{ field: 'note', bytes: Buffer.from('hello') }]);
  t.is(none.status, 400, none.text);
  const wrongField = await upload(p.id, [{ field: 'photo', filename: 'a.png', bytes: await png(10, 10) }]);
  t.is(wrongField.status, 400, wrongField.text);
  const two = await upload(p.id, [
    { filename: 'a.png', bytes: await png(10, 10) },
    { filename: 'b.png', bytes: await png(12, 12) },
  ]);
  t.is(two.status, 400, two.text);
  t.deepEqual(filesNow(), before);
  t.is((await imageAudits(p.id)).length, 0);
});

test.serial('when the body is JSON or garbage claiming multipart, then 415 or 400, never 5xx', async (t) => {
  const p = await newProduct();
  const json = await app.client().request('POST', `/api/admin/products/${p.id}/image`, { json: { image_url: '/x.png' }, headers: admin.auth });
  t.is(json.status, 415, json.text);
  const garbage = await app.client().request('POST', `/api/admin/products/${p.id}/image`, {
    body: randomBytes(2048),
    headers: { ...admin.auth, 'content-type': 'multipart/form-data; boundary=zz' },
  });
  t.is(garbage.status, 400, garbage.text);
  const noBoundary = await app
    .client()
    .request('POST', `/api/admin/products/${p.id}/image`, { body: 'abc', headers: { ...admin.auth, 'content-type': 'multipart/form-data' } });
  t.is(noBoundary.status, 400, noBoundary.text);
});

test.serial('when the file name carries a path, then it plays no part: the file is stored under its hash in IMAGES_DIR only', async (t) => {
  const p = await newProduct();
  const r = await upload(p.id, [{ filename: '../../etc/passwd.png', type: 'image/png', bytes: await png(50, 50) }]);
  t.is(r.status, 200, r.text);
  t.regex(r.body.image_url, HASHED);
  t.false(r.body.image_url.includes('passwd'));
  t.false(filesNow().some((f) => f.includes('passwd')));
  t.false(existsSync(path.join(imagesDir, '..', '..', 'etc', 'passwd.png')));
  t.true(existsSync(storedFile(r.body.image_url)));
});

test.serial('when a customer or nobody uploads, or the product does not exist, then 403, 401 or 404 and nothing is stored', async (t) => {
  const p = await newProduct();
  const before = filesNow();
  const bytes = await png(20, 20);
  t.is((await upload(p.id, [{ filename: 'a.png', bytes }], customer.auth)).status, 403);
  t.is((await upload(p.id, [{ filename: 'a.png', bytes }], {})).status, 401);
  const missing = await upload(999_999, [{ filename: 'a.png', bytes }]);
  t.is(missing.status, 404, missing.text);
  t.deepEqual(filesNow(), before);
  t.is((await imageAudits(p.id)).length, 0);
});
