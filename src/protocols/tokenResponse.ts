/**
 * The token response body shared by every managed-identity protocol: the full superset, because
 * each client family reads a different field (docs/protocols.md section 4). Numbers are strings of
 * digits; `expires_on` is epoch seconds (msal-node reads only that field).
 */
import type { IssuedToken } from '../tokenService.js';

export function tokenResponseText(token: IssuedToken, resource: string, now: number, withRefreshIn = false): string {
  const expiresOn = Math.floor(token.expiresAt / 1000);
  // Written by hand rather than JSON.stringify of an object: this runs on every cache hit, and the
  // token (the bulk of the body) arrives already JSON-quoted, once per cached token. The other
  // strings are quoted here; the numbers are integers, sent as strings of digits.
  const refreshIn = withRefreshIn ? `,"refresh_in":"${Math.max(0, Math.floor((token.refreshAt - now) / 1000))}"` : '';
  return (
    `{"access_token":${token.tokenJson},"expires_in":"${Math.max(0, expiresOn - Math.floor(now / 1000))}",` +
    `"expires_on":"${expiresOn}","not_before":"${Math.floor(token.notBefore / 1000)}","resource":${JSON.stringify(resource)},` +
    `"token_type":"Bearer","client_id":${JSON.stringify(token.clientId)}${refreshIn}}`
  );
}
