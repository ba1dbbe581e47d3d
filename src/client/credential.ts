/**
 * `WitsCredential`: the Azure SDK `TokenCredential` contract over a `WitsClient`, so any Azure SDK
 * client (Key Vault, Storage, AI Foundry, ...) and `getBearerTokenProvider` accept it.
 */
import { checkIdentity, defaultClient, WitsClient, type WitsClientOptions } from './client.js';
import { CredentialUnavailableError, EndpointNotFoundError, WitsClientError } from './errors.js';
import type { IdentityOptions } from './requestToken.js';
import type { AccessToken, GetTokenOptions, TokenCredential } from './types.js';

/**
 * Options of `WitsCredential`: a user-assigned identity (at most one of `clientId`, `objectId`,
 * `resourceId`, as with `ManagedIdentityCredential`), any `WitsClient` option, or a `client` to
 * share. Without endpoint options it shares the process-wide client (and cache) of `credentials`.
 *
 * @example
 * ```ts
 * const credential = new WitsCredential({ clientId: '00000000-0000-0000-0000-000000000001' });
 * ```
 */
export interface WitsCredentialOptions extends WitsClientOptions, IdentityOptions {
  /** An existing client to take tokens from (its options then apply). */
  readonly client?: WitsClient;
}

const CLIENT_OPTION_NAMES = ['endpoint', 'secret', 'env', 'retry', 'timeoutMs', 'fetch'] as const;

/**
 * An Azure SDK `TokenCredential` backed by wits: `getToken(scopes)` returns
 * `{ token, expiresOnTimestamp, refreshAfterTimestamp, tokenType }`. Exactly one scope per call, as
 * with every managed-identity credential. Outside `wits exec` it throws
 * `CredentialUnavailableError`, so `ChainedTokenCredential` moves on to the next credential.
 *
 * @example
 * ```ts
 * import { SecretClient } from '@azure/keyvault-secrets';
 * import { getBearerTokenProvider } from '@azure/identity';
 * import { WitsCredential } from 'wits/client';
 *
 * const secrets = new SecretClient('https://my-vault.vault.azure.net', new WitsCredential());
 * const tokenProvider = getBearerTokenProvider(new WitsCredential(), 'https://cognitiveservices.azure.com/.default');
 * ```
 */
export class WitsCredential implements TokenCredential {
  readonly #client: WitsClient;
  readonly #identity: IdentityOptions;

  constructor(options: WitsCredentialOptions = {}) {
    const { client, clientId, objectId, resourceId } = options;
    this.#identity = checkIdentity({ clientId, objectId, resourceId }).identity;
    const clientOptions: Record<string, unknown> = {};
    for (const name of CLIENT_OPTION_NAMES) if (options[name] !== undefined) clientOptions[name] = options[name];
    if (client !== undefined && Object.keys(clientOptions).length > 0) {
      throw new WitsClientError('ERR_INVALID_ARGUMENT', `Pass either a client or client options (${Object.keys(clientOptions).join(', ')}), not both.`);
    }
    this.#client = client ?? (Object.keys(clientOptions).length === 0 ? defaultClient() : new WitsClient(clientOptions as WitsClientOptions));
  }

  /**
   * A token for one scope (e.g. `https://vault.azure.net/.default`), from the cache when it is
   * fresh. Called by the Azure SDKs; `claims` (a claims challenge) bypasses the cache, `tenantId`
   * is ignored as managed identity does.
   *
   * @example
   * ```ts
   * const { token, expiresOnTimestamp } = await new WitsCredential().getToken('https://storage.azure.com/.default');
   * ```
   */
  async getToken(scopes: string | string[], options: GetTokenOptions = {}): Promise<AccessToken> {
    const list = typeof scopes === 'string' ? [scopes] : scopes;
    if (!Array.isArray(list) || list.length !== 1 || typeof list[0] !== 'string') {
      throw new WitsClientError(
        'ERR_INVALID_ARGUMENT',
        `WitsCredential: exactly one scope per token is supported (got ${Array.isArray(list) ? list.length : typeof list}), as with every managed identity.`,
      );
    }
    try {
      const timeout = options.requestOptions?.timeout;
      const token = await this.#client.getAccessToken(list[0], {
        ...this.#identity,
        ...(options.abortSignal === undefined ? {} : { abortSignal: options.abortSignal }),
        ...(typeof timeout === 'number' && timeout > 0 ? { timeoutMs: timeout } : {}),
        forceRefresh: typeof options.claims === 'string' && options.claims !== '',
      });
      return {
        token: token.token,
        expiresOnTimestamp: token.expiresOnTimestamp,
        refreshAfterTimestamp: token.refreshAfterTimestamp,
        tokenType: 'Bearer',
      };
    } catch (err) {
      if (err instanceof EndpointNotFoundError) throw new CredentialUnavailableError(`WitsCredential: ${err.message}`, { cause: err });
      throw err;
    }
  }
}
