/** Decodes (without verifying) a JWT's header and claims. Zero dependencies, no Node built-ins. */

/**
 * A JWT's decoded header and payload (not verified).
 *
 * @example
 * ```ts
 * const decoded: DecodedJwt | undefined = decodeJwt(await credentials.getToken('Storage'));
 * console.log(decoded?.payload.aud);
 * ```
 */
export interface DecodedJwt {
  readonly header: Record<string, unknown>;
  readonly payload: Record<string, unknown>;
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * @internal Bytes of a base64url string (no padding); throws a TypeError on anything else.
 *
 * @example
 * ```ts
 * base64UrlToBytes('aGk'); // Uint8Array [104, 105]
 * ```
 */
export function base64UrlToBytes(part: string): Uint8Array {
  if (!BASE64URL.test(part) || part.length % 4 === 1) throw new TypeError('not base64url');
  const binary = atob(part.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (part.length % 4)) % 4));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

function decodePart(part: string): Record<string, unknown> {
  if (part.length === 0) throw new TypeError('empty part');
  const value: unknown = JSON.parse(UTF8.decode(base64UrlToBytes(part)));
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TypeError('not a JSON object');
  return value as Record<string, unknown>;
}

/**
 * The header and claims of a compact JWS, or undefined when `token` is not one (three base64url
 * parts whose first two are JSON objects). Does not check the signature or any claim: use
 * `credentials.isValidToken` for that.
 *
 * @example
 * ```ts
 * import { credentials, decodeJwt } from 'wits/client';
 * const claims = decodeJwt(await credentials.getToken('Storage'))?.payload;
 * console.log(claims?.aud, claims?.exp);
 * ```
 */
export function decodeJwt(token: string): DecodedJwt | undefined {
  if (typeof token !== 'string') return undefined;
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    return { header: decodePart(parts[0] as string), payload: decodePart(parts[1] as string) };
  } catch {
    return undefined;
  }
}
