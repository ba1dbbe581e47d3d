/**
 * `isValidToken`: claim checks on a JWT, and with `verify: true` its signature against the
 * issuer's published keys (OpenID discovery -> `jwks_uri` -> JWKS), with Web Crypto only.
 *
 * Trust: a signature only means something if the issuer is trusted. The issuers trusted are the
 * ones passed as `issuer`; by default, the wits server the client talks to (its discovery
 * document's `issuer`) and Entra ID. When the wits server cannot be asked (the session-bound IMDS
 * endpoint serves tokens only), the token's own issuer is used: pass `issuer` to pin it.
 */
import { base64UrlToBytes, decodeJwt } from './decodeJwt.js';
import type { AbortSignalLike, FetchLike } from './types.js';

/**
 * Options of `isValidToken`.
 *
 * @example
 * ```ts
 * const ok = await credentials.isValidToken(token, { verify: true, audience: 'https://storage.azure.com', clockSkewSeconds: 30 });
 * ```
 */
export interface IsValidTokenOptions {
  /** Also verify the signature against the issuer's JWKS (network; default false). */
  readonly verify?: boolean;
  /** Issuer(s) to trust for `verify` (the token's `iss` must be one of them). */
  readonly issuer?: string | readonly string[];
  /** The resource the token must be for (its `aud`), e.g. `https://storage.azure.com` or a `/.default` scope. */
  readonly audience?: string;
  /** Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds (default 60). */
  readonly clockSkewSeconds?: number;
  readonly abortSignal?: AbortSignalLike;
}

const DEFAULT_CLOCK_SKEW_SECONDS = 60;

