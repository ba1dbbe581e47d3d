/**
 * The HTTP client MSAL uses for wits' upstream sources (MSAL's `system.networkClient` hook).
 *
 * It exists so that the resilience layer can see what MSAL hides: the HTTP status and Retry-After
 * of the last response, and whether the network failed. Each attempt gets its own instance, a hard
 * timeout, and counts of what it did. Bodies are never logged or kept beyond the status, except
 * the authority's public OpenID configuration, which entraClient.ts reuses.
 */
import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node';

export interface UpstreamExchange {
  /** Status of the last response, undefined when none arrived. */
  status?: number;
  /** Retry-After of the last non-2xx response, seconds. */
  retryAfterSeconds?: number;
  /** The last request failed at the network level (refused, reset, timed out). */
  networkFailure?: boolean;
  /** Requests sent (MSAL's own managed-identity retries included). */
  requests: number;
  /** The authority's OpenID configuration (a public document), when this attempt fetched it. */
  authorityMetadata?: string;
}

const OPENID_CONFIGURATION = '/.well-known/openid-configuration';

/** Retry-After as seconds: delta-seconds or an HTTP date (RFC 9110 section 10.2.3). */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}

export class UpstreamNetworkClient implements INetworkModule {
  readonly exchange: UpstreamExchange = { requests: 0 };
  readonly #timeoutMs: number;

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  sendGetRequestAsync<T>(url: string, options?: NetworkRequestOptions, timeout?: number): Promise<NetworkResponse<T>> {
    return this.#send<T>(url, 'GET', options, timeout);
  }

  sendPostRequestAsync<T>(url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
    return this.#send<T>(url, 'POST', options);
  }

  async #send<T>(url: string, method: string, options?: NetworkRequestOptions, timeout?: number): Promise<NetworkResponse<T>> {
    this.exchange.requests += 1;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: options?.headers ?? {},
        body: method === 'POST' ? (options?.body ?? '') : null,
        signal: AbortSignal.timeout(Math.min(timeout ?? this.#timeoutMs, this.#timeoutMs)),
      });
    } catch (err) {
      this.exchange.networkFailure = true;
      delete this.exchange.status;
      throw err;
    }
    const text = await response.text().catch(() => '');
    if (method === 'GET' && response.ok && new URL(url).pathname.endsWith(OPENID_CONFIGURATION)) this.exchange.authorityMetadata = text;
    this.exchange.networkFailure = false;
    this.exchange.status = response.status;
    const retryAfter = response.ok ? undefined : parseRetryAfter(response.headers.get('retry-after'));
    if (retryAfter === undefined) delete this.exchange.retryAfterSeconds;
    else this.exchange.retryAfterSeconds = retryAfter;
    let body: unknown = {};
    try {
      body = text === '' ? {} : JSON.parse(text);
    } catch {
      body = {};
    }
    const headers: Record<string, string> = {};
    response.headers.forEach((value, key) => {
      headers[key] = value;
    });
    return { headers, body: body as T, status: response.status };
  }
}
