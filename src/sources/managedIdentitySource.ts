/**
 * `managed-identity`: tokens from the managed identity of the host wits runs on (VM, App Service,
 * Container Apps, Functions, AKS, Arc, ...), through @azure/msal-node's ManagedIdentityApplication,
 * which reads the host's standard environment. The workspace's system identity maps to the host
 * identity named in the options (or the host's system-assigned one); a user-assigned identity of
 * the workspace maps to the host's user-assigned identity with the same client id.
 *
 * `wits exec` never passes the host's variables to a workload: the workload talks to wits only.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { ManagedIdentityApplication, type INetworkModule, type ManagedIdentityIdParams } from '@azure/msal-node';
import type { SourceToken, SourceTokenRequest, TokenSource } from './tokenSource.js';
import { classifyUpstreamFailure } from './upstreamError.js';
import { UpstreamNetworkClient } from './upstreamNetwork.js';
import { sourceTokenFrom } from './upstreamToken.js';

/**
 * Fix (found by test/sources/managedIdentity.test.ts): msal-node keeps the managed-identity source
 * it picks from the environment in a static field (ManagedIdentityClient.identitySource), built
 * with the network client of the FIRST ManagedIdentityApplication of the process. A per-attempt
 * network client given to later applications is never used, so their attempts saw no status: a
 * host's 400 ("no such identity") looked like "no answer" and was retried into a 503. Every
 * application therefore gets this one delegating client, which forwards each request to the
 * network client of the attempt in whose async context it runs.
 */
const attemptNetwork = new AsyncLocalStorage<UpstreamNetworkClient>();

function currentNetwork(): UpstreamNetworkClient {
  const network = attemptNetwork.getStore();
  if (network === undefined) throw new Error('managed identity request outside of an attempt');
  return network;
}

const delegatingNetwork: INetworkModule = {
  sendGetRequestAsync: (url, options, timeout) => currentNetwork().sendGetRequestAsync(url, options, timeout),
  sendPostRequestAsync: (url, options) => currentNetwork().sendPostRequestAsync(url, options),
};

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
    // One application per attempt: our network client (reached through delegatingNetwork) sees this
    // attempt's statuses only, and our cache (not MSAL's) decides when to call.
    const network = new UpstreamNetworkClient(this.#attemptTimeoutMs);
    // Fix: disableInternalRetries. msal-node otherwise retries 404/408/429/5xx itself (up to 3
    // times, 1 s apart or Retry-After; IMDS up to 4 s back-off) inside one of our attempts: an
    // attempt outlived its time bound, retries went on in the background after wits gave up (even
    // while the circuit was open), and the resilience layer never saw the 500s. wits' own layer
    // retries with back-off, Retry-After and the breaker.
    const app = new ManagedIdentityApplication({
      managedIdentityIdParams: this.#idParams(request),
      system: { networkClient: delegatingNetwork, disableInternalRetries: true },
    });
    try {
      const result = await attemptNetwork.run(network, () => app.acquireToken({ resource: request.resource, forceRefresh: true }));
      return sourceTokenFrom(result.accessToken, result.expiresOn, result.refreshOn);
    } catch (err) {
      throw classifyUpstreamFailure(err, network.exchange, 'the host managed identity endpoint');
    }
  }
}
