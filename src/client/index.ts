/**
 * `wits/client`: tokens for notebooks and jobs running under `wits exec`, with zero runtime
 * dependencies (it never loads the wits server, SQLite or any package).
 *
 * - `credentials.getToken(audience)`: `mssparkutils.credentials` style, returns the JWT.
 * - `credentials.getAccessToken(audience)`: the token with its expiry and canonical resource.
 * - `credentials.isValidToken(token, { verify? })`: expiry / not-before / signature check.
 * - `WitsCredential`: an Azure SDK `TokenCredential` for any Azure SDK client.
 * - `bearerTokenProvider(audience)`: a token function for SDKs such as `openai`.
 *
 * See docs/client.md.
 *
 * @example
 * ```ts
 * import { credentials, WitsCredential } from 'wits/client';
 * const token = await credentials.getToken('Storage');
 * const credential = new WitsCredential();
 * ```
 *
 * @packageDocumentation
 */
export { credentials, bearerTokenProvider, WitsClient, type WitsClientOptions, type WitsCredentials, type WitsTokenOptions } from './client.js';
export { WitsCredential, type WitsCredentialOptions } from './credential.js';
export { discoverEndpoint, serverBaseUrl, type EndpointKind, type ExplicitEndpoint, type WitsEndpoint } from './endpoint.js';
export {
  AbortError,
  CredentialUnavailableError,
  EndpointNotFoundError,
  InvalidTokenResponseError,
  TokenRequestError,
  WitsClientError,
  WitsConnectionError,
  type WitsClientErrorCode,
} from './errors.js';
export { decodeJwt, type DecodedJwt } from './decodeJwt.js';
export { requestToken, type ErrorResponseBody, type IdentityOptions, type RawTokenResult, type TokenResponseBody } from './requestToken.js';
export type { RetryOptions, WitsAccessToken } from './transport.js';
export type { AbortSignalLike, AccessToken, FetchLike, GetTokenOptions, TokenCredential } from './types.js';
export type { IsValidTokenOptions } from './verify.js';
