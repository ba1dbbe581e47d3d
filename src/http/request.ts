/** Reading requests: query parameters (strictly: no duplicates) and bounded bodies. */
import type { IncomingMessage } from 'node:http';
import { WitsError } from '../errors.js';

export const MAX_BODY_BYTES = 64 * 1024;

/** The single value of a query parameter; a repeated parameter is ambiguous and refused. */
export function single(params: URLSearchParams, name: string): string | undefined {
  const values = params.getAll(name);
  if (values.length > 1) throw new WitsError('ERR_INVALID_REQUEST', `Query parameter '${name}' is given more than once.`);
  return values[0];
}

/** The first of several synonymous parameters (e.g. mi_res_id / msi_res_id); more than one is refused. */
export function oneOf(params: URLSearchParams, names: readonly string[]): string | undefined {
  let found: string | undefined;
  for (const name of names) {
    const value = single(params, name);
    if (value === undefined) continue;
    if (found !== undefined) throw new WitsError('ERR_AMBIGUOUS_IDENTITY', `Give only one of ${names.join(', ')}.`);
    found = value;
  }
  return found;
}

export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume();
      reject(new WitsError('ERR_PAYLOAD_TOO_LARGE', `The request body must be at most ${limit} bytes.`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(new WitsError('ERR_PAYLOAD_TOO_LARGE', `The request body must be at most ${limit} bytes.`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', (err) => reject(new WitsError('ERR_INVALID_REQUEST', 'The request body could not be read.', {}, { cause: err })));
  });
}

/** A JSON object body; anything else is a 400. */
export function parseJsonObject(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = text.trim() === '' ? {} : JSON.parse(text);
  } catch {
    throw new WitsError('ERR_INVALID_REQUEST', 'The request body is not valid JSON.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new WitsError('ERR_INVALID_REQUEST', 'The request body must be a JSON object.');
  }
  return value as Record<string, unknown>;
}

/** The bearer credential of an Authorization header (RFC 6750 section 2.1). */
export function bearer(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header === undefined) return undefined;
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  return match === null ? '' : match[1];
}
