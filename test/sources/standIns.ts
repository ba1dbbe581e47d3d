/**
 * Strict local stand-ins for wits' upstreams, started by the tests:
 *
 * - ManagedIdentityHost: the host's managed-identity endpoint, App Service protocol (GET
 *   IDENTITY_ENDPOINT with X-IDENTITY-HEADER, api-version 2019-08-01) and IMDS protocol (GET
 *   /metadata/identity/oauth2/token[/] with `Metadata: true`, api-version 2018-02-01).
 * - EntraStandIn: an Entra-like authority over HTTPS: OIDC metadata at
 *   /<tenant>/v2.0/.well-known/openid-configuration (fetched first by MSAL with knownAuthorities),
 *   JWKS, and the v2.0 token endpoint for client_credentials with a federated assertion (verified the
 *   way Entra does: discovery + JWKS fetched from the assertion's `iss`, then iss/sub/aud/exp), a
 *   certificate assertion (x5t#S256 + signature with the certificate's key, aud = token endpoint)
 *   or a client secret.
 *
 * Both sign the tokens they issue with their OWN key (iss https://sts.windows.net/<tenant>/, a
 * `uti` claim), so a test can prove a workload got the upstream's token and not a wits-signed one.
 * Both record every call, can be told to fail the next calls (429 + Retry-After, 500) or to be down
 * (an HTTP status, or hang), and close every socket on close().
 */
import { createHash, createPublicKey, randomBytes, randomUUID, timingSafeEqual, X509Certificate } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  SignJWT,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
  type CryptoKey,
} from 'jose';

export const FEDERATED_AUDIENCE = 'api://AzureADTokenExchange';
export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** What a stand-in answers instead of a token: an HTTP error (with Retry-After) or no answer at all. */
export type Fault = { readonly status: number; readonly retryAfter?: number } | { readonly hang: true };

// ---------------------------------------------------------------------------------------------
// The upstream's own token signer

export interface IssuedUpstreamToken {
  readonly token: string;
  readonly uti: string;
  readonly exp: number;
}

/** Signs tokens the way Entra ID does for apps (v1 shape), with a key only the stand-in holds. */
export class UpstreamSigner {
  readonly tenantId: string;
  readonly issuer: string;
  readonly jwks: JSONWebKeySet;
  /** Every token this signer issued, in order. */
  readonly issued: IssuedUpstreamToken[] = [];
  readonly #privateKey: CryptoKey;
  readonly #kid: string;

  private constructor(tenantId: string, privateKey: CryptoKey, publicJwk: JWK, kid: string) {
    this.tenantId = tenantId;
    this.issuer = `https://sts.windows.net/${tenantId}/`;
    this.#privateKey = privateKey;
    this.#kid = kid;
    this.jwks = { keys: [{ ...publicJwk, kid, alg: 'RS256', use: 'sig' }] };
  }

  static async create(tenantId: string): Promise<UpstreamSigner> {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    return new UpstreamSigner(tenantId, privateKey, await exportJWK(publicKey), `standin-${randomBytes(6).toString('hex')}`);
  }

