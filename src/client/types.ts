/**
 * The Azure SDK credential contract, declared structurally so that `wits/client` needs no runtime
 * or type dependency: these shapes match `@azure/core-auth` (`TokenCredential`, `AccessToken`,
 * `GetTokenOptions`, `AbortSignalLike`), and test/client/credential.test.ts checks at compile time
 * that a `WitsCredential` is assignable to `@azure/core-auth`'s `TokenCredential`.
 */

/**
 * The part of an `AbortSignal` the SDK uses; `AbortSignal` and `@azure/abort-controller` signals
 * both fit.
 *
 * @example
 * ```ts
 * const token = await credentials.getToken('Storage', { abortSignal: AbortSignal.timeout(10_000) });
 * ```
 */
export interface AbortSignalLike {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener(type: 'abort', listener: (this: AbortSignalLike, ev: any) => any, options?: any): void;
  removeEventListener(type: 'abort', listener: (this: AbortSignalLike, ev: any) => any, options?: any): void;
}

/**
 * An access token as the Azure SDKs expect it (`@azure/core-auth` `AccessToken`).
 *
 * @example
 * ```ts
 * const { token, expiresOnTimestamp } = await new WitsCredential().getToken('https://storage.azure.com/.default');
 * ```
 */
export interface AccessToken {
  /** The access token (a JWT). */
  token: string;
  /** When the token expires, epoch milliseconds. */
  expiresOnTimestamp: number;
  /** When a client should fetch a fresh token, epoch milliseconds. */
  refreshAfterTimestamp?: number;
  /** Always `Bearer` for wits tokens. */
  tokenType?: 'Bearer' | 'pop';
}

/**
 * Options the Azure SDKs pass to `TokenCredential.getToken` (`@azure/core-auth` `GetTokenOptions`).
 * wits reads `abortSignal`, `requestOptions.timeout` and `claims` (a claims challenge bypasses the
 * client cache); `tenantId` and `enableCae` are accepted and ignored, as managed identity does.
 *
 * @example
 * ```ts
 * await new WitsCredential().getToken('https://vault.azure.net/.default', { abortSignal: AbortSignal.timeout(5000) });
 * ```
 */
export interface GetTokenOptions {
  abortSignal?: AbortSignalLike;
  requestOptions?: { timeout?: number };
  tracingOptions?: { tracingContext?: unknown };
  claims?: string;
  enableCae?: boolean;
  tenantId?: string;
  proofOfPossessionOptions?: unknown;
}

/**
 * Anything that can hand out Azure access tokens (`@azure/core-auth` `TokenCredential`).
 *
 * @example
 * ```ts
 * const credential: TokenCredential = new WitsCredential();
 * ```
 */
export interface TokenCredential {
  getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null>;
}

/**
 * A `fetch` implementation (the global one by default), for proxies or instrumentation.
 *
 * @example
 * ```ts
 * const client = new WitsClient({ fetch: (url, init) => { console.log('token request'); return fetch(url, init); } });
 * ```
 */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;
