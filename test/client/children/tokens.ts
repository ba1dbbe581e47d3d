/**
 * Child of exec.test.ts, run under `wits exec`: gets tokens by alias, URI and scope through the
 * SDK discovered from the environment, checks them with isValidToken, provokes a typo, and prints
 * one JSON line. Optional WITS_TEST_TOKENS (JSON name -> token) are checked with isValidToken too.
 */
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { credentials, discoverEndpoint, serverBaseUrl, TokenRequestError, WitsCredential } from '../../../src/client/index.js';

const endpoint = discoverEndpoint();
const alias = await credentials.getToken('Storage');
const uri = await credentials.getToken('https://storage.azure.com');
const scope = await credentials.getToken('https://cognitiveservices.azure.com/.default');
const access = await credentials.getAccessToken('Vault');
const viaCredential = await new WitsCredential().getToken('https://vault.azure.net/.default');

const valid: Record<string, boolean> = {
  alias: await credentials.isValidToken(alias),
  aliasVerified: await credentials.isValidToken(alias, { verify: true }),
  uriVerified: await credentials.isValidToken(uri, { verify: true, audience: 'https://storage.azure.com' }),
  scopeVerified: await credentials.isValidToken(scope, { verify: true, audience: 'https://cognitiveservices.azure.com/.default' }),
  wrongAudience: await credentials.isValidToken(scope, { audience: 'https://storage.azure.com' }),
  garbage: await credentials.isValidToken('not a token'),
};
const extra = JSON.parse(process.env.WITS_TEST_TOKENS ?? '{}') as Record<string, string>;
for (const [name, token] of Object.entries(extra)) {
  valid[`extra:${name}`] = await credentials.isValidToken(token);
  valid[`extra:${name}:verified`] = await credentials.isValidToken(token, { verify: true });
}

let typo: Record<string, unknown> = {};
try {
  await credentials.getToken('Stroage');
} catch (err) {
  const e = err as TokenRequestError;
  typo = { name: e.name, code: e.code, status: e.status, suggestion: e.suggestion, message: e.message, isTokenRequestError: err instanceof TokenRequestError };
}

// Independent check (not the SDK's verifier), when the server is reachable from here.
let independentlyVerified: boolean | null = null;
const base = serverBaseUrl(endpoint);
if (base !== undefined) {
  const doc = (await (await fetch(`${base}/.well-known/openid-configuration`)).json()) as { issuer: string; jwks_uri: string };
  const jwks = createRemoteJWKSet(new URL(doc.jwks_uri));
  await jwtVerify(alias, jwks, { issuer: doc.issuer, audience: 'https://storage.azure.com' });
  await jwtVerify(scope, jwks, { issuer: doc.issuer, audience: 'https://cognitiveservices.azure.com' });
  independentlyVerified = true;
}

console.log(
  JSON.stringify({
    kind: endpoint.kind,
    tokens: { alias, uri, scope, vault: access.token, credential: viaCredential.token },
    access: { resource: access.resource, expiresOnTimestamp: access.expiresOnTimestamp, refreshAfterTimestamp: access.refreshAfterTimestamp, tokenType: access.tokenType },
    credential: { expiresOnTimestamp: viaCredential.expiresOnTimestamp, refreshAfterTimestamp: viaCredential.refreshAfterTimestamp, tokenType: viaCredential.tokenType },
    valid,
    typo,
    independentlyVerified,
  }),
);
