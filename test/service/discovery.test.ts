import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { removeTempDir } from '../support/home.js';
import { admin, appServiceToken, assertError, request } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];

function checkJwks(jwks: JSONWebKeySet, alg: string): void {
  assert.ok(Array.isArray(jwks.keys) && jwks.keys.length >= 1);
  for (const key of jwks.keys) {
    assert.equal(typeof key.kid, 'string');
    assert.ok((key.kid as string).length > 0);
    assert.equal(key.use, 'sig');
    assert.equal(typeof key.alg, 'string');
    for (const member of PRIVATE_MEMBERS) assert.equal((key as Record<string, unknown>)[member], undefined, `JWKS key has private member '${member}'`);
  }
  assert.ok(jwks.keys.some((k) => k.alg === alg));
}

describe('discovery and JWKS (default config)', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer();
  });

  after(async () => {
    await server?.close();
  });

  test('the discovery document names the issuer and the JWKS URI', async () => {
    const response = await request(`${server.url}/.well-known/openid-configuration`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(response.body.issuer, server.url);
    assert.equal(response.body.jwks_uri, `${server.url}/.well-known/jwks.json`);
    // ES256 signs access tokens (the default); RS256 signs the assertions Entra ID accepts.
    assert.deepEqual([...response.body.id_token_signing_alg_values_supported].sort(), ['ES256', 'RS256']);
    assert.ok(response.body.claims_supported.includes('xms_mirid'));
  });

  test('the JWKS has kid/alg/use and no private members; it verifies issued tokens', async () => {
    const response = await request<JSONWebKeySet>(`${server.url}/.well-known/jwks.json`);
    assert.equal(response.status, 200);
    checkJwks(response.body, 'ES256');
    checkJwks(response.body, 'RS256');
    const es = response.body.keys.find((k) => k.alg === 'ES256');
    assert.equal(es?.kty, 'EC');
    assert.equal(es?.crv, 'P-256');
    assert.equal(response.body.keys.find((k) => k.alg === 'RS256')?.kty, 'RSA');
    const { secret } = await server.app.admin.createSession({ workspace: 'default' });
    const token = (await appServiceToken(server.url, secret, { resource: 'Storage' })).body.access_token;
    assert.deepEqual(decodeProtectedHeader(token), { alg: 'ES256', kid: es?.kid, typ: 'JWT' });
    await jwtVerify(token, createLocalJWKSet(response.body), { issuer: server.url, audience: 'https://storage.azure.com', algorithms: ['ES256'] });
  });

  test('federated assertions for Entra ID are signed with the RS256 key (Entra accepts only RSA)', async () => {
    const jwks = (await request<JSONWebKeySet>(`${server.url}/.well-known/jwks.json`)).body;
    const assertion = await server.app.issuer.signAssertion({}, { audience: 'api://AzureADTokenExchange', subject: 'wits:test', lifetimeSeconds: 300 });
    const header = decodeProtectedHeader(assertion);
    assert.equal(header.alg, 'RS256');
    assert.equal(header.kid, jwks.keys.find((k) => k.alg === 'RS256')?.kid);
    await jwtVerify(assertion, createLocalJWKSet(jwks), { issuer: server.url, audience: 'api://AzureADTokenExchange', subject: 'wits:test', algorithms: ['RS256'] });
  });

  test('HEAD works on discovery documents; other methods are 405', async () => {
    const head = await fetch(`${server.url}/.well-known/jwks.json`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assertError(await request(`${server.url}/.well-known/jwks.json`, { method: 'POST', body: '{}' }), 405, 'ERR_METHOD_NOT_ALLOWED');
  });

  test('healthz, IMDS path on the main server, unknown paths', async () => {
    const health = await request(`${server.url}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(health.body, { status: 'ok' });
    assertError(await request(`${server.url}/metadata/identity/oauth2/token?resource=Storage`, { headers: { Metadata: 'true' } }), 400, 'ERR_INVALID_REQUEST');
    assertError(await request(`${server.url}/nope`), 404, 'ERR_NOT_FOUND');
  });
});

describe('RS256, a configured issuer with a path, and the token lifetime', () => {
  const issuer = 'https://login.example.com/wits/tenant-1';
  let server: TestServer;

  before(async () => {
    server = await startTestServer({ config: { signingAlg: 'RS256', issuer: issuer + '/', tokenLifetimeSeconds: 900 } });
  });

  after(async () => {
    await server?.close();
  });

  test('discovery is served under the issuer path (and at the root)', async () => {
    const underPath = await request(`${server.url}/wits/tenant-1/.well-known/openid-configuration`);
    assert.equal(underPath.status, 200, underPath.text);
    assert.equal(underPath.body.issuer, issuer, 'the trailing slash is dropped');
    assert.equal(underPath.body.jwks_uri, `${issuer}/.well-known/jwks.json`);
    // RS256 signs both access tokens and Entra assertions: one key.
    assert.deepEqual(underPath.body.id_token_signing_alg_values_supported, ['RS256']);
    const atRoot = await request(`${server.url}/.well-known/openid-configuration`);
    assert.deepEqual(atRoot.body, underPath.body);
    const jwks = await request<JSONWebKeySet>(`${server.url}/wits/tenant-1/.well-known/jwks.json`);
    assert.equal(jwks.status, 200);
    checkJwks(jwks.body, 'RS256');
    assert.equal(jwks.body.keys.length, 1);
    assert.equal(jwks.body.keys[0]?.kty, 'RSA');
  });

  test('tokens are RS256, carry the configured iss and lifetime, and verify', async () => {
    const { secret } = await server.app.admin.createSession({ workspace: 'default' });
    const response = await appServiceToken(server.url, secret, { resource: 'CognitiveServices' });
    assert.equal(response.status, 200, response.text);
    const token = response.body.access_token as string;
    const header = decodeProtectedHeader(token);
    assert.equal(header.alg, 'RS256');
    const jwks = (await request<JSONWebKeySet>(`${server.url}/wits/tenant-1/.well-known/jwks.json`)).body;
    assert.equal(header.kid, jwks.keys[0]?.kid);
    const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), {
      issuer,
      audience: 'https://cognitiveservices.azure.com',
      algorithms: ['RS256'],
    });
    assert.equal((payload.exp as number) - (payload.iat as number), 900);
    const expiresIn = Number(response.body.expires_in);
    assert.ok(expiresIn <= 900 && expiresIn >= 890, `expires_in ${expiresIn}`);
    assert.equal(Number(response.body.expires_on), payload.exp);
  });

  test('admin API is unaffected by the issuer path', async () => {
    assert.equal((await admin(server.url, server.adminToken, 'GET', '/admin/workspaces')).status, 200);
    assertError(await request(`${server.url}/wits/tenant-1/msi/token`), 404, 'ERR_NOT_FOUND');
  });
});

describe('switching the signing algorithm on an existing home', () => {
  test('keeps the old key in the JWKS so earlier tokens still verify', { timeout: 60_000 }, async () => {
    // A home started with RS256 only has one key; switching to ES256 adds one.
    const first = await startTestServer({ keepHome: true, config: { signingAlg: 'RS256' } });
    let rsToken: string;
    try {
      assert.deepEqual((await request<JSONWebKeySet>(`${first.url}/.well-known/jwks.json`)).body.keys.map((k) => k.alg), ['RS256']);
      const { secret } = await first.app.admin.createSession({ workspace: 'default', ttlSeconds: 3600 });
      rsToken = (await appServiceToken(first.url, secret, { resource: 'Storage' })).body.access_token;
    } finally {
      await first.close();
    }
    const second = await startTestServer({ home: first.home, config: { signingAlg: 'ES256' } });
    try {
      const jwks = (await request<JSONWebKeySet>(`${second.url}/.well-known/jwks.json`)).body;
      assert.deepEqual(jwks.keys.map((k) => k.alg).sort(), ['ES256', 'RS256']);
      for (const key of jwks.keys) for (const member of PRIVATE_MEMBERS) assert.equal((key as Record<string, unknown>)[member], undefined);
      await jwtVerify(rsToken, createLocalJWKSet(jwks), { issuer: first.url, audience: 'https://storage.azure.com', algorithms: ['RS256'] });
      const { secret } = await second.app.admin.createSession({ workspace: 'default' });
      const esToken = (await appServiceToken(second.url, secret, { resource: 'Storage' })).body.access_token;
      assert.equal(decodeProtectedHeader(esToken).alg, 'ES256');
      await jwtVerify(esToken, createLocalJWKSet(jwks), { issuer: second.url, audience: 'https://storage.azure.com', algorithms: ['ES256'] });
    } finally {
      await second.close();
      removeTempDir(first.home);
    }
  });
});
