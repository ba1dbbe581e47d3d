/** Turns an upstream token (MSAL's AuthenticationResult) into a SourceToken. */
import { decodeJwt } from '../client/decodeJwt.js';
import type { SourceToken } from './tokenSource.js';

export function sourceTokenFrom(accessToken: string, expiresOn: Date | null, refreshOn: Date | undefined, now = Date.now()): SourceToken {
  const claims = decodeJwt(accessToken)?.payload ?? {};
  const seconds = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v * 1000 : undefined);
  // Entra tokens carry `uti` (unique token id); others `jti`. The audit log records this, never the token.
  const id = typeof claims.uti === 'string' ? claims.uti : typeof claims.jti === 'string' ? claims.jti : null;
  const expiresAt = expiresOn?.getTime() ?? seconds(claims.exp) ?? now;
  return {
    token: accessToken,
    tokenId: id,
    issuedAt: seconds(claims.iat) ?? now,
    notBefore: seconds(claims.nbf) ?? now,
    expiresAt,
    ...(refreshOn === undefined ? {} : { refreshAt: refreshOn.getTime() }),
  };
}

/** `<resource>/.default`, the only scope the client-credentials grant takes (protocols.md section 6). */
export function defaultScopeOf(resource: string): string {
  return `${resource}/.default`;
}
