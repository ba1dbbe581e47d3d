/**
 * The client-credentials exchange with Entra ID shared by the entra-* sources, through
 * @azure/msal-node's ConfidentialClientApplication (protocols.md section 6). Each source supplies
 * only its client credential: a federated assertion, a certificate or a secret.
 */
import { ConfidentialClientApplication, type NodeAuthOptions } from '@azure/msal-node';
import type { SourceToken } from './tokenSource.js';
import { classifyUpstreamFailure } from './upstreamError.js';
import { UpstreamNetworkClient } from './upstreamNetwork.js';
import { defaultScopeOf, sourceTokenFrom } from './upstreamToken.js';

/** Entra's own hosts; any other authority (sovereign proxy, test stand-in) is declared known to MSAL. */
const ENTRA_HOSTS = new Set(['login.microsoftonline.com', 'login.microsoftonline.us', 'login.chinacloudapi.cn', 'login.partner.microsoftonline.cn']);

export type ClientCredential = Pick<NodeAuthOptions, 'clientSecret' | 'clientAssertion' | 'clientCertificate'>;

/**
 * The tenant's OpenID configuration per authority, as MSAL last fetched it. Each exchange builds a
 * new MSAL application (below), which would otherwise fetch this document again before every token
 * request: two upstream calls per token instead of one, and twice the exposure to an outage. It is
 * dropped after a day, and after any failed exchange, so a changed configuration is picked up.
 */
const authorityMetadata = new Map<string, { readonly json: string; readonly fetchedAt: number }>();
const AUTHORITY_METADATA_TTL_MS = 24 * 60 * 60 * 1000;

export interface EntraExchange {
  /** Authority host URL, e.g. https://login.microsoftonline.com. */
  readonly authority: string;
  readonly tenantId: string;
  readonly clientId: string;
  readonly resource: string;
  readonly credential: ClientCredential;
  readonly attemptTimeoutMs: number;
}

export async function exchangeClientCredentials(exchange: EntraExchange): Promise<SourceToken> {
  const network = new UpstreamNetworkClient(exchange.attemptTimeoutMs);
  const host = new URL(exchange.authority).host;
  const authority = `${exchange.authority.replace(/\/+$/, '')}/${exchange.tenantId}`;
  const now = Date.now();
  const known = authorityMetadata.get(authority);
  const metadata = known !== undefined && now - known.fetchedAt < AUTHORITY_METADATA_TTL_MS ? known.json : undefined;
  // A new application per exchange: MSAL's own token cache and throttling memory (which blocks a
  // request for 60 s after any 5xx) would otherwise sit between our resilience layer and Entra.
  const app = new ConfidentialClientApplication({
    auth: {
      clientId: exchange.clientId,
      authority,
      ...(ENTRA_HOSTS.has(host) ? {} : { knownAuthorities: [host] }),
      ...(metadata === undefined ? {} : { authorityMetadata: metadata }),
      ...exchange.credential,
    },
    system: { networkClient: network },
  });
  try {
    const result = await app.acquireTokenByClientCredential({ scopes: [defaultScopeOf(exchange.resource)], skipCache: true });
    if (result === null) throw new Error('Entra ID returned no token');
    const fetched = network.exchange.authorityMetadata;
    if (fetched !== undefined) authorityMetadata.set(authority, { json: fetched, fetchedAt: now });
    return sourceTokenFrom(result.accessToken, result.expiresOn, result.refreshOn);
  } catch (err) {
    authorityMetadata.delete(authority);
    throw classifyUpstreamFailure(err, network.exchange, 'Entra ID');
  }
}
