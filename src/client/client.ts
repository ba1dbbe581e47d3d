/**
 * `WitsClient`: tokens from the wits endpoint of this process, cached and refreshed ahead, and
 * `isValidToken`. The `credentials` object and `WitsCredential` both delegate to one.
 */
import { discoverEndpoint, serverBaseUrl, type WitsEndpoint } from './endpoint.js';
import { AbortError, EndpointNotFoundError, WitsClientError, WitsConnectionError } from './errors.js';
import type { IdentityOptions } from './requestToken.js';
import { audienceKey, ClientTokenCache } from './tokenCache.js';
import { fetchToken, transportSettings, type RetryOptions, type TransportSettings, type WitsAccessToken } from './transport.js';
import type { AbortSignalLike, FetchLike } from './types.js';
import { checkClaims, isEntraIssuer, KeyResolver, verifySignature, type IsValidTokenOptions } from './verify.js';

/**
 * Options of a `WitsClient` (and of `WitsCredential`). All optional: by default the endpoint is
 * discovered from the environment `wits exec` sets up.
 *
 * @example
 * ```ts
 * // Outside `wits exec`, e.g. on a Spark executor that received the session from its driver:
 * const client = new WitsClient({ endpoint: 'http://wits.internal:8339', secret: process.env.MY_WITS_SECRET });
 * ```
 */
export interface WitsClientOptions {
  /** Base URL of a wits server; requires `secret`. Uses the native API (`POST /v1/token`). */
  readonly endpoint?: string;
  /** The session secret for `endpoint`. */
  readonly secret?: string;
  /** Environment to discover the endpoint from (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Retries of 408, 429, 500, 502, 503 and 504 answers and network failures. */
  readonly retry?: RetryOptions;
  /** Timeout of each HTTP attempt in ms (default 30,000). */
  readonly timeoutMs?: number;
  /** `fetch` to use (default the global one). */
  readonly fetch?: FetchLike;
}

/**
 * Options of `getToken` / `getAccessToken`: a user-assigned identity (at most one of `clientId`,
 * `objectId`, `resourceId`), an abort signal, and a way around the cache.
 *
 * @example
 * ```ts
 * const token = await credentials.getToken('Vault', { clientId: '00000000-0000-0000-0000-000000000001', abortSignal: AbortSignal.timeout(10_000) });
 * ```
 */
export interface WitsTokenOptions extends IdentityOptions {
  /** Stops waiting (rejects with `AbortError`); a request shared with other callers goes on. */
  readonly abortSignal?: AbortSignalLike;
  /** Stop waiting after this many ms (rejects with `WitsConnectionError` `ERR_TIMEOUT`). */
  readonly timeoutMs?: number;
  /** Do not use the cached token, e.g. after a resource rejected it. */
  readonly forceRefresh?: boolean;
}

/**
 * The notebook-style token API (`mssparkutils.credentials` naming), implemented by `WitsClient`
 * and by the ready-made `credentials` object.
 *
 * @example
 * ```ts
 * async function storageToken(creds: WitsCredentials): Promise<string> {
 *   return creds.getToken('Storage');
 * }
 * ```
 */
export interface WitsCredentials {
  /** An access token for `audience`: an alias (`Storage`), resource URI or `/.default` scope. */
  getToken(audience: string, options?: WitsTokenOptions): Promise<string>;
  /** The token with its expiry, refresh time and canonical resource. */
  getAccessToken(audience: string, options?: WitsTokenOptions): Promise<WitsAccessToken>;
  /** False for garbage, expired or not-yet-valid tokens; with `{ verify: true }` also checks the signature. */
  isValidToken(token: string, options?: IsValidTokenOptions): Promise<boolean>;
}

const IDENTITY_FIELDS = ['clientId', 'objectId', 'resourceId'] as const;

