/**
 * `managed-identity`: tokens from the managed identity of the host wits runs on (VM, App Service,
 * Container Apps, Functions, AKS, Arc, ...), through @azure/msal-node's ManagedIdentityApplication,
 * which reads the host's standard environment. The workspace's system identity maps to the host
 * identity named in the options (or the host's system-assigned one); a user-assigned identity of
 * the workspace maps to the host's user-assigned identity with the same client id.
 *
 * `wits exec` never passes the host's variables to a workload: the workload talks to wits only.
 */
import { ManagedIdentityApplication, type ManagedIdentityIdParams } from '@azure/msal-node';
import type { SourceToken, SourceTokenRequest, TokenSource } from './tokenSource.js';
import { classifyUpstreamFailure } from './upstreamError.js';
import { UpstreamNetworkClient } from './upstreamNetwork.js';
import { sourceTokenFrom } from './upstreamToken.js';

export interface ManagedIdentityOptions {
  readonly clientId?: string;
  readonly resourceId?: string;
  readonly objectId?: string;
}

export class ManagedIdentityTokenSource implements TokenSource {
  readonly kind = 'managed-identity';
  readonly #options: ManagedIdentityOptions;
  readonly #attemptTimeoutMs: number;

  constructor(options: ManagedIdentityOptions, attemptTimeoutMs: number) {
    this.#options = options;
    this.#attemptTimeoutMs = attemptTimeoutMs;
  }

  #idParams(request: SourceTokenRequest): ManagedIdentityIdParams {
    if (request.identity.kind === 'user') return { userAssignedClientId: request.identity.clientId };
    const o = this.#options;
    if (o.clientId !== undefined) return { userAssignedClientId: o.clientId };
    if (o.resourceId !== undefined) return { userAssignedResourceId: o.resourceId };
    if (o.objectId !== undefined) return { userAssignedObjectId: o.objectId };
    return {};
  }

  async getToken(request: SourceTokenRequest): Promise<SourceToken> {
    // One application per attempt: our network client sees this attempt's statuses only, and our
    // cache (not MSAL's) decides when to call.
    const network = new UpstreamNetworkClient(this.#attemptTimeoutMs);
    const app = new ManagedIdentityApplication({ managedIdentityIdParams: this.#idParams(request), system: { networkClient: network } });
    try {
      const result = await app.acquireToken({ resource: request.resource, forceRefresh: true });
      return sourceTokenFrom(result.accessToken, result.expiresOn, result.refreshOn);
    } catch (err) {
      throw classifyUpstreamFailure(err, network.exchange, 'the host managed identity endpoint');
    }
  }
}
