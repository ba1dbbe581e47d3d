/**
 * OIDC discovery for the local issuer (OpenID Connect Discovery 1.0, section 4), with the fields
 * that verifiers and Entra ID's federated identity credentials read: `issuer` and `jwks_uri`.
 * Modelled on the Kubernetes service-account issuer document, which Entra already trusts.
 */
import type { JWK } from 'jose';

export const DISCOVERY_PATH = '/.well-known/openid-configuration';
export const JWKS_PATH = '/.well-known/jwks.json';

export interface DiscoveryDocument {
  issuer: string;
  jwks_uri: string;
  response_types_supported: string[];
  subject_types_supported: string[];
  id_token_signing_alg_values_supported: string[];
  claims_supported: string[];
}

export function discoveryDocument(issuer: string, algs: readonly string[]): DiscoveryDocument {
  return {
    issuer,
    jwks_uri: issuer + JWKS_PATH,
    response_types_supported: ['id_token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [...new Set(algs)],
    claims_supported: ['aud', 'iss', 'iat', 'nbf', 'exp', 'sub', 'tid', 'oid', 'appid', 'idtyp', 'ver', 'xms_mirid', 'jti'],
  };
}

export function jwksDocument(keys: readonly JWK[]): { keys: JWK[] } {
  return { keys: [...keys] };
}

/** The path part of the issuer URL, under which the server serves discovery and JWKS. */
export function issuerPath(issuer: string): string {
  return new URL(issuer).pathname.replace(/\/+$/, '');
}