  async issue(audience: string, appId: string, lifetimeSeconds = 3600): Promise<IssuedUpstreamToken> {
    const iat = Math.floor(Date.now() / 1000);
    const exp = iat + lifetimeSeconds;
    const uti = randomBytes(16).toString('base64url');
    const oid = randomUUID();
    const token = await new SignJWT({ appid: appId, appidacr: '2', idtyp: 'app', oid, tid: this.tenantId, uti, ver: '1.0', rh: randomBytes(24).toString('base64url') })
      .setProtectedHeader({ alg: 'RS256', kid: this.#kid, typ: 'JWT', x5t: this.#kid })
      .setIssuer(this.issuer)
      .setAudience(audience)
      .setSubject(oid)
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(exp)
      .sign(this.#privateKey);
    const issued = { token, uti, exp };
    this.issued.push(issued);
    return issued;
  }

  /** Verifies that `token` was signed by this stand-in (throws otherwise). */
  async verify(token: string, audience?: string): Promise<JWTPayload> {
    const { payload } = await jwtVerify(token, createLocalJWKSet(this.jwks), { issuer: this.issuer, ...(audience === undefined ? {} : { audience }) });
    return payload;
  }
}

// ---------------------------------------------------------------------------------------------
// Small HTTP plumbing shared by the stand-ins

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function sendFault(res: ServerResponse, fault: Fault, protocolError: (status: number) => unknown): void {
  if ('hang' in fault) return; // never answer; close() destroys the socket
  const headers: Record<string, string> = fault.retryAfter === undefined ? {} : { 'retry-after': String(fault.retryAfter) };
  sendJson(res, fault.status, protocolError(fault.status), headers);
}

function readBody(req: IncomingMessage, limit = 64 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new Error('body too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Each parameter at most once (a duplicate is a malformed request for Entra and App Service alike). */
function singleParams(params: URLSearchParams): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const [k, v] of params) {
    if (k in out) return undefined;
    out[k] = v;
  }
  return out;
}

abstract class StandInServer {
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();
  #faults: Fault[] = [];
  #outage: Fault | null = null;

  protected abstract handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void>;

  protected async listen(server: Server): Promise<number> {
    this.#server = server;
    server.on('connection', (s: Socket) => {
      this.#sockets.add(s);
      s.once('close', () => this.#sockets.delete(s));
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const url = new URL(req.url ?? '/', 'http://stand-in');
      this.handle(req, res, url).catch((err: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { error: 'server_error', error_description: `stand-in failure: ${(err as Error).message}` });
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }

  /** The next `count` token calls answer `fault` (then the stand-in is healthy again). */
  failNext(count: number, fault: Fault): void {
    for (let i = 0; i < count; i++) this.#faults.push(fault);
  }

  /** Every call answers `fault` until setOutage(null). */
  setOutage(fault: Fault | null): void {
    this.#outage = fault;
  }

  /** The fault this token call must answer, if any. */
  protected takeFault(): Fault | undefined {
    return this.#outage ?? this.#faults.shift();
  }

  protected get outage(): Fault | null {
    return this.#outage;
  }

  async close(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

// ---------------------------------------------------------------------------------------------
// The host's managed-identity endpoint (App Service and IMDS protocols)

export interface ManagedIdentityCall {
  readonly time: number;
  readonly protocol: 'appservice' | 'imds';
  readonly resource: string | undefined;
  readonly query: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly status: number | 'hang';
}

export const APP_SERVICE_PATH = '/msi/token';
const IMDS_PATHS = new Set(['/metadata/identity/oauth2/token', '/metadata/identity/oauth2/token/']);

export class ManagedIdentityHost extends StandInServer {
  readonly signer: UpstreamSigner;
  /** The secret the host gives its processes in IDENTITY_HEADER. */
  readonly identityHeader = randomBytes(24).toString('base64url');
  /** Client id of the host's system-assigned identity. */
  readonly systemClientId: string = randomUUID();
  /** Client ids of the host's user-assigned identities. */
  readonly userClientIds = new Set<string>();
  readonly calls: ManagedIdentityCall[] = [];
  #url = '';

  private constructor(signer: UpstreamSigner) {
    super();
    this.signer = signer;
  }

  static async start(tenantId = randomUUID()): Promise<ManagedIdentityHost> {
    const host = new ManagedIdentityHost(await UpstreamSigner.create(tenantId));
    const port = await host.listen(createHttpServer());
    host.#url = `http://127.0.0.1:${port}`;
    return host;
  }

  get url(): string {
    return this.#url;
  }

  /** IDENTITY_ENDPOINT + IDENTITY_HEADER for the App Service protocol. */
  appServiceEnv(): Record<string, string> {
    return { IDENTITY_ENDPOINT: this.#url + APP_SERVICE_PATH, IDENTITY_HEADER: this.identityHeader };
  }

  /** AZURE_POD_IDENTITY_AUTHORITY_HOST for the IMDS protocol. */
  imdsEnv(): Record<string, string> {
    return { AZURE_POD_IDENTITY_AUTHORITY_HOST: this.#url };
  }

  /** Calls that reached the token logic (any protocol), optionally for one resource. */
  tokenCalls(resource?: string): ManagedIdentityCall[] {
    return this.calls.filter((c) => resource === undefined || c.resource === resource);
  }

  protected async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const appService = url.pathname === APP_SERVICE_PATH;
    const imds = IMDS_PATHS.has(url.pathname);
    const query = singleParams(url.searchParams);
    const call = (status: number | 'hang') =>
      this.calls.push({ time: Date.now(), protocol: appService ? 'appservice' : 'imds', resource: query?.resource, query: query ?? {}, headers: { ...req.headers }, status });
    const fail = (status: number, error: string, description: string) => {
      call(status);
      // App Service answers {statusCode, message}; IMDS {error, error_description}. Send both shapes.
      sendJson(res, status, { error, error_description: description, statusCode: status, message: description });
    };
    if (!appService && !imds) return fail(404, 'not_found', 'no such endpoint');
    if (req.method !== 'GET') return fail(405, 'invalid_request', 'GET only');
    if (query === undefined) return fail(400, 'invalid_request', 'duplicate query parameter');
    if (appService) {
      if (req.headers['x-identity-header'] !== this.identityHeader) return fail(401, 'unauthorized', 'X-IDENTITY-HEADER missing or wrong');
      if (query['api-version'] !== '2019-08-01') return fail(400, 'invalid_request', 'api-version must be 2019-08-01');
    } else {
      if (req.headers['x-forwarded-for'] !== undefined) return fail(400, 'invalid_request', 'X-Forwarded-For is not allowed');
      if (req.headers.metadata !== 'true') return fail(400, 'invalid_request', 'Required metadata header not specified');
      if (query['api-version'] !== '2018-02-01') return fail(400, 'invalid_request', 'api-version must be 2018-02-01');
    }
    const resource = query.resource;
    if (resource === undefined || !/^https:\/\/[^\s]+$/.test(resource) || resource.endsWith('/.default')) {
      return fail(400, 'invalid_resource', 'resource must be an https URI without /.default');
    }
    const selectors = ['client_id', 'object_id', 'mi_res_id', 'msi_res_id', 'principal_id'].filter((k) => query[k] !== undefined);
    if (selectors.length > 1) return fail(400, 'invalid_request', 'more than one identity selector');
    let clientId = this.systemClientId;
    if (selectors.length === 1) {
      const key = selectors[0] as string;
      if (key !== 'client_id' || !this.userClientIds.has(query.client_id as string)) {
        return fail(400, 'invalid_request', 'Identity not found');
      }
      clientId = query.client_id as string;
    }
    const fault = this.takeFault();
    if (fault !== undefined) {
      call('hang' in fault ? 'hang' : fault.status);
      return sendFault(res, fault, (status) => ({ error: 'server_error', error_description: `stand-in fault ${status}`, statusCode: status, message: `stand-in fault ${status}` }));
    }
    const issued = await this.signer.issue(resource, clientId);
    call(200);
    const now = Math.floor(Date.now() / 1000);
    sendJson(res, 200, {
      access_token: issued.token,
      expires_on: String(issued.exp),
      ...(imds ? { expires_in: String(issued.exp - now), not_before: String(now), refresh_token: '', ext_expires_in: String(issued.exp - now) } : {}),
      resource,
      token_type: 'Bearer',
      client_id: clientId,
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Entra ID: verification of client assertions, the way Entra does it

/** Why the stand-in refused a client credential (Entra's AADSTS codes, approximately). */
export class CredentialRejected extends Error {
  readonly aadsts: number;
  constructor(aadsts: number, message: string) {
    super(`AADSTS${aadsts}: ${message}`);
    this.aadsts = aadsts;
  }
}

export interface FederatedCredential {
  readonly issuer: string;
  readonly subject: string;
  readonly audience: string;
}

const MAX_FEDERATED_LIFETIME_SECONDS = 3600;

async function fetchJson(url: string): Promise<unknown> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000), redirect: 'error' });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return response.json();
}

/** Loopback issuers may be plain http (the stand-in runs next to wits); anything else must be https. */
function fetchableIssuerUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || (url.protocol === 'http:' && (url.hostname === '127.0.0.1' || url.hostname === 'localhost'));
  } catch {
    return false;
  }
}

/**
 * Verifies a federated assertion as Entra does for a federated identity credential: the signature
 * through the discovery document and JWKS fetched from the assertion's own `iss`, then `iss`, `sub`
 * and `aud` against the credential, `exp` (and `nbf`) against the clock, and a short lifetime.
 */
/** The signature algorithms Entra ID accepts on federated assertions: RSA only. */
const ENTRA_FEDERATION_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];

export async function verifyFederatedAssertion(assertion: string, credential: FederatedCredential, now = Date.now()): Promise<JWTPayload> {
  let unverified: JWTPayload;
  try {
    unverified = decodeJwt(assertion);
  } catch {
    throw new CredentialRejected(50027, 'The client assertion is not a valid JWT.');
  }
  const iss = unverified.iss;
  if (typeof iss !== 'string' || !fetchableIssuerUrl(iss)) throw new CredentialRejected(700211, 'No matching federated identity record found for presented assertion issuer.');
  const base = iss.replace(/\/+$/, '');
  let keys: JSONWebKeySet;
  try {
    const discovery = (await fetchJson(`${base}/.well-known/openid-configuration`)) as { issuer?: unknown; jwks_uri?: unknown };
    if (discovery.issuer !== iss) throw new Error(`discovery issuer ${String(discovery.issuer)} is not the assertion issuer`);
    if (typeof discovery.jwks_uri !== 'string' || !fetchableIssuerUrl(discovery.jwks_uri)) throw new Error('no usable jwks_uri');
    keys = (await fetchJson(discovery.jwks_uri)) as JSONWebKeySet;
  } catch (err) {
    throw new CredentialRejected(544120, `Could not fetch the issuer's discovery document or signing keys (${(err as Error).message}).`);
  }
  // Entra ID accepts only RSA signatures on federated assertions (AADSTS5002738 otherwise).
  let alg: unknown;
  try {
    alg = decodeProtectedHeader(assertion).alg;
  } catch {
    alg = undefined;
  }
  if (typeof alg !== 'string' || !ENTRA_FEDERATION_ALGS.includes(alg)) {
    throw new CredentialRejected(5002738, `Invalid JWT token. '${String(alg)}' is not a supported signature algorithm.`);
  }
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(assertion, createLocalJWKSet(keys), {
      algorithms: ENTRA_FEDERATION_ALGS,
      requiredClaims: ['iss', 'sub', 'aud', 'exp'],
      currentDate: new Date(now),
      clockTolerance: 30,
    }));
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_JWT_EXPIRED' || code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') {
      throw new CredentialRejected(700024, `Client assertion is not within its valid time range (${(err as Error).message}).`);
    }
    throw new CredentialRejected(5002738, `Signature validation of the client assertion failed (${(err as Error).message}).`);
  }
  if (payload.iss !== credential.issuer) throw new CredentialRejected(700211, 'No matching federated identity record found for presented assertion issuer.');
  if (payload.sub !== credential.subject) throw new CredentialRejected(700213, `No matching federated identity record found for presented assertion subject '${String(payload.sub)}'.`);
  const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if (!audiences.includes(credential.audience)) throw new CredentialRejected(700212, 'No matching federated identity record found for presented assertion audience.');
  const start = typeof payload.iat === 'number' ? payload.iat : typeof payload.nbf === 'number' ? payload.nbf : Math.floor(now / 1000);
  if ((payload.exp as number) - start > MAX_FEDERATED_LIFETIME_SECONDS) throw new CredentialRejected(700024, 'Client assertion lifetime exceeds one hour.');
  return payload;
}

export interface CertificateCredential {
  readonly certificatePem: string;
}

/**
 * Verifies a certificate client assertion (private_key_jwt) as Entra does: the certificate is found
 * by the `x5t#S256` header, the signature checked with its public key, iss = sub = client id,
 * aud = the token endpoint, exp in the future, a jti.
 */
export async function verifyCertificateAssertion(assertion: string, credential: CertificateCredential, clientId: string, tokenEndpoint: string, now = Date.now()): Promise<JWTPayload> {
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(assertion);
  } catch {
    throw new CredentialRejected(50027, 'The client assertion is not a valid JWT.');
  }
  const cert = new X509Certificate(credential.certificatePem);
  const expected = createHash('sha256').update(cert.raw).digest('base64url');
  if (header['x5t#S256'] !== expected) throw new CredentialRejected(700027, 'The certificate with identifier used to sign the client assertion is not registered on the application (x5t#S256).');
  if (header.alg !== 'PS256' && header.alg !== 'RS256') throw new CredentialRejected(5002738, `Unsupported assertion algorithm ${String(header.alg)}.`);
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(assertion, createPublicKey(credential.certificatePem), {
      algorithms: [header.alg],
      requiredClaims: ['iss', 'sub', 'aud', 'exp', 'jti'],
      currentDate: new Date(now),
      clockTolerance: 30,
    }));
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_JWT_EXPIRED' || code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') {
      throw new CredentialRejected(700024, `Client assertion is not within its valid time range (${(err as Error).message}).`);
    }
    throw new CredentialRejected(700027, `Client assertion failed signature validation (${(err as Error).message}).`);
  }
  if (payload.iss !== clientId || payload.sub !== clientId) throw new CredentialRejected(700023, 'Client assertion iss and sub must be the client id.');
  const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if (audiences.length !== 1 || audiences[0] !== tokenEndpoint) throw new CredentialRejected(700016, `Client assertion audience must be the token endpoint ${tokenEndpoint}.`);
  return payload;
}