/**
 * @internal The identity options as given, checked (at most one non-empty string), and the cache
 * key part they make.
 *
 * @example
 * ```ts
 * checkIdentity({ clientId: 'C1' }); // { identity: { clientId: 'C1' }, key: 'clientId=c1' }
 * ```
 */
export function checkIdentity(options: IdentityOptions | undefined): { identity: IdentityOptions; key: string } {
  const given = IDENTITY_FIELDS.filter((name) => options?.[name] !== undefined && options?.[name] !== null);
  if (given.length > 1) {
    throw new WitsClientError('ERR_AMBIGUOUS_IDENTITY', `Give at most one of clientId, objectId and resourceId (got ${given.join(' and ')}).`);
  }
  const name = given[0];
  if (name === undefined) return { identity: {}, key: 'system' };
  const value = options?.[name];
  if (typeof value !== 'string' || value.trim() === '') {
    throw new WitsClientError('ERR_INVALID_ARGUMENT', `${name} must be a non-empty string.`);
  }
  return { identity: { [name]: value.trim() }, key: `${name}=${value.trim().toLowerCase()}` };
}

function checkAudience(audience: unknown): string {
  if (typeof audience !== 'string') {
    throw new WitsClientError(
      Array.isArray(audience) ? 'ERR_INVALID_ARGUMENT' : 'ERR_MISSING_AUDIENCE',
      Array.isArray(audience)
        ? 'Pass one audience as a string (a token is for exactly one resource).'
        : 'No audience given: pass an alias (e.g. Storage), a resource URI or a /.default scope.',
    );
  }
  const trimmed = audience.trim();
  if (trimmed === '') {
    throw new WitsClientError('ERR_MISSING_AUDIENCE', 'The audience is empty: pass an alias (e.g. Storage), a resource URI or a /.default scope.');
  }
  return trimmed;
}

