/**
 * The token response body shared by every managed-identity protocol: the full superset, because
 * each client family reads a different field (docs/protocols.md section 4). Numbers are strings of
 * digits; `expires_on` is epoch seconds (msal-node reads only that field).
 */
import type { IssuedToken } from '../tokenService.js';

export function tokenResponseText(token: IssuedToken, resource: string, now: number, withRefreshIn = false): string {
  const expiresOn = Math.floor(token.expiresAt / 1000);
  const body: Record<string, string> = {
    access_token: token.token,
    expires_in: String(Math.max(0, expiresOn - Math.floor(now / 1000))),
    expires_on: String(expiresOn),
    not_before: String(Math.floor(token.notBefore / 1000)),
    resource,
    token_type: 'Bearer',
    client_id: token.clientId,
  };
  if (withRefreshIn) body.refresh_in = String(Math.max(0, Math.floor((token.refreshAt - now) / 1000)));
  return JSON.stringify(body);
}