// ---------------------------------------------------------------------------------------------
// The Entra-like authority (HTTPS)

export type AppRegistration =
  | ({ readonly kind: 'federated' } & FederatedCredential)
  | ({ readonly kind: 'certificate' } & CertificateCredential)
  | { readonly kind: 'secret'; readonly secret: string };

export interface EntraCall {
  readonly time: number;
  readonly kind: 'metadata' | 'keys' | 'token' | 'other';
  readonly tenant: string;
  readonly clientId?: string;
  readonly scope?: string;
  readonly status: number | 'hang';
  /** The error description sent back, if any. */
  readonly error?: string;
}

export class EntraStandIn extends StandInServer {
  readonly signer: UpstreamSigner;
  readonly tenantId: string;
  /** Registered applications by client id. */
  readonly apps = new Map<string, AppRegistration>();
  readonly calls: EntraCall[] = [];
  /** Every client assertion received (federated ones are wits-signed: they must not leak either). */
  readonly assertions: string[] = [];
  /** `jti` of every verified federated assertion, to check freshness per exchange. */
  readonly federatedJtis: string[] = [];
  #url = '';

  private constructor(signer: UpstreamSigner) {
    super();
    this.signer = signer;
    this.tenantId = signer.tenantId;
  }

  static async start(tls: { key: string; cert: string }, tenantId = randomUUID()): Promise<EntraStandIn> {
    const entra = new EntraStandIn(await UpstreamSigner.create(tenantId));
    const port = await entra.listen(createHttpsServer({ key: tls.key, cert: tls.cert }) as unknown as Server);
    entra.#url = `https://127.0.0.1:${port}`;
    return entra;
  }

