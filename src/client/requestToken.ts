/**
 * One token request over the protocol of a WitsEndpoint: no caching, no retries (the SDK's
 * `WitsClient` adds both). Used by `wits token` and by the SDK's transport.
 */
import type { WitsEndpoint } from './endpoint.js';
import type { FetchLike } from './types.js';

/**
 * Selects a user-assigned identity of the workspace; give at most one. Without any, the
 * workspace's system identity is used.
 *
 * @example
 * ```ts
 * const token = await credentials.getToken('Storage', { clientId: '00000000-0000-0000-0000-000000000001' });
 * ```
 */
export interface IdentityOptions {
  /** The identity's client (application) id. */
  readonly clientId?: string;
  /** The identity's object (principal) id. */
  readonly objectId?: string;
  /** The identity's ARM resource id. */
  readonly resourceId?: string;
}

/**
 * The managed-identity token response (docs/protocols.md section 4); numbers are strings of
 * digits. The native API adds `refresh_in`.
 *
 * @example
 * ```ts
 * const result = await requestToken(discoverEndpoint(), 'Storage');
 * if (result.status === 200) console.log((result.body as TokenResponseBody).expires_on);
 * ```
 */
export interface TokenResponseBody {
  readonly access_token: string;
  readonly expires_in: string;
  readonly expires_on: string;
  readonly not_before?: string;
  readonly resource: string;
  readonly token_type: string;
  readonly client_id?: string;
  readonly refresh_in?: string;
}

/**
 * The error body of a wits endpoint (src/errors.ts `toErrorBody`).
 *
 * @example
 * ```ts
 * const result = await requestToken(discoverEndpoint(), 'Stroage');
 * if (result.status !== 200) console.log((result.body as ErrorResponseBody).suggestion); // 'Storage'
 * ```
 */
export interface ErrorResponseBody {
  readonly error?: string;
  readonly error_description?: string;
  readonly code?: string;
  readonly message?: string;
  readonly suggestion?: string;
  readonly choices?: readonly string[];
  readonly retry_after?: number;
}

/**
 * What came back from one request, unparsed beyond JSON.
 *
 * @example
 * ```ts
 * const { status, retryAfter, body } = await requestToken(discoverEndpoint(), 'Storage');
 * ```
 */
export interface RawTokenResult {
  readonly status: number;
  /** The Retry-After header, as sent. */
  readonly retryAfter: string | null;
  /** The parsed JSON body; undefined when empty or not JSON. */
  readonly body: unknown;
}

/**
 * Sends one token request for `audience` (an alias, resource URI or scope) and returns the raw
 * answer. Network failures reject with the `fetch` error; HTTP errors resolve with their status.
 *
 * @example
 * ```ts
 * import { discoverEndpoint, requestToken } from 'wits/client';
 * const result = await requestToken(discoverEndpoint(), 'CognitiveServices', {}, AbortSignal.timeout(10_000));
 * ```
 */
export async function requestToken(
  endpoint: WitsEndpoint,
  audience: string,
  identity: IdentityOptions = {},
  signal?: AbortSignal,
  fetchImpl: FetchLike = (input, init) => fetch(input, init),
): Promise<RawTokenResult> {
  let response: Response;
  if (endpoint.kind === 'native') {
    const body: Record<string, string> = { audience };
    if (identity.clientId !== undefined) body.clientId = identity.clientId;
    if (identity.objectId !== undefined) body.objectId = identity.objectId;
    if (identity.resourceId !== undefined) body.resourceId = identity.resourceId;
    response = await fetchImpl(endpoint.url, {
      method: 'POST',
      headers: { authorization: `Bearer ${endpoint.secret ?? ''}`, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
      signal: signal ?? null,
    });
  } else {
    const params = new URLSearchParams({ 'api-version': endpoint.kind === 'imds' ? '2018-02-01' : '2019-08-01', resource: audience });
    if (identity.clientId !== undefined) params.set('client_id', identity.clientId);
    if (identity.objectId !== undefined) params.set('object_id', identity.objectId);
    if (identity.resourceId !== undefined) params.set(endpoint.kind === 'imds' ? 'msi_res_id' : 'mi_res_id', identity.resourceId);
    const headers: Record<string, string> =
      endpoint.kind === 'imds' ? { metadata: 'true', accept: 'application/json' } : { 'x-identity-header': endpoint.secret ?? '', accept: 'application/json' };
    const separator = endpoint.url.includes('?') ? '&' : '?';
    response = await fetchImpl(`${endpoint.url}${separator}${params}`, { headers, signal: signal ?? null });
  }
  const text = await response.text();
  let body: unknown = undefined;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body };
}
