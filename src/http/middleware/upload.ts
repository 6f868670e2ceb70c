/**
 * A `multipart/form-data` body with exactly one file, for routes that declare `upload`
 * (RouteSpec.upload, http/route.ts; docs/api.md, "Product images"). Parsed by multer (the
 * Express project's busboy-based parser) into memory, with limits: the file is cut off at
 * `maxBytes` + 1 (413 PAYLOAD_TOO_LARGE, the rest of the body read and dropped, never kept), and
 * a body declaring a length far over the limit is refused before a byte is read. It runs after
 * the route's auth and permission checks, so nobody anonymous gets a byte buffered.
 * The JSON body parser leaves these routes alone (middleware/body.ts).
 */
import multer from 'multer';
import { validationError } from '../../errors.js';
import type { AppMiddleware } from '../context.js';
import { HttpError } from '../http-error.js';

export interface UploadSpec {
  /** The form field holding the file, e.g. `image`. */
  field: string;
  /** The largest file accepted, in bytes. */
  maxBytes: number;
  /** What the file is, for the OpenAPI document. */
  description: string;
  /** The media types accepted, for the OpenAPI document (the route checks the bytes itself). */
  mediaTypes?: string[];
}

/** The file a route declared with `upload` receives. */
export interface UploadedFile {
  bytes: Buffer;
  /** As the client named it: for logs at most, never a path. */
  clientName: string;
  /** As the client declared it: never trusted. */
  declaredType: string;
}

/** Room for the multipart boundaries and part headers around the file. */
const ENVELOPE_BYTES = 64 * 1024;

const mb = (n: number) => `${Math.round((n / 1024 / 1024) * 10) / 10} MB`;

export function uploadBody(spec: UploadSpec): AppMiddleware {
  const tooLarge = () => new HttpError('PAYLOAD_TOO_LARGE', `The file is larger than ${mb(spec.maxBytes)}.`);
  const parse = multer({
    storage: multer.memoryStorage(),
    limits: { fileSize: spec.maxBytes, files: 1, fields: 0, parts: 1, headerPairs: 20, fieldNameSize: 100 },
  }).single(spec.field);
  return async (ctx, next) => {
    if (!ctx.is('multipart/form-data')) {
      throw new HttpError('UNSUPPORTED_MEDIA_TYPE', `Send the file as multipart/form-data, in the form field "${spec.field}".`);
    }
    const declared = Number(ctx.get('Content-Length'));
    if (Number.isFinite(declared) && declared > spec.maxBytes + ENVELOPE_BYTES) throw tooLarge();
    const req = ctx.req as typeof ctx.req & { file?: { buffer: Buffer; originalname: string; mimetype: string }; body?: unknown };
    await new Promise<void>((resolve, reject) => {
      // multer takes Express's request and response types; it only reads the Node ones.
      parse(req as never, ctx.res as never, (err: unknown) => {
        if (!err) return resolve();
        const code = (err as { code?: unknown }).code;
        if (code === 'LIMIT_FILE_SIZE') return reject(tooLarge());
        if (err instanceof multer.MulterError) {
          return reject(validationError(`Send exactly one file, in the form field "${spec.field}", and nothing else (${err.message.toLowerCase()}).`));
        }
        // busboy's own: a malformed multipart body, or the client went away mid-body.
        reject(validationError(`The multipart/form-data body could not be read (${String((err as Error).message ?? err).slice(0, 100)}).`));
      });
    });
    const file = req.file;
    delete req.file;
    delete req.body;
    if (!file) throw validationError(`Send one file in the form field "${spec.field}".`);
    const upload: UploadedFile = { bytes: file.buffer, clientName: file.originalname, declaredType: file.mimetype };
    ctx.state.upload = upload;
    return next();
  };
}
