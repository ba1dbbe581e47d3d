/** Writing JSON responses and errors; the one place that turns a WitsError into HTTP. */
import type { ServerResponse } from 'node:http';
import { toErrorBody, type WitsError } from '../errors.js';

const JSON_TYPE = 'application/json; charset=utf-8';

export function sendJsonText(res: ServerResponse, status: number, text: string, headers?: Record<string, string>): void {
  res.writeHead(status, {
    'content-type': JSON_TYPE,
    'content-length': Buffer.byteLength(text),
    // Token responses must never be stored by a proxy or browser (RFC 6749 section 5.1).
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void {
  sendJsonText(res, status, JSON.stringify(body), headers);
}

/** 5xx details are replaced by toErrorBody; 429/503 always carry Retry-After (protocols.md 5). */
export function sendError(res: ServerResponse, err: WitsError, headers?: Record<string, string>): void {
  const extra: Record<string, string> = { ...headers };
  const retryAfter = err.details.retryAfter ?? (err.status === 429 || err.status === 503 ? 1 : undefined);
  if (retryAfter !== undefined) extra['retry-after'] = String(Math.max(1, Math.ceil(retryAfter)));
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, err.status, toErrorBody(err), extra);
}
