import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import type { IdentityView, WorkspaceView } from '../../src/admin/adminOps.js';
import { admin, appServiceToken, assertError, request } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';

const COGNITIVE = 'https://cognitiveservices.azure.com';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('App Service endpoint (GET /msi/token)', () => {
  let server: TestServer;
  let secret: string;
  let workspace: WorkspaceView;
  let system: IdentityView;
  let jwks: ReturnType<typeof createRemoteJWKSet>;

  before(async () => {
    server = await startTestServer();
    secret = (await server.app.admin.createSession({ workspace: 'default' })).secret;
    workspace = await server.app.admin.getWorkspace('default');
    system = workspace.identities.find((i) => i.kind === 'system') as IdentityView;
    jwks = createRemoteJWKSet(new URL(`${server.url}/.well-known/jwks.json`));
  });

  after(async () => {
    await server?.close();
  });

  async function verify(token: string, audience: string): Promise<JWTPayload> {
    const { payload } = await jwtVerify(token, jwks, { issuer: server.url, audience, clockTolerance: 5 });
    return payload;
  }

  test('happy path: the full superset body, headers, and a token that verifies against the JWKS', async () => {
    const before = Math.floor(Date.now() / 1000);
    const response = await appServiceToken(server.url, secret, { resource: 'CognitiveServices' });
    const after = Math.ceil(Date.now() / 1000);
    assert.equal(response.status, 200, response.text);
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    const body = response.body as Record<string, unknown>;
    assert.deepEqual(Object.keys(body).sort(), ['access_token', 'client_id', 'expires_in', 'expires_on', 'not_before', 'resource', 'token_type']);
    for (const field of ['expires_in', 'expires_on', 'not_before']) {
      assert.equal(typeof body[field], 'string', field);
      assert.match(body[field] as string, /^\d+$/, `${field} is a string of digits`);
    }
    assert.equal(body.resource, 'CognitiveServices', 'the resource is echoed as sent');
    assert.equal(body.token_type, 'Bearer');
    assert.equal(body.client_id, system.clientId);

    const token = body.access_token as string;
    const payload = await verify(token, COGNITIVE);
    assert.equal(payload.iss, server.url);
    assert.equal(payload.aud, COGNITIVE);
    assert.equal(payload.tid, system.tenantId);
    assert.equal(payload.oid, system.objectId);
    assert.equal(payload.sub, system.objectId);
    assert.equal(payload.appid, system.clientId);
    assert.equal(payload.idtyp, 'app');
    assert.equal(payload.ver, '1.0');
    assert.equal(payload.xms_mirid, system.resourceId);
    assert.match(String(payload.jti), GUID);
    assert.equal(typeof payload.iat, 'number');
    assert.equal(typeof payload.nbf, 'number');
    const iat = payload.iat as number;
    assert.ok(iat >= before - 1 && iat <= after + 1, `iat ${iat} within [${before}, ${after}]`);
    assert.equal(payload.exp, iat + server.config.tokenLifetimeSeconds);
    assert.equal(Number(body.expires_on), payload.exp);
    assert.equal(Number(body.not_before), payload.nbf);
    const expiresIn = Number(body.expires_in);
    assert.ok(Math.abs(expiresIn - ((payload.exp as number) - Math.floor(Date.now() / 1000))) <= 5, `expires_in ${expiresIn}`);

    const header = decodeProtectedHeader(token);
    assert.equal(header.alg, 'ES256', 'the default signing algorithm');
    assert.equal(header.typ, 'JWT');
    assert.equal(typeof header.kid, 'string');
  });

  test('also accepts Metadata: true and ignores unknown parameters and headers', async () => {
    const query = new URLSearchParams({ 'api-version': '2019-08-01', resource: 'CognitiveServices', 'x-client-SKU': 'MSAL.Python', foo: 'bar' });
    const response = await request(`${server.url}/msi/token?${query}`, {
      headers: { 'X-IDENTITY-HEADER': secret, Metadata: 'true', 'x-ms-client-request-id': 'abc', 'x-client-SKU': 'MSAL.JS' },
    });
    assert.equal(response.status, 200, response.text);
  });

  const forms: Array<[string, string]> = [
    ['CognitiveServices', COGNITIVE],
    ['cognitiveservices', COGNITIVE],
    ['AIServices', 'https://ai.azure.com'],
    ['Storage', 'https://storage.azure.com'],
    [COGNITIVE, COGNITIVE],
    [`${COGNITIVE}/`, COGNITIVE],
    [`${COGNITIVE}/.default`, COGNITIVE],
    ['https://analysis.windows.net/powerbi/api/.default', 'https://analysis.windows.net/powerbi/api'],
    ['api://contoso.com/MyApi', 'api://contoso.com/MyApi'],
    ['api://contoso.com/MyApi/.default', 'api://contoso.com/MyApi'],
    ['2FF814A6-3304-4AB8-85CB-CD0E6F879C1D', '2ff814a6-3304-4ab8-85cb-cd0e6f879c1d'],
    ['2ff814a6-3304-4ab8-85cb-cd0e6f879c1d/.default', '2ff814a6-3304-4ab8-85cb-cd0e6f879c1d'],
  ];
  for (const [input, aud] of forms) {
    test(`audience ${input} -> aud ${aud}, resource echoed`, async () => {
      const response = await appServiceToken(server.url, secret, { resource: input });
      assert.equal(response.status, 200, response.text);
      assert.equal(response.body.resource, input);
      const payload = await verify(response.body.access_token, aud);
      assert.equal(payload.aud, aud);
    });
  }

  test('an unknown alias is a 400 with a suggestion', async () => {
    const response = await appServiceToken(server.url, secret, { resource: 'CognitiveServics' });
    assertError(response, 400, 'ERR_UNKNOWN_AUDIENCE');
    assert.equal(response.body.error, 'invalid_resource');
    assert.equal(response.body.suggestion, 'CognitiveServices');
    assert.ok(Array.isArray(response.body.choices));
  });

  test('an invalid audience is a 400; a missing one too', async () => {
    assertError(await appServiceToken(server.url, secret, { resource: 'http://storage.azure.com' }), 400, 'ERR_INVALID_AUDIENCE');
    const hostOnly = await appServiceToken(server.url, secret, { resource: 'storage.azure.com' });
    assertError(hostOnly, 400, 'ERR_INVALID_AUDIENCE');
    assert.equal(hostOnly.body.suggestion, 'https://storage.azure.com');
    assertError(await appServiceToken(server.url, secret, {}), 400, 'ERR_MISSING_AUDIENCE');
    assertError(await appServiceToken(server.url, secret, { resource: '   ' }), 400, 'ERR_MISSING_AUDIENCE');
  });

  test('a repeated resource parameter is refused', async () => {
    const response = await request(`${server.url}/msi/token?resource=Storage&resource=Vault`, { headers: { 'X-IDENTITY-HEADER': secret } });
    assertError(response, 400, 'ERR_INVALID_REQUEST');
  });

  test('missing or wrong secret: 401 JSON', async () => {
    assertError(await appServiceToken(server.url, undefined, { resource: 'Storage' }), 401, 'ERR_UNAUTHENTICATED');
    assertError(await appServiceToken(server.url, 'wrong', { resource: 'Storage' }), 401, 'ERR_UNAUTHENTICATED');
    assertError(await appServiceToken(server.url, secret.slice(0, -2) + 'xx', { resource: 'Storage' }), 401, 'ERR_UNAUTHENTICATED');
  });

  test('only GET', async () => {
    const response = await request(`${server.url}/msi/token?resource=Storage`, { method: 'POST', headers: { 'X-IDENTITY-HEADER': secret } });
    assertError(response, 405, 'ERR_METHOD_NOT_ALLOWED');
  });

  test('the cache: two requests get the same token (same jti)', async () => {
    const a = await appServiceToken(server.url, secret, { resource: 'https://vault.azure.net' });
    const b = await appServiceToken(server.url, secret, { resource: 'Vault' });
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    assert.equal(a.body.access_token, b.body.access_token);
    const [pa, pb] = [await verify(a.body.access_token, 'https://vault.azure.net'), await verify(b.body.access_token, 'https://vault.azure.net')];
    assert.equal(pa.jti, pb.jti);
    // Another session of the same workspace shares the cached token too (same identity, same resource).
    const other = (await server.app.admin.createSession({ workspace: 'default' })).secret;
    const c = await appServiceToken(server.url, other, { resource: 'Vault' });
    assert.equal(c.body.access_token, a.body.access_token);
  });

  test('concurrent first requests for one audience get one token', async () => {
    const responses = await Promise.all(Array.from({ length: 20 }, () => appServiceToken(server.url, secret, { resource: 'https://datalake.azure.net' })));
    assert.ok(responses.every((r) => r.status === 200));
    assert.equal(new Set(responses.map((r) => r.body.access_token)).size, 1);
  });

  describe('identity selection', () => {
    let user: IdentityView;

    before(async () => {
      const added = await admin<IdentityView>(server.url, server.adminToken, 'POST', '/admin/workspaces/default/identities', { name: 'etl' });
      assert.equal(added.status, 201, added.text);
      user = added.body;
      assert.equal(user.kind, 'user');
      assert.match(user.clientId, GUID);
      assert.match(user.objectId, GUID);
      assert.match(user.resourceId, /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.ManagedIdentity\/userAssignedIdentities\/etl$/);
    });

    for (const [param, field] of [
      ['client_id', 'clientId'],
      ['object_id', 'objectId'],
      ['principal_id', 'objectId'],
      ['mi_res_id', 'resourceId'],
      ['msi_res_id', 'resourceId'],
    ] as const) {
      test(`${param} selects the user-assigned identity`, async () => {
        const response = await appServiceToken(server.url, secret, { resource: 'Storage', [param]: user[field] });
        assert.equal(response.status, 200, response.text);
        assert.equal(response.body.client_id, user.clientId);
        const payload = await verify(response.body.access_token, 'https://storage.azure.com');
        assert.equal(payload.appid, user.clientId);
        assert.equal(payload.oid, user.objectId);
        assert.equal(payload.xms_mirid, user.resourceId);
      });
    }

    test('selectors are case-insensitive; the system identity can be selected explicitly', async () => {
      const upper = await appServiceToken(server.url, secret, { resource: 'Storage', client_id: user.clientId.toUpperCase() });
      assert.equal(upper.body.client_id, user.clientId);
      const sys = await appServiceToken(server.url, secret, { resource: 'Storage', client_id: system.clientId });
      assert.equal(sys.body.client_id, system.clientId);
      const none = await appServiceToken(server.url, secret, { resource: 'Storage' });
      assert.equal(none.body.client_id, system.clientId);
    });

    test('different identities get different tokens for one audience', async () => {
      const a = await appServiceToken(server.url, secret, { resource: 'Synapse' });
      const b = await appServiceToken(server.url, secret, { resource: 'Synapse', client_id: user.clientId });
      assert.notEqual(a.body.access_token, b.body.access_token);
    });

    test('an unknown selector is a 400 ERR_UNKNOWN_IDENTITY', async () => {
      const cases: Array<Record<string, string>> = [
        { client_id: '00000000-0000-0000-0000-000000000000' },
        { object_id: '00000000-0000-0000-0000-000000000000' },
        { mi_res_id: '/subscriptions/x/resourceGroups/y/providers/z' },
        { client_id: '' },
        { client_id: 'x'.repeat(600) },
      ];
      for (const params of cases) {
        const response = await appServiceToken(server.url, secret, { resource: 'Storage', ...params });
        assertError(response, 400, 'ERR_UNKNOWN_IDENTITY');
      }
    });

    test('two selectors are a 400', async () => {
      const response = await appServiceToken(server.url, secret, { resource: 'Storage', client_id: user.clientId, object_id: user.objectId });
      assertError(response, 400, 'ERR_AMBIGUOUS_IDENTITY');
      const synonyms = await appServiceToken(server.url, secret, { resource: 'Storage', mi_res_id: user.resourceId, msi_res_id: user.resourceId });
      assertError(synonyms, 400, 'ERR_AMBIGUOUS_IDENTITY');
    });
  });
});
