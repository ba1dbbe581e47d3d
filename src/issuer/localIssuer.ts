/**
 * The local issuer: signs access tokens shaped like Entra ID's v1 app tokens for managed
 * identities, so that code written against Entra tokens reads them the same way.
 */
import { CompactSign, SignJWT } from 'jose';
import { randomUUID } from 'node:crypto';
import type { SigningKeySet } from './signingKeys.js';

export interface LocalTokenClaims {
  readonly audience: string;
  readonly tenantId: string;
  readonly objectId: string;
  readonly clientId: string;
  readonly resourceId: string;
}

export interface MintedToken {
  readonly token: string;
  readonly tokenId: string;
  /** Epoch ms. */
  readonly issuedAt: number;
  readonly notBefore: number;
  readonly expiresAt: number;
}

const UTF8 = new TextEncoder();

export class LocalIssuer {
  readonly issuer: string;
  readonly keys: SigningKeySet;
  readonly #header: { readonly alg: string; readonly kid: string; readonly typ: 'JWT' };

  constructor(issuer: string, keys: SigningKeySet) {
    this.issuer = issuer;
    this.keys = keys;
    this.#header = Object.freeze({ alg: keys.active.alg, kid: keys.active.kid, typ: 'JWT' as const });
  }

  async mint(claims: LocalTokenClaims, lifetimeSeconds: number, now = Date.now()): Promise<MintedToken> {
    const iat = Math.floor(now / 1000);
    const exp = iat + lifetimeSeconds;
    const jti = randomUUID();
    // jose's CompactSign over claims serialised here, rather than SignJWT: SignJWT copies and
    // re-validates the claims set on every call, a sixth of a cold mint's CPU (docs/benchmarks.md);
    // these claims are all set right here, with the types JWT requires.
    const payload = JSON.stringify({
      aud: claims.audience,
      iss: this.issuer,
      iat,
      nbf: iat,
      exp,
      sub: claims.objectId,
      jti,
      tid: claims.tenantId,
      oid: claims.objectId,
      appid: claims.clientId,
      appidacr: '2',
      idtyp: 'app',
      ver: '1.0',
      xms_mirid: claims.resourceId,
    });
    const token = await new CompactSign(UTF8.encode(payload)).setProtectedHeader(this.#header).sign(this.keys.active.privateKey);
    return { token, tokenId: jti, issuedAt: iat * 1000, notBefore: iat * 1000, expiresAt: exp * 1000 };
  }

  /**
   * Signs a short-lived assertion for Entra ID (the `entra-federated` source): always with the
   * RS256 key, the only kind Entra ID accepts (signingKeys.ts).
   */
  async signAssertion(payload: Record<string, unknown>, options: { audience: string; subject: string; lifetimeSeconds: number }, now = Date.now()): Promise<string> {
    const iat = Math.floor(now / 1000);
    const key = this.keys.federation;
    return new SignJWT(payload)
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
      .setIssuer(this.issuer)
      .setAudience(options.audience)
      .setSubject(options.subject)
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(iat + options.lifetimeSeconds)
      .setJti(randomUUID())
      .sign(key.privateKey);
  }
}