/** Waits for `promise` on behalf of one caller: its abort signal and deadline stop only its wait. */
function waitFor<T>(promise: Promise<T>, signal: AbortSignalLike | undefined, timeoutMs: number | undefined): Promise<T> {
  if (signal === undefined && timeoutMs === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onAbort = (): void => {
      cleanUp();
      reject(new AbortError(undefined, { cause: signal?.reason }));
    };
    const cleanUp = (): void => {
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    if (signal?.aborted) {
      onAbort();
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    if (timeoutMs !== undefined) {
      timer = setTimeout(() => {
        cleanUp();
        reject(new WitsConnectionError('ERR_TIMEOUT', `No token within ${timeoutMs} ms.`));
      }, timeoutMs);
    }
    promise.then(
      (value) => {
        cleanUp();
        resolve(value);
      },
      (err: unknown) => {
        cleanUp();
        reject(err);
      },
    );
  });
}

/**
 * A client of the wits endpoint of this process. It caches tokens per identity and audience,
 * shares one request among concurrent callers, refreshes ahead of expiry in the background while
 * still serving the current token, retries 429 and 5xx answers with back-off (honouring `Retry-After`), and
 * never returns an expired token.
 *
 * Most code uses the ready-made `credentials` object or `WitsCredential` instead; create a client
 * to pass an explicit endpoint, or to keep a separate cache.
 *
 * @example
 * ```ts
 * import { WitsClient } from 'wits/client';
 * const client = new WitsClient();                      // endpoint from `wits exec`
 * const token = await client.getToken('CognitiveServices');
 * ```
 */
export class WitsClient implements WitsCredentials {
  readonly #options: WitsClientOptions;
  readonly #settings: TransportSettings;
  readonly #cache: ClientTokenCache;
  readonly #keys: KeyResolver;
  #endpoint: WitsEndpoint | undefined;
  #witsIssuer: Promise<string | undefined> | undefined;
  #lastRefreshError: unknown;

  constructor(options: WitsClientOptions = {}) {
    if ((options.endpoint === undefined) !== (options.secret === undefined)) {
      throw new WitsClientError(
        'ERR_INVALID_ENDPOINT',
        options.endpoint === undefined ? 'A secret was given without an endpoint: pass { endpoint, secret }.' : 'An endpoint was given without the session secret: pass { endpoint, secret }.',
      );
    }
    this.#options = { ...options };
    this.#settings = transportSettings(options.retry, options.timeoutMs, options.fetch);
    this.#cache = new ClientTokenCache({ onRefreshError: (err) => (this.#lastRefreshError = err) });
    this.#keys = new KeyResolver(this.#settings.fetch, this.#settings.timeoutMs);
    // An explicit endpoint is checked at once; a discovered one on first use, so that merely
    // creating a client (or importing `credentials`) outside `wits exec` does not throw.
    if (options.endpoint !== undefined) this.#endpoint = discoverEndpoint({}, { endpoint: options.endpoint, secret: options.secret as string });
  }

  /**
   * The endpoint this client talks to, discovered on first use. Throws `EndpointNotFoundError`
   * outside `wits exec` when no endpoint was given.
   *
   * @example
   * ```ts
   * console.log(new WitsClient().endpoint.kind); // 'app-service' under `wits exec`
   * ```
   */
  get endpoint(): WitsEndpoint {
    this.#endpoint ??= discoverEndpoint(this.#options.env ?? undefined);
    return this.#endpoint;
  }

  /**
   * The error of the last failed background refresh, if any (the cached token was served
   * meanwhile). For diagnostics.
   *
   * @example
   * ```ts
   * if (client.lastRefreshError) console.warn('token refresh failing:', client.lastRefreshError);
   * ```
   */
  get lastRefreshError(): unknown {
    return this.#lastRefreshError;
  }

  /**
   * A token for `audience`, with its expiry, refresh time and canonical resource.
   *
   * @param audience an alias (`Storage`, `Vault`, `CognitiveServices`, ...), an https resource URI
   *   or a `/.default` scope.
   * @example
   * ```ts
   * const { token, expiresOnTimestamp, resource } = await client.getAccessToken('https://cognitiveservices.azure.com/.default');
   * ```
   */
  getAccessToken(audience: string, options: WitsTokenOptions = {}): Promise<WitsAccessToken> {
    try {
      const resourceRequested = checkAudience(audience);
      const { identity, key } = checkIdentity(options);
      if (options.abortSignal?.aborted) throw new AbortError(undefined, { cause: options.abortSignal.reason });
      const endpoint = this.endpoint;
      const shared = this.#cache.get(`${key}\u0000${audienceKey(resourceRequested)}`, key, () => fetchToken(endpoint, resourceRequested, identity, this.#settings), {
        forceRefresh: options.forceRefresh === true,
      });
      return waitFor(shared, options.abortSignal, options.timeoutMs);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * An access token (a JWT string) for `audience`, like `mssparkutils.credentials.getToken`.
   *
   * @example
   * ```ts
   * const token = await client.getToken('Storage');
   * await fetch('https://myaccount.blob.core.windows.net/c?restype=container&comp=list', {
   *   headers: { authorization: `Bearer ${token}`, 'x-ms-version': '2023-11-03' },
   * });
   * ```
   */
  async getToken(audience: string, options?: WitsTokenOptions): Promise<string> {
    return (await this.getAccessToken(audience, options)).token;
  }

  /**
   * Whether `token` is a JWT that is valid now: false for garbage, expired or not-yet-valid tokens
   * (a clock skew of `clockSkewSeconds`, default 60, is allowed). With `{ verify: true }` the
   * signature is also checked against the issuer's JWKS; trusted issuers are `issuer` if given,
   * else the wits server this client talks to and Entra ID. Never throws.
   *
   * @example
   * ```ts
   * if (!(await client.isValidToken(token, { verify: true }))) token = await client.getToken('Storage');
   * ```
   */
  async isValidToken(token: string, options: IsValidTokenOptions = {}): Promise<boolean> {
    try {
      if (!checkClaims(token, options)) return false;
      if (options.verify !== true) return true;
      return await verifySignature(token, this.#keys, (issuer) => this.#trusts(issuer, options), options.abortSignal);
    } catch {
      return false;
    }
  }

  /**
   * Forgets every cached token, so the next call asks the endpoint.
   *
   * @example
   * ```ts
   * client.clearCache();
   * ```
   */
  clearCache(): void {
    this.#cache.clear();
  }

  async #trusts(issuer: string, options: IsValidTokenOptions): Promise<boolean> {
    const same = (a: string, b: string): boolean => a.replace(/\/+$/, '') === b.replace(/\/+$/, '');
    if (options.issuer !== undefined) {
      const pinned = typeof options.issuer === 'string' ? [options.issuer] : options.issuer;
      return pinned.some((p) => same(p, issuer));
    }
    if (isEntraIssuer(issuer)) return true;
    let base: string | undefined;
    try {
      base = serverBaseUrl(this.endpoint);
    } catch (err) {
      if (!(err instanceof EndpointNotFoundError)) throw err;
    }
    // No wits server to ask (IMDS, or outside `wits exec`): the token's own issuer.
    if (base === undefined) return true;
    const witsBase = base;
    this.#witsIssuer ??= this.#keys.document(`${witsBase}/.well-known/openid-configuration`, options.abortSignal).then((doc) => {
      const found = typeof doc?.issuer === 'string' ? doc.issuer : undefined;
      if (found === undefined) this.#witsIssuer = undefined; // ask again next time
      return found;
    });
    const witsIssuer = await this.#witsIssuer;
    return witsIssuer !== undefined && same(witsIssuer, issuer);
  }
}

