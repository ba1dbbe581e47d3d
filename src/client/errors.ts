/**
 * The errors of `wits/client`. Every error is a `WitsClientError` with a stable `code`:
 *
 * | class | code | when |
 * |---|---|---|
 * | `EndpointNotFoundError` | `ERR_NO_WITS_ENDPOINT` | the process does not run under `wits exec` and no endpoint was given |
 * | `CredentialUnavailableError` | `ERR_NO_WITS_ENDPOINT` | the same, from `WitsCredential` (Azure SDK chains move on to the next credential) |
 * | `WitsClientError` | `ERR_INVALID_ENDPOINT`, `ERR_MISSING_AUDIENCE`, `ERR_INVALID_ARGUMENT`, `ERR_AMBIGUOUS_IDENTITY` | bad input, caught before any request |
 * | `TokenRequestError` | the server's code (`ERR_UNKNOWN_AUDIENCE`, `ERR_SESSION_EXPIRED`, ...) or `ERR_HTTP_<status>` | the wits endpoint refused |
 * | `WitsConnectionError` | `ERR_NETWORK`, `ERR_TIMEOUT` | the endpoint could not be reached (after retries) |
 * | `InvalidTokenResponseError` | `ERR_INVALID_RESPONSE`, `ERR_EXPIRED_TOKEN` | the answer is not a usable token |
 * | `AbortError` | `ERR_ABORTED` | the caller's abort signal fired |
 *
 * Messages never contain a token or a secret.
 */

/**
 * Codes the client itself raises. Errors from the server carry the server's code instead (see
 * `TokenRequestError.code`), e.g. `ERR_UNKNOWN_AUDIENCE`.
 *
 * @example
 * ```ts
 * if (err instanceof WitsClientError && err.code === 'ERR_NO_WITS_ENDPOINT') console.log('run me under wits exec');
 * ```
 */
export type WitsClientErrorCode =
  | 'ERR_NO_WITS_ENDPOINT'
  | 'ERR_INVALID_ENDPOINT'
  | 'ERR_MISSING_AUDIENCE'
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_AMBIGUOUS_IDENTITY'
  | 'ERR_NETWORK'
  | 'ERR_TIMEOUT'
  | 'ERR_ABORTED'
  | 'ERR_INVALID_RESPONSE'
  | 'ERR_EXPIRED_TOKEN';

/**
 * Base class of every error `wits/client` throws.
 *
 * @example
 * ```ts
 * try {
 *   await credentials.getToken('Stroage');
 * } catch (err) {
 *   if (err instanceof WitsClientError) console.error(err.code, err.message);
 * }
 * ```
 */
export class WitsClientError extends Error {
  /** Stable machine-readable code: a `WitsClientErrorCode` or a code sent by the wits server. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WitsClientError';
    this.code = code;
  }
}

/**
 * Thrown by `WitsCredential` when no wits endpoint is available. Its name is the one Azure SDK
 * credential chains (`ChainedTokenCredential`) recognise to try the next credential.
 *
 * @example
 * ```ts
 * import { ChainedTokenCredential, AzureCliCredential } from '@azure/identity';
 * const credential = new ChainedTokenCredential(new WitsCredential(), new AzureCliCredential());
 * ```
 */
export class CredentialUnavailableError extends WitsClientError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_NO_WITS_ENDPOINT', message, options);
    this.name = 'CredentialUnavailableError';
  }
}

/**
 * No wits endpoint in the environment: the process was not started by `wits exec`, or a variable
 * is missing. `missing` names the variables that would have been needed.
 *
 * @example
 * ```ts
 * try {
 *   await credentials.getToken('Storage');
 * } catch (err) {
 *   if (err instanceof EndpointNotFoundError) console.error(err.message); // says which variable is missing
 * }
 * ```
 */
export class EndpointNotFoundError extends WitsClientError {
  /** The environment variables that were looked for and not found. */
  readonly missing: readonly string[];

  constructor(missing: readonly string[] = ['IDENTITY_ENDPOINT', 'IDENTITY_HEADER', 'AZURE_POD_IDENTITY_AUTHORITY_HOST'], detail?: string) {
    super(
      'ERR_NO_WITS_ENDPOINT',
      (detail ??
        'No wits endpoint in this environment: neither IDENTITY_ENDPOINT + IDENTITY_HEADER (App Service) nor ' +
          'AZURE_POD_IDENTITY_AUTHORITY_HOST (IMDS) is set.') +
        ' Run the process under `wits exec -- <command>`, or pass { endpoint, secret } explicitly.',
    );
    this.name = 'EndpointNotFoundError';
    this.missing = Object.freeze([...missing]);
  }
}