  /** The authority host URL to configure in wits (`--authority`). */
  get url(): string {
    return this.#url;
  }

  get tokenEndpoint(): string {
    return `${this.#url}/${this.tenantId}/oauth2/v2.0/token`;
  }

  tokenCalls(clientId?: string): EntraCall[] {
    return this.calls.filter((c) => c.kind === 'token' && (clientId === undefined || c.clientId === clientId));
  }

  metadata(): Record<string, unknown> {
    const base = `${this.#url}/${this.tenantId}`;
    return {
      token_endpoint: `${base}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${base}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: `${base}/v2.0`,
      request_uri_parameter_supported: false,
      userinfo_endpoint: 'https://graph.microsoft.com/oidc/userinfo',
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${base}/oauth2/v2.0/logout`,
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'tid'],
      kerberos_endpoint: `${base}/kerberos`,
      tenant_region_scope: 'EU',
      cloud_instance_name: 'microsoftonline.com',
      cloud_graph_host_name: 'graph.windows.net',
      msgraph_host: 'graph.microsoft.com',
      rbac_url: 'https://pas.windows.net',
    };
  }

  protected async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const [, tenant = '', ...rest] = url.pathname.split('/');
    const path = rest.join('/');
    const kind: EntraCall['kind'] =
      path === 'v2.0/.well-known/openid-configuration' ? 'metadata' : path === 'discovery/v2.0/keys' ? 'keys' : path === 'oauth2/v2.0/token' ? 'token' : 'other';
    const record = (status: number | 'hang', extra: Partial<EntraCall> = {}) => this.calls.push({ time: Date.now(), kind, tenant, status, ...extra });
    const fail = (status: number, error: string, description: string, extra: Partial<EntraCall> = {}) => {
      record(status, { ...extra, error: description });
      sendJson(res, status, {
        error,
        error_description: `${description}\r\nTrace ID: ${randomUUID()}\r\nCorrelation ID: ${randomUUID()}\r\nTimestamp: ${new Date().toISOString()}`,
        error_codes: [Number(/AADSTS(\d+)/.exec(description)?.[1] ?? 0)],
        timestamp: new Date().toISOString(),
        trace_id: randomUUID(),
        correlation_id: randomUUID(),
      });
    };
    if (kind === 'other') return fail(404, 'invalid_request', 'AADSTS900561: The endpoint only accepts the documented paths.');
    if (tenant !== this.tenantId) return fail(400, 'invalid_tenant', `AADSTS90002: Tenant '${tenant.slice(0, 60)}' not found.`);
    // An outage takes the whole authority down (metadata included); failNext only hits token calls.
    if (kind !== 'token' && this.outage !== null) {
      record('hang' in this.outage ? 'hang' : this.outage.status);
      return sendFault(res, this.outage, (s) => ({ error: 'temporarily_unavailable', error_description: `AADSTS90033: stand-in outage ${s}` }));
    }
    if (kind === 'metadata') {
      if (req.method !== 'GET') return fail(405, 'invalid_request', 'AADSTS900561: GET only.');
      record(200);
      return sendJson(res, 200, this.metadata());
    }
    if (kind === 'keys') {
      record(200);
      return sendJson(res, 200, this.signer.jwks);
    }
    // The token endpoint.
    if (req.method !== 'POST') return fail(405, 'invalid_request', 'AADSTS900561: The endpoint only accepts POST requests.');
    if (!String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
      return fail(400, 'invalid_request', 'AADSTS900144: The request body must be application/x-www-form-urlencoded.');
    }
    const form = singleParams(new URLSearchParams(await readBody(req)));
    if (form === undefined) return fail(400, 'invalid_request', 'AADSTS90014: A parameter was given more than once.');
    const clientId = form.client_id;
    const scope = form.scope;
    const extra = { clientId, scope };
    if (form.client_assertion !== undefined) this.assertions.push(form.client_assertion);
    if (form.grant_type !== 'client_credentials') return fail(400, 'unsupported_grant_type', 'AADSTS70003: grant_type must be client_credentials.', extra);
    if (clientId === undefined) return fail(400, 'invalid_request', "AADSTS900144: The request body must contain the parameter 'client_id'.", extra);
    if (scope === undefined || !/^\S+\/\.default$/.test(scope)) return fail(400, 'invalid_scope', 'AADSTS1002012: The scope must be exactly one <resource>/.default.', extra);
    const app = this.apps.get(clientId);
    if (app === undefined) return fail(400, 'unauthorized_client', `AADSTS700016: Application with identifier '${clientId.slice(0, 40)}' was not found in the directory.`, extra);
    try {
      await this.#verifyCredential(app, form, clientId);
    } catch (err) {
      if (err instanceof CredentialRejected) return fail(401, 'invalid_client', err.message, extra);
      throw err;
    }
    const fault = this.takeFault();
    if (fault !== undefined) {
      record('hang' in fault ? 'hang' : fault.status, extra);
      const throttled = !('hang' in fault) && fault.status === 429;
      return sendFault(res, fault, (s) => ({
        error: throttled ? 'temporarily_unavailable' : 'server_error',
        error_description: throttled ? 'AADSTS50196: The server terminated an operation because it encountered a client request loop.' : `AADSTS90033: stand-in fault ${s}`,
      }));
    }
    const resource = scope.slice(0, -'/.default'.length);
    const issued = await this.signer.issue(resource, clientId);
    record(200, extra);
    sendJson(res, 200, { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: issued.token });
  }

  async #verifyCredential(app: AppRegistration, form: Record<string, string>, clientId: string): Promise<void> {
    if (app.kind === 'secret') {
      if (form.client_assertion !== undefined || form.client_assertion_type !== undefined) throw new CredentialRejected(7000215, 'Invalid client secret provided.');
      const given = Buffer.from(form.client_secret ?? '');
      const expected = Buffer.from(app.secret);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new CredentialRejected(7000215, 'Invalid client secret provided.');
      return;
    }
    if (form.client_secret !== undefined) throw new CredentialRejected(7000218, 'The request body must contain client_assertion, not client_secret.');
    if (form.client_assertion_type !== JWT_BEARER || form.client_assertion === undefined) {
      throw new CredentialRejected(7000218, "The request body must contain the parameter 'client_assertion' of type jwt-bearer.");
    }
    if (app.kind === 'federated') {
      const payload = await verifyFederatedAssertion(form.client_assertion, app);
      if (typeof payload.jti === 'string') this.federatedJtis.push(payload.jti);
      return;
    }
    await verifyCertificateAssertion(form.client_assertion, app, clientId, this.tokenEndpoint);
  }
}
