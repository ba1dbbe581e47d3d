/**
 * Where a workload reaches wits: discovered from the environment `wits exec` sets up, or given.
 * Zero dependencies: this module must load without the server (it is part of `wits/client`).
 *
 * Order mirrors the official clients (docs/protocols.md section 1): App Service variables first,
 * then the IMDS variable.
 */
import { EndpointNotFoundError, WitsClientError } from './errors.js';

export { EndpointNotFoundError } from './errors.js';

/**
 * The protocol spoken to a wits endpoint: `app-service` (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`),
 * `imds` (`AZURE_POD_IDENTITY_AUTHORITY_HOST`, `wits exec --imds`) or `native` (`POST /v1/token`
 * of a wits server given explicitly).
 *
 * @example
 * ```ts
 * if (discoverEndpoint().kind === 'imds') console.log('running under wits exec --imds');
 * ```
 */
export type EndpointKind = 'app-service' | 'imds' | 'native';

/**
 * A resolved wits endpoint.
 *
 * @example
 * ```ts
 * const endpoint: WitsEndpoint = discoverEndpoint();
 * console.log(endpoint.kind, endpoint.url);
 * ```
 */
export interface WitsEndpoint {
  readonly kind: EndpointKind;
  /** Token URL: IDENTITY_ENDPOINT, `<imds>/metadata/identity/oauth2/token` or `<server>/v1/token`. */
  readonly url: string;
  /** The session secret (not present for IMDS, whose endpoint is bound to the session). */
  readonly secret?: string;
}

/**
 * A wits server and session secret given explicitly instead of discovered (e.g. a Spark executor
 * that received them from its driver).
 *
 * @example
 * ```ts
 * const endpoint = discoverEndpoint(process.env, { endpoint: 'http://wits.internal:8339', secret: mySessionSecret });
 * ```
 */
export interface ExplicitEndpoint {
  /** Base URL of a wits server (native API) ... */
  readonly endpoint: string;
  /** ... and the session secret. */
  readonly secret: string;
}

/** Path of the App Service endpoint on a wits server (src/protocols/appService.ts). */
const APP_SERVICE_SUFFIX = '/msi/token';
const NATIVE_SUFFIX = '/v1/token';
const IMDS_TOKEN_PATH = '/metadata/identity/oauth2/token';

type Env = Readonly<Record<string, string | undefined>>;

function processEnv(): Env {
  const proc = (globalThis as { process?: { env?: Env } }).process;
  return proc?.env ?? {};
}

function checkHttpUrl(value: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new WitsClientError('ERR_INVALID_ENDPOINT', `${what} is not a URL: ${JSON.stringify(value.slice(0, 200))}.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new WitsClientError('ERR_INVALID_ENDPOINT', `${what} must be an http(s) URL, got ${JSON.stringify(url.protocol)}.`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new WitsClientError('ERR_INVALID_ENDPOINT', `${what} must not contain user information.`);
  }
  return url;
}

/**
 * The wits endpoint of this process: `explicit` when given, else the App Service variables
 * (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`), else the IMDS variable
 * (`AZURE_POD_IDENTITY_AUTHORITY_HOST`). Throws `EndpointNotFoundError`, naming what is missing,
 * when none is usable, and a `WitsClientError` (`ERR_INVALID_ENDPOINT`) for a malformed URL.
 *
 * @example
 * ```ts
 * import { discoverEndpoint } from 'wits/client';
 * const endpoint = discoverEndpoint(); // inside `wits exec -- node app.js`
 * ```
 */
export function discoverEndpoint(env: Env = processEnv(), explicit?: ExplicitEndpoint): WitsEndpoint {
  if (explicit !== undefined) {
    if (typeof explicit.endpoint !== 'string' || explicit.endpoint.trim() === '') {
      throw new WitsClientError('ERR_INVALID_ENDPOINT', 'The explicit endpoint is empty: pass the base URL of a wits server.');
    }
    if (typeof explicit.secret !== 'string' || explicit.secret === '') {
      throw new WitsClientError('ERR_INVALID_ENDPOINT', 'An explicit endpoint needs the session secret too: pass { endpoint, secret }.');
    }
    const base = explicit.endpoint.trim().replace(/\/+$/, '');
    checkHttpUrl(base, 'The endpoint');
    const url = base.endsWith(NATIVE_SUFFIX) ? base : `${base}${NATIVE_SUFFIX}`;
    return { kind: 'native', url, secret: explicit.secret };
  }
  const identityEndpoint = env.IDENTITY_ENDPOINT;
  const identityHeader = env.IDENTITY_HEADER;
  const imds = env.AZURE_POD_IDENTITY_AUTHORITY_HOST;
  if (identityEndpoint && identityHeader) {
    checkHttpUrl(identityEndpoint, 'IDENTITY_ENDPOINT');
    return { kind: 'app-service', url: identityEndpoint, secret: identityHeader };
  }
  if (imds) {
    checkHttpUrl(imds, 'AZURE_POD_IDENTITY_AUTHORITY_HOST');
    return { kind: 'imds', url: `${imds.replace(/\/+$/, '')}${IMDS_TOKEN_PATH}` };
  }
  if (identityEndpoint) {
    throw new EndpointNotFoundError(
      ['IDENTITY_HEADER'],
      'IDENTITY_ENDPOINT is set but IDENTITY_HEADER is missing: the App Service protocol needs both (wits exec sets both).',
    );
  }
  if (identityHeader) {
    throw new EndpointNotFoundError(
      ['IDENTITY_ENDPOINT'],
      'IDENTITY_HEADER is set but IDENTITY_ENDPOINT is missing: the App Service protocol needs both (wits exec sets both).',
    );
  }
  throw new EndpointNotFoundError();
}

/**
 * The base URL of the wits server behind an endpoint, where it serves OpenID discovery and JWKS;
 * undefined for IMDS (the session-bound IMDS endpoint serves tokens only) or an App Service URL
 * that is not a wits server's `/msi/token`.
 *
 * @example
 * ```ts
 * const base = serverBaseUrl(discoverEndpoint()); // 'http://127.0.0.1:8339'
 * ```
 */
export function serverBaseUrl(endpoint: WitsEndpoint): string | undefined {
  if (endpoint.kind === 'imds') return undefined;
  const suffix = endpoint.kind === 'native' ? NATIVE_SUFFIX : APP_SERVICE_SUFFIX;
  let url: URL;
  try {
    url = new URL(endpoint.url);
  } catch {
    return undefined;
  }
  const path = url.pathname.replace(/\/+$/, '');
  if (!path.endsWith(suffix)) return undefined;
  return `${url.origin}${path.slice(0, -suffix.length)}`;
}