/**
 * The wits endpoint answered with an error. `code` is the server's stable code (e.g.
 * `ERR_UNKNOWN_AUDIENCE`, `ERR_AUDIENCE_NOT_ALLOWED`, `ERR_SESSION_EXPIRED`) or `ERR_HTTP_<status>`
 * when the body has none. For a mistyped alias, `suggestion` holds the alias the server thinks
 * was meant, and the message says "Did you mean ...?".
 *
 * @example
 * ```ts
 * try {
 *   await credentials.getToken('Stroage');
 * } catch (err) {
 *   if (err instanceof TokenRequestError && err.suggestion) await credentials.getToken(err.suggestion);
 * }
 * ```
 */
export class TokenRequestError extends WitsClientError {
  /** HTTP status of the answer. */
  readonly status: number;
  /** The OAuth `error` value of the answer (`invalid_resource`, `invalid_client`, ...), if any. */
  readonly oauthError: string | undefined;
  /** The server's near-miss suggestion, e.g. the alias closest to a typo. */
  readonly suggestion: string | undefined;
  /** Valid choices the server listed, e.g. every alias. */
  readonly choices: readonly string[] | undefined;
  /** Milliseconds after which a retry may succeed (from `Retry-After`), if the server said so. */
  readonly retryAfterMs: number | undefined;

  constructor(
    message: string,
    details: { code: string; status: number; oauthError?: string | undefined; suggestion?: string | undefined; choices?: readonly string[] | undefined; retryAfterMs?: number | undefined },
  ) {
    super(details.code, message);
    this.name = 'TokenRequestError';
    this.status = details.status;
    this.oauthError = details.oauthError;
    this.suggestion = details.suggestion;
    this.choices = details.choices === undefined ? undefined : Object.freeze([...details.choices]);
    this.retryAfterMs = details.retryAfterMs;
  }
}

/**
 * The wits endpoint could not be reached, or did not answer in time, after every retry.
 * `code` is `ERR_NETWORK` or `ERR_TIMEOUT`; `cause` holds the last underlying error.
 *
 * @example
 * ```ts
 * try {
 *   await credentials.getToken('Storage');
 * } catch (err) {
 *   if (err instanceof WitsConnectionError) console.error('is the wits server running?', err.message);
 * }
 * ```
 */
export class WitsConnectionError extends WitsClientError {
  constructor(code: 'ERR_NETWORK' | 'ERR_TIMEOUT', message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'WitsConnectionError';
  }
}

/**
 * The endpoint answered 200 but not with a usable token: the body is not a token response
 * (`ERR_INVALID_RESPONSE`), or the token is already expired (`ERR_EXPIRED_TOKEN`, usually a wrong
 * system clock). The SDK never hands out an expired token.
 *
 * @example
 * ```ts
 * try {
 *   await credentials.getToken('Storage');
 * } catch (err) {
 *   if (err instanceof InvalidTokenResponseError && err.code === 'ERR_EXPIRED_TOKEN') console.error('check the clock');
 * }
 * ```
 */
export class InvalidTokenResponseError extends WitsClientError {
  constructor(code: 'ERR_INVALID_RESPONSE' | 'ERR_EXPIRED_TOKEN', message: string) {
    super(code, message);
    this.name = 'InvalidTokenResponseError';
  }
}

/**
 * The caller's abort signal fired. Named `AbortError` like the Azure SDKs' and the DOM's, so code
 * that checks `err.name === 'AbortError'` works. Aborting one caller never cancels the request
 * other callers of the same audience share.
 *
 * @example
 * ```ts
 * try {
 *   await credentials.getToken('Storage', { abortSignal: AbortSignal.timeout(1) });
 * } catch (err) {
 *   if (err instanceof AbortError) console.log('gave up');
 * }
 * ```
 */
export class AbortError extends WitsClientError {
  constructor(message = 'The token request was aborted.', options?: { cause?: unknown }) {
    super('ERR_ABORTED', message, options);
    this.name = 'AbortError';
  }
}
