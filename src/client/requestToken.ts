/** One token request over the protocol of a WitsEndpoint (no caching, no retries: see the SDK). */
import type { WitsEndpoint } from './endpoint.js';

export interface IdentityOptions {
  readonly clientId?: string;
  readonly objectId?: string;
  readonly resourceId?: string;
}

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

export interface ErrorResponseBody {
  readonly error?: string;
  readonly error_description?: string;
  readonly code?: string;
  readonly message?: string;
  readonly suggestion?: string;
}

export interface RawTokenResult {
  readonly status: number;
  readonly retryAfter: string | null;
  readonly body: unknown;
}

export async function requestToken(endpoint: WitsEndpoint, audience: string, identity: IdentityOptions = {}, signal?: AbortSignal): Promise<RawTokenResult> {
  let response: Response;
  if (endpoint.kind === 'native') {
    response = await fetch(endpoint.url, {
      method: 'POST',
      headers: { authorization: `Bearer ${endpoint.secret ?? ''}`, 'content-type': 'application/json' },
      body: JSON.stringify({ audience, ...identity }),
      signal: signal ?? null,
    });
  } else {
    const params = new URLSearchParams({ 'api-version': endpoint.kind === 'imds' ? '2018-02-01' : '2019-08-01', resource: audience });
    if (identity.clientId) params.set('client_id', identity.clientId);
    if (identity.objectId) params.set('object_id', identity.objectId);
    if (identity.resourceId) params.set(endpoint.kind === 'imds' ? 'msi_res_id' : 'mi_res_id', identity.resourceId);
    const headers: Record<string, string> = endpoint.kind === 'imds' ? { metadata: 'true' } : { 'x-identity-header': endpoint.secret ?? '' };
    const separator = endpoint.url.includes('?') ? '&' : '?';
    response = await fetch(`${endpoint.url}${separator}${params}`, { headers, signal: signal ?? null });
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
