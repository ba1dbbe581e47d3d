/**
 * How an upstream attempt failed, in the terms the resilience layer needs: retry or not, and when.
 * Messages hold no secret: they come from the upstream's error code and description only.
 */
import type { UpstreamExchange } from './upstreamNetwork.js';

export class UpstreamError extends Error {
  /** 429, 5xx, network failures and timeouts are worth retrying; other answers are final. */
  readonly retryable: boolean;
  readonly status: number | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(message: string, options: { retryable: boolean; status?: number | undefined; retryAfterSeconds?: number | undefined; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.name = 'UpstreamError';
    this.retryable = options.retryable;
    this.status = options.status;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** Classifies an error thrown by MSAL, using what the network client saw. */
export function classifyUpstreamFailure(err: unknown, exchange: UpstreamExchange, what: string): UpstreamError {
  if (err instanceof UpstreamError) return err;
  const e = err as { errorCode?: string; errorMessage?: string; message?: string };
  // MSAL messages may span lines and carry trace ids; keep the first line, bounded.
  // Fix: Entra separates lines with CRLF, so splitting on \n alone left a trailing \r in error
  // bodies and in `wits status` (where it returns the cursor and garbles the table); drop any
  // remaining control characters too.
  // eslint-disable-next-line no-control-regex
  const detail = String(e.errorMessage || e.message || e.errorCode || 'unknown error').split(/\r?\n|\r/)[0]?.replace(/[\u0000-\u001f\u007f]/g, ' ').trim().slice(0, 300);
  if (exchange.networkFailure || exchange.status === undefined) {
    return new UpstreamError(`${what}: no answer (${detail})`, { retryable: true, cause: err });
  }
  const status = exchange.status;
  const retryable = status === 429 || status >= 500 || status === 408;
  return new UpstreamError(`${what} answered HTTP ${status}: ${detail}`, {
    retryable,
    status,
    retryAfterSeconds: exchange.retryAfterSeconds,
    cause: err,
  });
}
