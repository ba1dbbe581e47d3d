/**
 * `entra-secret`: a service principal's client secret (migration only; prefer entra-federated).
 * The secret is read from the file or environment variable named in the config at each exchange,
 * never stored in the database, never logged.
 */
import { WitsError } from '../errors.js';
import { exchangeClientCredentials } from './entraClient.js';
import { readMaterial, type MaterialLocation } from './secretMaterial.js';
import type { SourceToken, SourceTokenRequest, TokenSource } from './tokenSource.js';

export interface EntraSecretOptions {
  readonly tenantId: string;
  readonly clientId: string;
  readonly authority: string;
  readonly secret: MaterialLocation;
}

export class EntraSecretTokenSource implements TokenSource {
  readonly kind = 'entra-secret';
  readonly #options: EntraSecretOptions;
  readonly #attemptTimeoutMs: number;

  constructor(options: EntraSecretOptions, attemptTimeoutMs: number) {
    this.#options = options;
    this.#attemptTimeoutMs = attemptTimeoutMs;
  }

  async getToken(request: SourceTokenRequest): Promise<SourceToken> {
    if (request.identity.kind !== 'system') {
      throw new WitsError('ERR_UNKNOWN_IDENTITY', 'The entra-secret source serves only the workspace system identity (its service principal).');
    }
    return exchangeClientCredentials({
      authority: this.#options.authority,
      tenantId: this.#options.tenantId,
      clientId: this.#options.clientId,
      resource: request.resource,
      credential: { clientSecret: readMaterial(this.#options.secret, 'client secret') },
      attemptTimeoutMs: this.#attemptTimeoutMs,
    });
  }
}
