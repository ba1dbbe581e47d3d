/**
 * A strict local stand-in for a resource server (Azure OpenAI, AI Foundry, ...): it accepts an
 * access token only the way such a service would, independently of wits' code. It fetches the
 * issuer's OpenID discovery document, follows its `jwks_uri`, and verifies with jose:
 * the signature against the published keys, `iss` equal to the discovery issuer, `aud` exactly the
 * requested resource (a single string, not a list that merely contains it), `exp` in the future,
 * `nbf`/`iat` not in the future, and the Entra managed-identity app-token claims (`tid`, `oid`,
 * `appid`, `idtyp: 'app'`, `xms_mirid`, `jti`).
 *
 * A fixture of the tests, never a code path of the product: it imports nothing from src/.
 */
import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ARM_ID = /^\/subscriptions\/[^/\s]+\/resourceGroups\/[^/\s]+\/providers\/\S+$/i;

export class TokenRejected extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenRejected';
  }
}

export interface AppTokenClaims extends JWTPayload {
  readonly aud: string;
  readonly iss: string;
  readonly exp: number;
  readonly tid: string;
  readonly oid: string;
  readonly appid: string;
  readonly idtyp: 'app';
  readonly xms_mirid: string;
  readonly jti: string;
}

export interface Discovery {
  readonly issuer: string;
  readonly jwks_uri: string;
}

export class StrictResourceServer {
  readonly #baseUrl: string;
  #discovery: Promise<{ issuer: string; jwks: JWTVerifyGetKey }> | undefined;

  /** @param issuerBaseUrl where the issuer serves `/.well-known/openid-configuration`. */
  constructor(issuerBaseUrl: string) {
    this.#baseUrl = issuerBaseUrl.replace(/\/+$/, '');
  }

  async discovery(): Promise<{ issuer: string; jwks: JWTVerifyGetKey }> {
    this.#discovery ??= (async () => {
      const response = await fetch(`${this.#baseUrl}/.well-known/openid-configuration`);
      if (response.status !== 200) throw new TokenRejected(`discovery answered HTTP ${response.status}`);
      const doc = (await response.json()) as Partial<Discovery>;
      if (typeof doc.issuer !== 'string' || typeof doc.jwks_uri !== 'string') {
        throw new TokenRejected('discovery document lacks issuer or jwks_uri');
      }
      return { issuer: doc.issuer, jwks: createRemoteJWKSet(new URL(doc.jwks_uri)) };
    })();
    return this.#discovery;
  }

  /** Accepts the token for `resource` or throws (TokenRejected or jose's JOSEError). */
  async verify(token: string, resource: string): Promise<AppTokenClaims> {
    const { issuer, jwks } = await this.discovery();
    const { payload, protectedHeader } = await jwtVerify(token, jwks, {
      issuer,
      audience: resource,
      algorithms: ['RS256', 'ES256'],
      requiredClaims: ['iss', 'aud', 'exp', 'nbf', 'iat', 'tid', 'oid', 'appid', 'idtyp', 'xms_mirid', 'jti'],
    });
    const now = Math.floor(Date.now() / 1000);
    const fail = (why: string): never => {
      throw new TokenRejected(`${why} (claims: ${JSON.stringify(payload)})`);
    };
    if (typeof protectedHeader.kid !== 'string' || protectedHeader.kid === '') fail('no kid in the header');
    if (payload.aud !== resource) fail(`aud must be exactly ${JSON.stringify(resource)}`);
    if (payload.iss !== issuer) fail(`iss must be ${JSON.stringify(issuer)}`);
    if (typeof payload.exp !== 'number' || payload.exp <= now) fail('exp is not in the future');
    if (typeof payload.iat !== 'number' || payload.iat > now + 60) fail('iat is in the future');
    if (typeof payload.nbf !== 'number' || payload.nbf > now + 60) fail('nbf is in the future');
    for (const claim of ['tid', 'oid', 'appid'] as const) {
      if (typeof payload[claim] !== 'string' || !GUID.test(payload[claim] as string)) fail(`${claim} must be a GUID`);
    }
    if (payload.idtyp !== 'app') fail("idtyp must be 'app'");
    if (typeof payload.xms_mirid !== 'string' || !ARM_ID.test(payload.xms_mirid)) fail('xms_mirid must be an ARM resource id');
    if (typeof payload.jti !== 'string' || payload.jti.length < 16) fail('jti must be a unique id');
    return payload as AppTokenClaims;
  }
}

/** The base URL of a URL (scheme, host, port): where a wits server serves its discovery document. */
export function originOf(url: string): string {
  return new URL(url).origin;
}
