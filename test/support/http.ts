/** Small fetch helpers: JSON in, status + headers + parsed JSON out. */
import assert from 'node:assert/strict';

export interface JsonResponse<T = any> {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** Parsed body, or undefined when the body is empty or not JSON. */
  readonly body: T;
}

export async function request<T = any>(url: string, init: RequestInit = {}): Promise<JsonResponse<T>> {
  const response = await fetch(url, { ...init, signal: init.signal ?? AbortSignal.timeout(30_000) });
  const text = await response.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers, text, body: body as T };
}

/** GET /msi/token (App Service protocol) with the session secret in X-IDENTITY-HEADER. */
export function appServiceToken(base: string, secret: string | undefined, params: Record<string, string>): Promise<JsonResponse> {
  const query = new URLSearchParams({ 'api-version': '2019-08-01', ...params });
  const headers: Record<string, string> = secret === undefined ? {} : { 'X-IDENTITY-HEADER': secret };
  return request(`${base}/msi/token?${query}`, { headers });
}

/** POST /v1/token (native API) with a JSON body. */
export function nativeToken(base: string, secret: string | undefined, body: Record<string, unknown>): Promise<JsonResponse> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (secret !== undefined) headers.authorization = `Bearer ${secret}`;
  return request(`${base}/v1/token`, { method: 'POST', headers, body: JSON.stringify(body) });
}

/** A call to the admin API with the admin credential (pass `token: null` to send none). */
export function admin<T = any>(
  base: string,
  token: string | null,
  method: string,
  path: string,
  body?: unknown,
): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  return request<T>(base + path, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
}

/** Asserts the wits error shape (protocols.md section 5) and the expected status and code. */
export function assertError(response: JsonResponse, status: number, code: string): void {
  assert.equal(response.status, status, `expected ${status} ${code}, got ${response.status}: ${response.text.slice(0, 300)}`);
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  const body = response.body as Record<string, unknown> | undefined;
  assert.ok(body !== undefined && typeof body === 'object', `error body is not JSON: ${response.text.slice(0, 200)}`);
  assert.equal(body.code, code, `expected ${code}: ${response.text.slice(0, 300)}`);
  assert.equal(typeof body.error, 'string');
  assert.equal(typeof body.error_description, 'string');
  assert.equal(typeof body.message, 'string');
}
