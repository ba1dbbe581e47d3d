import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { IdentityView } from '../../src/admin/adminOps.js';
import { assertError, nativeToken, request } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('native API (/v1/token)', () => {
  let server: TestServer;
  let secret: string;
  let user: IdentityView;
  let jwks: ReturnType<typeof createRemoteJWKSet>;

  before(async () => {
    server = await startTestServer();
    secret = (await server.app.admin.createSession({ workspace: 'default' })).secret;
    user = await server.app.admin.addIdentity('default', { name: 'reporting' });
    jwks = createRemoteJWKSet(new URL(`${server.url}/.well-known/jwks.json`));
  });

  after(async () => {
    await server?.close();
  });

  function assertTokenBody(body: Record<string, unknown>, resource: string): void {
    for (const field of ['expires_in', 'expires_on', 'not_before', 'refresh_in']) {
      assert.match(String(body[field]), /^\d+$/, field);
      assert.equal(typeof body[field], 'string', field);
    }
    assert.equal(body.resource, resource, 'the canonical resource');
    assert.equal(body.token_type, 'Bearer');
    const refreshIn = Number(body.refresh_in);
    const expiresIn = Number(body.expires_in);
    assert.ok(refreshIn > 0 && refreshIn < expiresIn, `refresh_in ${refreshIn} < expires_in ${expiresIn}`);
  }

  test('POST JSON with Bearer: token, canonical resource, refresh_in', async () => {
    const response = await nativeToken(server.url, secret, { audience: 'CognitiveServices' });
    assert.equal(response.status, 200, response.text);
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    assertTokenBody(response.body, 'https://cognitiveservices.azure.com');
    const { payload } = await jwtVerify(response.body.access_token, jwks, { issuer: server.url, audience: 'https://cognitiveservices.azure.com' });
    assert.equal(payload.idtyp, 'app');
  });

  test('resource and scope are accepted as the audience field too', async () => {
    const a = await nativeToken(server.url, secret, { resource: 'https://ai.azure.com/' });
    assertTokenBody(a.body, 'https://ai.azure.com');
    const b = await nativeToken(server.url, secret, { scope: 'https://ai.azure.com/.default' });
    assertTokenBody(b.body, 'https://ai.azure.com');
    assert.equal(a.body.access_token, b.body.access_token, 'same cache entry');
  });

  test('POST form-encoded body', async () => {
    const response = await request(`${server.url}/v1/token`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body: new URLSearchParams({ audience: 'Storage', clientId: user.clientId }).toString(),
    });
    assert.equal(response.status, 200, response.text);
    assertTokenBody(response.body, 'https://storage.azure.com');
    assert.equal(response.body.client_id, user.clientId);
  });

  test('GET with query parameters', async () => {
    const response = await request(`${server.url}/v1/token?audience=Vault&objectId=${user.objectId}`, { headers: { authorization: `Bearer ${secret}` } });
    assert.equal(response.status, 200, response.text);
    assertTokenBody(response.body, 'https://vault.azure.net');
    assert.equal(response.body.client_id, user.clientId);
  });

  test('JSON selector resourceId picks the user identity', async () => {
    const response = await nativeToken(server.url, secret, { audience: 'Storage', resourceId: user.resourceId });
    assert.equal(response.body.client_id, user.clientId);
  });

  test('missing or wrong secret: 401 JSON', async () => {
    assertError(await nativeToken(server.url, undefined, { audience: 'Storage' }), 401, 'ERR_UNAUTHENTICATED');
    assertError(await nativeToken(server.url, 'wits.nope', { audience: 'Storage' }), 401, 'ERR_UNAUTHENTICATED');
    const basic = await request(`${server.url}/v1/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`x:${secret}`).toString('base64')}`, 'content-type': 'application/json' },
      body: '{"audience":"Storage"}',
    });
    assertError(basic, 401, 'ERR_UNAUTHENTICATED');
    // The App Service header is not a credential for the native API.
    const wrongHeader = await request(`${server.url}/v1/token`, {
      method: 'POST',
      headers: { 'x-identity-header': secret, 'content-type': 'application/json' },
      body: '{"audience":"Storage"}',
    });
    assertError(wrongHeader, 401, 'ERR_UNAUTHENTICATED');
  });

  test('bad bodies are 400/415 JSON', async () => {
    const post = (body: string, type = 'application/json') =>
      request(`${server.url}/v1/token`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': type }, body });
    assertError(await post('{not json'), 400, 'ERR_INVALID_REQUEST');
    assertError(await post('[1,2]'), 400, 'ERR_INVALID_REQUEST');
    assertError(await post('"Storage"'), 400, 'ERR_INVALID_REQUEST');
    assertError(await post('{"audience":42}'), 400, 'ERR_INVALID_REQUEST');
    assertError(await post('{"audience":"Storage","scope":"Vault"}'), 400, 'ERR_INVALID_REQUEST');
    assertError(await post('{}'), 400, 'ERR_MISSING_AUDIENCE');
    assertError(await post('audience=Storage', 'text/plain'), 415, 'ERR_UNSUPPORTED_MEDIA_TYPE');
    assertError(await post(JSON.stringify({ audience: 'Storage', pad: 'x'.repeat(70_000) })), 413, 'ERR_PAYLOAD_TOO_LARGE');
    assertError(await post('audience=Storage&audience=Vault', 'application/x-www-form-urlencoded'), 400, 'ERR_INVALID_REQUEST');
  });

  test('other methods are 405', async () => {
    const response = await request(`${server.url}/v1/token`, { method: 'PUT', headers: { authorization: `Bearer ${secret}` } });
    assertError(response, 405, 'ERR_METHOD_NOT_ALLOWED');
  });
});
