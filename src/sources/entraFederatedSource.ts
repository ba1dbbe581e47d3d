/**
 * `entra-federated` (secretless): wits' own issuer signs a short-lived assertion (iss = wits'
 * public issuer URL, sub = the identity's subject, aud = api://AzureADTokenExchange) and Entra ID,
 * which trusts that issuer through a federated identity credential, exchanges it for a token.
 * With `assertionFile`, a projected token (Kubernetes workload identity of wits itself) is read
 * per exchange instead.
 */
import { readFileSync } from 'node:fs';
import type { LocalIssuer } from '../issuer/localIssuer.js';
import { exchangeClientCredentials } from './entraClient.js';
import type { SourceToken, SourceTokenRequest, TokenSource } from './tokenSource.js';
import { UpstreamError } from './upstreamError.js';

export const FEDERATED_AUDIENCE = 'api://AzureADTokenExchange';
/** Lifetime of a signed assertion: fresh per exchange, well under Entra's 1 h limit. */
const ASSERTION_LIFETIME_SECONDS = 300;

export interface EntraFederatedOptions {
  readonly tenantId: string;
  readonly clientId: string;
  readonly authority: string;
  /** Subject for the workspace's system identity (default: defaultSubject). */
  readonly subject?: string;
  readonly assertionFile?: string;
}

/** The subject wits asserts for an identity unless configured: stable and unique per identity. */
export function defaultSubject(workspace: string, identityName: string): string {
  return `wits:workspace:${workspace}:identity:${identityName}`;
}

export class EntraFederatedTokenSource implements TokenSource {
  readonly kind = 'entra-federated';
  readonly #options: EntraFederatedOptions;
  readonly #issuer: LocalIssuer;
  readonly #attemptTimeoutMs: number;

  constructor(options: EntraFederatedOptions, issuer: LocalIssuer, attemptTimeoutMs: number) {
    this.#options = options;
    this.#issuer = issuer;
    this.#attemptTimeoutMs = attemptTimeoutMs;
  }

  async #assertion(request: SourceTokenRequest): Promise<string> {
    const file = this.#options.assertionFile;
    if (file !== undefined) {
      try {
        return readFileSync(file, 'utf8').trim();
      } catch (err) {
        throw new UpstreamError(`cannot read the assertion file ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { retryable: false });
      }
    }
    const { identity, workspace } = request;
    const subject = identity.kind === 'system' && this.#options.subject !== undefined ? this.#options.subject : defaultSubject(workspace.name, identity.name);
    return this.#issuer.signAssertion({}, { audience: FEDERATED_AUDIENCE, subject, lifetimeSeconds: ASSERTION_LIFETIME_SECONDS });
  }

  async getToken(request: SourceTokenRequest): Promise<SourceToken> {
    const system = request.identity.kind === 'system';
    return exchangeClientCredentials({
      authority: this.#options.authority,
      tenantId: system ? this.#options.tenantId : request.identity.tenantId,
      clientId: system ? this.#options.clientId : request.identity.clientId,
      resource: request.resource,
      credential: { clientAssertion: () => this.#assertion(request) },
      attemptTimeoutMs: this.#attemptTimeoutMs,
    });
  }
}
