/**
 * Where a workload reaches wits: discovered from the environment `wits exec` sets up, or given.
 * Zero dependencies: this module must load without the server (it is part of `wits/client`).
 *
 * Order mirrors the official clients (docs/protocols.md section 1): App Service variables first,
 * then the IMDS variable.
 */

export type EndpointKind = 'app-service' | 'imds' | 'native';

export interface WitsEndpoint {
  readonly kind: EndpointKind;
  /** Token URL: IDENTITY_ENDPOINT, `<imds>/metadata/identity/oauth2/token` or `<server>/v1/token`. */
  readonly url: string;
  /** The session secret (not present for IMDS, whose endpoint is bound to the session). */
  readonly secret?: string;
}

export interface ExplicitEndpoint {
  /** Base URL of a wits server (native API) ... */
  readonly endpoint: string;
  /** ... and the session secret. */
  readonly secret: string;
}

export class EndpointNotFoundError extends Error {
  readonly code = 'ERR_NO_WITS_ENDPOINT';
  constructor() {
    super(
      'No wits endpoint in this environment: neither IDENTITY_ENDPOINT + IDENTITY_HEADER (App Service) nor ' +
        'AZURE_POD_IDENTITY_AUTHORITY_HOST (IMDS) is set. Run the process under `wits exec -- <command>`, ' +
        'or pass { endpoint, secret } explicitly.',
    );
    this.name = 'EndpointNotFoundError';
  }
}

export function discoverEndpoint(env: Record<string, string | undefined> = process.env, explicit?: ExplicitEndpoint): WitsEndpoint {
  if (explicit !== undefined) {
    return { kind: 'native', url: `${explicit.endpoint.replace(/\/+$/, '')}/v1/token`, secret: explicit.secret };
  }
  const identityEndpoint = env.IDENTITY_ENDPOINT;
  const identityHeader = env.IDENTITY_HEADER;
  if (identityEndpoint && identityHeader) return { kind: 'app-service', url: identityEndpoint, secret: identityHeader };
  const imds = env.AZURE_POD_IDENTITY_AUTHORITY_HOST;
  if (imds) return { kind: 'imds', url: `${imds.replace(/\/+$/, '')}/metadata/identity/oauth2/token` };
  throw new EndpointNotFoundError();
}