/** JWS algorithms verified, with their Web Crypto parameters. `none` and HMAC are never accepted. */
const ALGORITHMS: Readonly<Record<string, { kty: string; import: Record<string, unknown>; verify: Record<string, unknown> }>> = {
  RS256: { kty: 'RSA', import: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, verify: { name: 'RSASSA-PKCS1-v1_5' } },
  RS384: { kty: 'RSA', import: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-384' }, verify: { name: 'RSASSA-PKCS1-v1_5' } },
  RS512: { kty: 'RSA', import: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-512' }, verify: { name: 'RSASSA-PKCS1-v1_5' } },
  PS256: { kty: 'RSA', import: { name: 'RSA-PSS', hash: 'SHA-256' }, verify: { name: 'RSA-PSS', saltLength: 32 } },
  PS384: { kty: 'RSA', import: { name: 'RSA-PSS', hash: 'SHA-384' }, verify: { name: 'RSA-PSS', saltLength: 48 } },
  PS512: { kty: 'RSA', import: { name: 'RSA-PSS', hash: 'SHA-512' }, verify: { name: 'RSA-PSS', saltLength: 64 } },
  ES256: { kty: 'EC', import: { name: 'ECDSA', namedCurve: 'P-256' }, verify: { name: 'ECDSA', hash: 'SHA-256' } },
  ES384: { kty: 'EC', import: { name: 'ECDSA', namedCurve: 'P-384' }, verify: { name: 'ECDSA', hash: 'SHA-384' } },
  ES512: { kty: 'EC', import: { name: 'ECDSA', namedCurve: 'P-521' }, verify: { name: 'ECDSA', hash: 'SHA-512' } },
  EdDSA: { kty: 'OKP', import: { name: 'Ed25519' }, verify: { name: 'Ed25519' } },
};

const CURVES: Readonly<Record<string, string>> = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521', EdDSA: 'Ed25519' };

/** Entra ID token issuers (v1 and v2, public cloud) and where their discovery documents are. */
const ENTRA_V1 = /^https:\/\/sts\.windows\.net\/([0-9a-f-]{36})\/$/;
const ENTRA_V2 = /^https:\/\/login\.microsoftonline\.com\/([0-9a-f-]{36})\/v2\.0$/;

/**
 * @internal Where the OpenID discovery document of `issuer` is (Entra's v1 issuer is not a URL
 * that serves one).
 *
 * @example
 * ```ts
 * discoveryUrlOf('http://127.0.0.1:8339'); // 'http://127.0.0.1:8339/.well-known/openid-configuration'
 * ```
 */
export function discoveryUrlOf(issuer: string): string {
  const v1 = ENTRA_V1.exec(issuer);
  if (v1 !== null) return `https://login.microsoftonline.com/${v1[1]}/.well-known/openid-configuration`;
  const v2 = ENTRA_V2.exec(issuer);
  if (v2 !== null) return `https://login.microsoftonline.com/${v2[1]}/v2.0/.well-known/openid-configuration`;
  return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

/**
 * @internal Whether `issuer` is an Entra ID (public cloud) token issuer.
 *
 * @example
 * ```ts
 * isEntraIssuer('https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/'); // true
 * ```
 */
export function isEntraIssuer(issuer: string): boolean {
  return ENTRA_V1.test(issuer) || ENTRA_V2.test(issuer);
}

function sameIssuer(a: string, b: string): boolean {
  return a.replace(/\/+$/, '') === b.replace(/\/+$/, '');
}

/** Canonical form of a resource or scope for comparison: no `/.default`, no trailing slash, lower-case scheme and host. */
function canonicalResource(value: string): string {
  let text = value.trim();
  if (text.toLowerCase().endsWith('/.default')) text = text.slice(0, -'/.default'.length);
  text = text.replace(/\/+$/, '');
  const match = /^([a-z][a-z0-9+.-]*:\/\/)([^/]*)(.*)$/i.exec(text);
  return match === null ? text.toLowerCase() : `${match[1]?.toLowerCase()}${match[2]?.toLowerCase()}${match[3]}`;
}

function audienceMatches(aud: unknown, expected: string): boolean {
  const want = canonicalResource(expected);
  const values = Array.isArray(aud) ? aud : [aud];
  return values.some((value) => typeof value === 'string' && canonicalResource(value) === want);
}

/**
 * @internal Claim checks only: structure, `exp`, `nbf`, `iat`, optional `aud`.
 *
 * @example
 * ```ts
 * checkClaims(token, { clockSkewSeconds: 0 }); // false once expired
 * ```
 */
export function checkClaims(token: unknown, options: IsValidTokenOptions, now = Date.now()): boolean {
  if (typeof token !== 'string' || token.length > 64 * 1024) return false;
  const decoded = decodeJwt(token);
  if (decoded === undefined) return false;
  const { header, payload } = decoded;
  if (typeof header.alg !== 'string') return false;
  const skew = (options.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS) * 1000;
  const seconds = (name: string): number | undefined | null => {
    const value = payload[name];
    if (value === undefined) return undefined;
    return typeof value === 'number' && Number.isFinite(value) ? value * 1000 : null;
  };
  const exp = seconds('exp');
  const nbf = seconds('nbf');
  const iat = seconds('iat');
  if (exp === undefined || exp === null || nbf === null || iat === null) return false;
  if (now >= exp + skew) return false;
  if (nbf !== undefined && now < nbf - skew) return false;
  if (iat !== undefined && now < iat - skew) return false;
  if (options.audience !== undefined && !audienceMatches(payload.aud, options.audience)) return false;
  return true;
}

interface KeySet {
  readonly keys: readonly Record<string, unknown>[];
  readonly fetchedAt: number;
}

const DOCUMENT_TTL_MS = 10 * 60_000;
/** A JWKS is fetched again for an unknown `kid` (key rotation), but not more often than this. */
const JWKS_REFETCH_MS = 30_000;
const MAX_CACHED = 32;

/**
 * @internal Fetches and caches discovery documents and JWKS. One per WitsClient; documents are
 * small and few.
 *
 * @example
 * ```ts
 * const keys = await new KeyResolver(fetch, 10_000).keys('http://127.0.0.1:8339/.well-known/jwks.json', false);
 * ```
 */
export class KeyResolver {
  readonly #fetch: FetchLike;
  readonly #timeoutMs: number;
  readonly #issuers = new Map<string, { jwksUri: string; fetchedAt: number }>();
  readonly #jwks = new Map<string, KeySet>();

  constructor(fetchImpl: FetchLike, timeoutMs: number) {
    this.#fetch = fetchImpl;
    this.#timeoutMs = timeoutMs;
  }

  /**
   * The JSON document at `url`, or undefined when it cannot be read.
   *
   * @example
   * ```ts
   * const doc = await resolver.document('http://127.0.0.1:8339/.well-known/openid-configuration');
   * ```
   */
  async document(url: string, signal?: AbortSignalLike): Promise<Record<string, unknown> | undefined> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.#timeoutMs);
    const onAbort = (): void => controller.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const response = await this.#fetch(url, { headers: { accept: 'application/json' }, signal: controller.signal });
      if (response.status !== 200) {
        await response.body?.cancel();
        return undefined;
      }
      const value: unknown = await response.json();
      return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * The jwks_uri of `issuer`, from its discovery document (whose `issuer` must match).
   *
   * @example
   * ```ts
   * const jwksUri = await resolver.jwksUriOf('http://127.0.0.1:8339');
   * ```
   */
  async jwksUriOf(issuer: string, signal?: AbortSignalLike): Promise<string | undefined> {
    const cached = this.#issuers.get(issuer);
    if (cached !== undefined && Date.now() - cached.fetchedAt < DOCUMENT_TTL_MS) return cached.jwksUri;
    const doc = await this.document(discoveryUrlOf(issuer), signal);
    if (doc === undefined || typeof doc.issuer !== 'string' || typeof doc.jwks_uri !== 'string') return undefined;
    // OpenID Connect Discovery 1.0 section 4.3: the document's issuer must be the one asked about.
    // Entra's multi-tenant documents say `{tenantid}`, never the case for tenant-specific URLs.
    if (!sameIssuer(doc.issuer, issuer)) return undefined;
    remember(this.#issuers, issuer, { jwksUri: doc.jwks_uri, fetchedAt: Date.now() });
    return doc.jwks_uri;
  }

  /**
   * The keys at `jwksUri`; fetched again when `refresh` and the copy is old enough.
   *
   * @example
   * ```ts
   * const keys = await resolver.keys(jwksUri, false);
   * ```
   */
  async keys(jwksUri: string, refresh: boolean, signal?: AbortSignalLike): Promise<readonly Record<string, unknown>[]> {
    const cached = this.#jwks.get(jwksUri);
    const age = cached === undefined ? Infinity : Date.now() - cached.fetchedAt;
    if (cached !== undefined && age < DOCUMENT_TTL_MS && !(refresh && age >= JWKS_REFETCH_MS)) return cached.keys;
    const doc = await this.document(jwksUri, signal);
    if (doc === undefined || !Array.isArray(doc.keys)) return cached?.keys ?? [];
    const keys = doc.keys.filter((k): k is Record<string, unknown> => typeof k === 'object' && k !== null && !Array.isArray(k));
    remember(this.#jwks, jwksUri, { keys, fetchedAt: Date.now() });
    return keys;
  }
}

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  while (map.size > MAX_CACHED) map.delete(map.keys().next().value as string);
}

/** The public members of a JWK. */
type PublicJwk = Readonly<Record<string, string>>;

/** The part of Web Crypto used here (typed locally: the DOM lib is not loaded). */
interface SubtleLike {
  importKey(format: 'jwk', key: PublicJwk, algorithm: object, extractable: boolean, usages: string[]): Promise<unknown>;
  verify(algorithm: object, key: unknown, signature: Uint8Array, data: Uint8Array): Promise<boolean>;
}

function subtle(): SubtleLike | undefined {
  return (globalThis as { crypto?: { subtle?: SubtleLike } }).crypto?.subtle;
}

/** The public part of a JWK, or undefined when it cannot verify `alg`. */
function publicJwk(jwk: Record<string, unknown>, alg: string): PublicJwk | undefined {
  const spec = ALGORITHMS[alg];
  if (spec === undefined || jwk.kty !== spec.kty) return undefined;
  if (jwk.use !== undefined && jwk.use !== 'sig') return undefined;
  if (jwk.alg !== undefined && jwk.alg !== alg) return undefined;
  if (spec.kty === 'RSA') {
    if (typeof jwk.n !== 'string' || typeof jwk.e !== 'string') return undefined;
    return { kty: 'RSA', n: jwk.n, e: jwk.e };
  }
  if (jwk.crv !== CURVES[alg] || typeof jwk.x !== 'string') return undefined;
  if (spec.kty === 'OKP') return { kty: 'OKP', crv: jwk.crv as string, x: jwk.x };
  if (typeof jwk.y !== 'string') return undefined;
  return { kty: 'EC', crv: jwk.crv as string, x: jwk.x, y: jwk.y };
}

async function verifyWith(jwk: PublicJwk, alg: string, data: Uint8Array, signature: Uint8Array): Promise<boolean> {
  const spec = ALGORITHMS[alg];
  const webCrypto = subtle();
  if (spec === undefined || webCrypto === undefined) return false;
  try {
    const key = await webCrypto.importKey('jwk', jwk, spec.import, false, ['verify']);
    return await webCrypto.verify(spec.verify, key, signature, data);
  } catch {
    return false;
  }
}

/**
 * @internal Verifies the signature of a token whose claims already passed, against the JWKS of
 * its issuer; `trusted` decides whether that issuer may be used at all.
 *
 * @example
 * ```ts
 * const ok = await verifySignature(token, resolver, async (iss) => iss === 'http://127.0.0.1:8339');
 * ```
 */
export async function verifySignature(
  token: string,
  resolver: KeyResolver,
  trusted: (issuer: string) => Promise<boolean>,
  signal?: AbortSignalLike,
): Promise<boolean> {
  const decoded = decodeJwt(token);
  if (decoded === undefined) return false;
  const { header, payload } = decoded;
  const alg = header.alg;
  if (typeof alg !== 'string' || ALGORITHMS[alg] === undefined) return false;
  if (header.crit !== undefined) return false; // no extensions understood (RFC 7515 section 4.1.11)
  const issuer = payload.iss;
  if (typeof issuer !== 'string' || !/^https?:\/\//.test(issuer)) return false;
  if (!(await trusted(issuer))) return false;
  const jwksUri = await resolver.jwksUriOf(issuer, signal);
  if (jwksUri === undefined) return false;
  const [headerPart, payloadPart, signaturePart] = token.split('.') as [string, string, string];
  let signature: Uint8Array;
  try {
    signature = base64UrlToBytes(signaturePart);
  } catch {
    return false;
  }
  if (signature.length === 0) return false;
  const data = new TextEncoder().encode(`${headerPart}.${payloadPart}`);
  const kid = typeof header.kid === 'string' ? header.kid : undefined;
  for (const refresh of [false, true]) {
    const keys = await resolver.keys(jwksUri, refresh, signal);
    const candidates = keys.filter((k) => kid === undefined || k.kid === kid);
    if (candidates.length === 0) continue; // unknown kid: the keys may have rotated, fetch again once
    for (const candidate of candidates) {
      const jwk = publicJwk(candidate, alg);
      if (jwk !== undefined && (await verifyWith(jwk, alg, data, signature))) return true;
    }
    return false;
  }
  return false;
}
