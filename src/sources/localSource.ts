/** The `local` source: wits' own issuer signs the token (the embedded default). */
import type { LocalIssuer } from '../issuer/localIssuer.js';
import type { SourceToken, SourceTokenRequest, TokenSource } from './tokenSource.js';

export class LocalTokenSource implements TokenSource {
  readonly kind = 'local';
  readonly #issuer: LocalIssuer;
  readonly #lifetimeSeconds: number;

  constructor(issuer: LocalIssuer, lifetimeSeconds: number) {
    this.#issuer = issuer;
    this.#lifetimeSeconds = lifetimeSeconds;
  }

  async getToken({ identity, resource }: SourceTokenRequest): Promise<SourceToken> {
    return this.#issuer.mint(
      {
        audience: resource,
        tenantId: identity.tenantId,
        objectId: identity.objectId,
        clientId: identity.clientId,
        resourceId: identity.resourceId,
      },
      this.#lifetimeSeconds,
    );
  }
}