let sharedClient: WitsClient | undefined;

/**
 * @internal The process-wide client behind `credentials` and option-less `WitsCredential`s,
 * created on first use.
 *
 * @example
 * ```ts
 * defaultClient().clearCache();
 * ```
 */
export function defaultClient(): WitsClient {
  sharedClient ??= new WitsClient();
  return sharedClient;
}

/**
 * Tokens for this process, `mssparkutils.credentials` style: the endpoint comes from `wits exec`,
 * and every caller in the process shares one cache.
 *
 * @example
 * ```ts
 * import { credentials } from 'wits/client';
 * const token = await credentials.getToken('Storage');                      // alias
 * const aoai = await credentials.getToken('https://cognitiveservices.azure.com'); // resource URI
 * const ok = await credentials.isValidToken(token);                         // true
 * ```
 */
export const credentials: WitsCredentials = Object.freeze({
  getToken: (audience: string, options?: WitsTokenOptions) => defaultClient().getToken(audience, options),
  getAccessToken: (audience: string, options?: WitsTokenOptions) => defaultClient().getAccessToken(audience, options),
  isValidToken: (token: string, options?: IsValidTokenOptions) => defaultClient().isValidToken(token, options),
});

/**
 * A function that returns a fresh bearer token for `audience` on each call (served from the
 * cache), for SDKs that take a token provider, such as `openai`'s `AzureOpenAI`. Equivalent to
 * `getBearerTokenProvider(new WitsCredential(), scope)` from `@azure/identity`, without needing it.
 *
 * @example
 * ```ts
 * import { AzureOpenAI } from 'openai';
 * import { bearerTokenProvider } from 'wits/client';
 * const client = new AzureOpenAI({
 *   endpoint: 'https://my-aoai.openai.azure.com',
 *   apiVersion: '2024-10-21',
 *   azureADTokenProvider: bearerTokenProvider('CognitiveServices'),
 * });
 * ```
 */
export function bearerTokenProvider(audience: string, options: WitsTokenOptions & { readonly client?: WitsCredentials } = {}): () => Promise<string> {
  const { client, ...tokenOptions } = options;
  checkAudience(audience);
  checkIdentity(tokenOptions);
  return () => (client ?? defaultClient()).getToken(audience, tokenOptions);
}
