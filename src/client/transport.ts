/**
 * Fetching one token with retries: 408, 429, 500, 502, 503 and 504 answers, timeouts and network
 * failures are retried with exponential back-off and jitter, waiting at least as long as
 * `Retry-After` says; other answers are final. The parsed result is checked so that an expired
 * token is never handed out.
 */
import { decodeJwt } from './decodeJwt.js';
import type { WitsEndpoint } from './endpoint.js';
import { AbortError, InvalidTokenResponseError, TokenRequestError, WitsConnectionError } from './errors.js';
import { requestToken, type ErrorResponseBody, type IdentityOptions, type RawTokenResult } from './requestToken.js';
import type { AbortSignalLike, FetchLike } from './types.js';

/**
 * How the SDK retries a token request that failed with 429, 5xx or a network error.
 *
 * @example
 * ```ts
 * const client = new WitsClient({ retry: { maxRetries: 5, retryDelayMs: 200, maxRetryDelayMs: 10_000 } });
 * ```
 */
export interface RetryOptions {
  /** Retries after the first attempt (default 3; 0 disables retries). */
  readonly maxRetries?: number;
  /** First back-off delay in ms, doubled on each retry, with +-20% jitter (default 500). */
  readonly retryDelayMs?: number;
  /**
   * Longest wait between attempts in ms (default 30,000). When the server's `Retry-After` asks for
   * longer, the SDK stops retrying and throws, rather than waiting less than it was told.
   */
  readonly maxRetryDelayMs?: number;
}

/**
 * A token with its timing, as `credentials.getAccessToken` returns it. It is also a valid Azure
 * SDK `AccessToken`.
 *
 * @example
 * ```ts
 * const { token, expiresOnTimestamp, refreshAfterTimestamp, resource } = await credentials.getAccessToken('Storage');
 * console.log(resource); // 'https://storage.azure.com'
 * ```
 */
export interface WitsAccessToken {
  /** The access token (a JWT). */
  readonly token: string;
  /** When the token expires, epoch ms. */
  readonly expiresOnTimestamp: number;
  /** When the SDK fetches a replacement in the background, epoch ms. */
  readonly refreshAfterTimestamp: number;
  /** The canonical resource the token is for (its `aud`), e.g. `https://storage.azure.com`. */
  readonly resource: string;
  /** Always `Bearer`. */
  readonly tokenType: 'Bearer';
  /** Client id of the identity the token was issued to, when the endpoint says. */
  readonly clientId?: string;
}

/**
 * @internal Settings of the transport, with every default filled in.
 *
 * @example
 * ```ts
 * const settings: TransportSettings = transportSettings({ maxRetries: 1 }, 10_000, undefined);
 * ```
 */
export interface TransportSettings {
  readonly maxRetries: number;
  readonly retryDelayMs: number;
  readonly maxRetryDelayMs: number;
  readonly timeoutMs: number;
  readonly fetch: FetchLike;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const FIVE_MINUTES = 5 * 60_000;
/** A fresh token must be valid for at least this long, or it is refused as expired. */
const MIN_FRESH_VALIDITY_MS = 5_000;
const RETRYABLE = new Set([408, 429, 500, 502, 503, 504]);

/**
 * @internal The transport settings from client options, checked, defaults filled in.
 *
 * @example
 * ```ts
 * transportSettings(undefined, undefined, undefined).maxRetries; // 3
 * ```
 */
export function transportSettings(retry: RetryOptions | undefined, timeoutMs: number | undefined, fetchImpl: FetchLike | undefined): TransportSettings {
  const nonNegative = (value: number | undefined, fallback: number, name: string): number => {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a non-negative number.`);
    return value;
  };
  return {
    maxRetries: Math.floor(nonNegative(retry?.maxRetries, 3, 'retry.maxRetries')),
    retryDelayMs: nonNegative(retry?.retryDelayMs, 500, 'retry.retryDelayMs'),
    maxRetryDelayMs: nonNegative(retry?.maxRetryDelayMs, 30_000, 'retry.maxRetryDelayMs'),
    timeoutMs: nonNegative(timeoutMs, DEFAULT_TIMEOUT_MS, 'timeoutMs') || DEFAULT_TIMEOUT_MS,
    fetch: fetchImpl ?? ((input, init) => fetch(input, init)),
  };
}

/**
 * @internal Retry-After in ms: delta-seconds or an HTTP date (RFC 9110 section 10.2.3).
 *
 * @example
 * ```ts
 * parseRetryAfter('2'); // 2000
 * ```
 */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Resolves after `ms`, or rejects with AbortError when `signal` fires first. */
function sleep(ms: number, signal?: AbortSignalLike): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new AbortError(undefined, { cause: signal.reason }));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new AbortError(undefined, { cause: signal?.reason }));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function shownUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

function quote(text: string): string {
  const shown = text.length > 80 ? `${text.slice(0, 80)}...` : text;
  return `'${shown.replace(/[^\x20-\x7e]/g, '?')}'`;
}

function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value)) return Number(value);
  return undefined;
}

/**
 * @internal Turns a 200 answer into a WitsAccessToken, refusing anything unusable or expired.
 *
 * @example
 * ```ts
 * const token = parseTokenResponse(endpoint, 'Storage', JSON.parse(text), Date.now());
 * ```
 */
export function parseTokenResponse(endpoint: WitsEndpoint, audience: string, body: unknown, now: number): WitsAccessToken {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidTokenResponseError('ERR_INVALID_RESPONSE', `The wits endpoint at ${shownUrl(endpoint.url)} answered 200 without a JSON token response.`);
  }
  const fields = body as Record<string, unknown>;
  const token = fields.access_token;
  if (typeof token !== 'string' || token === '') {
    throw new InvalidTokenResponseError('ERR_INVALID_RESPONSE', `The token response from ${shownUrl(endpoint.url)} has no access_token.`);
  }
  const claims = decodeJwt(token)?.payload;
  const expiresOn = toNumber(fields.expires_on);
  const expiresIn = toNumber(fields.expires_in);
  const exp = toNumber(claims?.exp);
  const expiresOnTimestamp =
    expiresOn !== undefined ? expiresOn * 1000 : expiresIn !== undefined ? now + expiresIn * 1000 : exp !== undefined ? exp * 1000 : undefined;
  if (expiresOnTimestamp === undefined) {
    throw new InvalidTokenResponseError('ERR_INVALID_RESPONSE', `The token response from ${shownUrl(endpoint.url)} says nothing about when the token expires.`);
  }
  if (expiresOnTimestamp < now + MIN_FRESH_VALIDITY_MS) {
    throw new InvalidTokenResponseError(
      'ERR_EXPIRED_TOKEN',
      `The wits endpoint returned a token for ${quote(audience)} that expired at ${new Date(expiresOnTimestamp).toISOString()} ` +
        `(now is ${new Date(now).toISOString()}); the SDK never hands out expired tokens. Check the system clock.`,
    );
  }
  // When to refresh: the server's hint (native API), else half the lifetime; and at least five
  // minutes before expiry (docs/protocols.md section 4), never before now.
  const refreshIn = toNumber(fields.refresh_in);
  let refreshAfter: number;
  if (refreshIn !== undefined) {
    refreshAfter = now + refreshIn * 1000;
  } else {
    const notBefore = toNumber(fields.not_before) ?? toNumber(claims?.nbf) ?? toNumber(claims?.iat);
    const issuedAt = notBefore === undefined ? now : Math.min(now, notBefore * 1000);
    refreshAfter = issuedAt + (expiresOnTimestamp - issuedAt) / 2;
  }
  refreshAfter = Math.max(now, Math.min(refreshAfter, expiresOnTimestamp - FIVE_MINUTES));
  const echoed = typeof fields.resource === 'string' && fields.resource !== '' ? fields.resource : undefined;
  const aud = typeof claims?.aud === 'string' ? claims.aud : undefined;
  // The native API returns the canonical resource; App Service and IMDS echo what was sent, so the
  // token's `aud` (the canonical resource) is the better answer there.
  const resource = (endpoint.kind === 'native' ? (echoed ?? aud) : (aud ?? echoed)) ?? audience;
  const clientId = typeof fields.client_id === 'string' && fields.client_id !== '' ? fields.client_id : undefined;
  return Object.freeze({
    token,
    expiresOnTimestamp,
    refreshAfterTimestamp: Math.floor(refreshAfter),
    resource,
    tokenType: 'Bearer' as const,
    ...(clientId === undefined ? {} : { clientId }),
  });
}

/**
 * @internal The error for a non-200 answer.
 *
 * @example
 * ```ts
 * throw errorFromResponse('Stroage', await requestToken(endpoint, 'Stroage'), Date.now());
 * ```
 */
export function errorFromResponse(audience: string, result: RawTokenResult, now: number): TokenRequestError {
  const body: ErrorResponseBody & { error?: unknown } = typeof result.body === 'object' && result.body !== null ? (result.body as ErrorResponseBody) : {};
  const nested = typeof body.error === 'object' && body.error !== null ? (body.error as { code?: unknown; message?: unknown }) : undefined;
  const code = typeof body.code === 'string' && /^[A-Z][A-Z0-9_]{0,63}$/.test(body.code) ? body.code : `ERR_HTTP_${result.status}`;
  const serverText =
    (typeof body.message === 'string' && body.message) ||
    (typeof body.error_description === 'string' && body.error_description) ||
    (typeof nested?.message === 'string' && nested.message) ||
    (typeof body.error === 'string' && body.error) ||
    `The wits endpoint answered HTTP ${result.status}.`;
  const suggestion = typeof body.suggestion === 'string' && body.suggestion !== '' ? body.suggestion : undefined;
  const choices = Array.isArray(body.choices) && body.choices.every((c) => typeof c === 'string') ? body.choices : undefined;
  const retryAfterMs = parseRetryAfter(result.retryAfter, now) ?? (typeof body.retry_after === 'number' ? body.retry_after * 1000 : undefined);
  let message = serverText.trim();
  if (suggestion !== undefined && !message.includes(suggestion)) message += ` Did you mean '${suggestion}'?`;
  if (result.status === 401) {
    message += ' The wits session of this process is missing, expired or revoked: start the workload again under `wits exec`.';
  }
  message += ` [${code}, HTTP ${result.status}, audience ${quote(audience)}]`;
  return new TokenRequestError(message, {
    code,
    status: result.status,
    oauthError: typeof body.error === 'string' ? body.error : typeof nested?.code === 'string' ? nested.code : undefined,
    suggestion,
    choices,
    retryAfterMs,
  });
}

/** One attempt with its own timeout, abortable by `signal`. */
async function attempt(endpoint: WitsEndpoint, audience: string, identity: IdentityOptions, settings: TransportSettings, timeoutMs: number, signal?: AbortSignalLike): Promise<RawTokenResult> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  const onAbort = (): void => controller.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await requestToken(endpoint, audience, identity, controller.signal, settings.fetch);
  } catch (err) {
    if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
    if (timedOut) throw new WitsConnectionError('ERR_TIMEOUT', `The wits endpoint at ${shownUrl(endpoint.url)} did not answer within ${timeoutMs} ms.`, { cause: err });
    throw new WitsConnectionError('ERR_NETWORK', `Could not reach the wits endpoint at ${shownUrl(endpoint.url)}: ${describe(err)}.`, { cause: err });
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

function describe(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return err instanceof Error ? err.message : String(err);
}

/** The back-off before retry number `retry` (1-based): exponential with +-20% jitter. */
function backoff(settings: TransportSettings, retry: number): number {
  const base = settings.retryDelayMs * 2 ** (retry - 1);
  return Math.min(settings.maxRetryDelayMs, base * (0.8 + Math.random() * 0.4));
}

/**
 * @internal Fetches a token, retrying 408/429/500/502/503/504 answers and network failures. `signal` aborts the
 * whole operation (attempts and waits).
 *
 * @example
 * ```ts
 * const token = await fetchToken(discoverEndpoint(), 'Storage', {}, transportSettings(undefined, undefined, undefined));
 * ```
 */
export async function fetchToken(
  endpoint: WitsEndpoint,
  audience: string,
  identity: IdentityOptions,
  settings: TransportSettings,
  options: { signal?: AbortSignalLike; timeoutMs?: number } = {},
): Promise<WitsAccessToken> {
  const timeoutMs = options.timeoutMs ?? settings.timeoutMs;
  for (let retry = 0; ; retry++) {
    let failure: TokenRequestError | WitsConnectionError;
    let wait: number;
    try {
      const result = await attempt(endpoint, audience, identity, settings, timeoutMs, options.signal);
      const now = Date.now();
      if (result.status === 200) return parseTokenResponse(endpoint, audience, result.body, now);
      const refused = errorFromResponse(audience, result, now);
      if (!RETRYABLE.has(result.status)) throw refused;
      failure = refused;
      wait = Math.max(refused.retryAfterMs ?? 0, backoff(settings, retry + 1));
    } catch (err) {
      if (!(err instanceof WitsConnectionError)) throw err;
      failure = err;
      wait = backoff(settings, retry + 1);
    }
    if (retry >= settings.maxRetries || wait > settings.maxRetryDelayMs) {
      if (retry > 0) failure.message += ` (gave up after ${retry + 1} attempts)`;
      throw failure;
    }
    await sleep(wait, options.signal);
  }
}
