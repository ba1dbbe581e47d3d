/** A workspace in a sovereign cloud: aliases resolve to that cloud's resources, end to end. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { appServiceToken, assertError } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('sovereign clouds', () => {
  let server: TestServer;
  let gov: string;
  let china: string;

  before(async () => {
    server = await startTestServer();
    await server.app.admin.createWorkspace({ name: 'gov', cloud: 'AzureUSGovernment' });
    await server.app.admin.createWorkspace({ name: 'china', cloud: 'AzureChinaCloud' });
    gov = (await server.app.admin.createSession({ workspace: 'gov' })).secret;
    china = (await server.app.admin.createSession({ workspace: 'china' })).secret;
  });
  after(() => server.close());

  const jwks = () => createRemoteJWKSet(new URL(`${server.url}/.well-known/jwks.json`));

  for (const [alias, cloud, expected] of [
    ['Vault', 'gov', 'https://vault.usgovcloudapi.net'],
    ['CognitiveServices', 'gov', 'https://cognitiveservices.azure.us'],
    ['AzureManagement', 'china', 'https://management.chinacloudapi.cn'],
    ['Storage', 'china', 'https://storage.azure.com'],
  ] as const) {
    test(`${alias} in the ${cloud} workspace is a token for ${expected}`, async () => {
      const response = await appServiceToken(server.url, cloud === 'gov' ? gov : china, { resource: alias });
      assert.equal(response.status, 200, response.text);
      assert.equal(response.body.resource, alias, 'the resource is echoed as sent');
      const { payload } = await jwtVerify(response.body.access_token as string, jwks(), { audience: expected, issuer: server.url });
      assert.equal(payload.aud, expected);
    });
  }

  test("changing a workspace's cloud moves its allowed audiences to the new cloud's resources", async () => {
    await server.app.admin.createWorkspace({ name: 'moving', allowedAudiences: ['Vault', 'Storage', 'api://contoso.com/api'] });
    const moved = await server.app.admin.updateWorkspace('moving', { cloud: 'AzureUSGovernment' });
    assert.deepEqual(moved.allowedAudiences, ['https://vault.usgovcloudapi.net', 'https://storage.azure.com', 'api://contoso.com/api']);
    const secret = (await server.app.admin.createSession({ workspace: 'moving' })).secret;
    const vault = await appServiceToken(server.url, secret, { resource: 'Vault' });
    assert.equal(vault.status, 200, vault.text);
    assert.equal((await jwtVerify(vault.body.access_token as string, jwks(), { issuer: server.url })).payload.aud, 'https://vault.usgovcloudapi.net');
    assertError(await appServiceToken(server.url, secret, { resource: 'https://vault.azure.net' }), 403, 'ERR_AUDIENCE_NOT_ALLOWED');

    // A service the new cloud does not have: refused, and nothing changes.
    await server.app.admin.createWorkspace({ name: 'stuck', allowedAudiences: ['AIServices'] });
    await assert.rejects(server.app.admin.updateWorkspace('stuck', { cloud: 'AzureUSGovernment' }), /ai\.azure\.com \(AIServices\)/);
    const stuck = await server.app.admin.getWorkspace('stuck');
    assert.equal(stuck.cloud, 'AzureCloud');
    assert.deepEqual(stuck.allowedAudiences, ['https://ai.azure.com']);
  });

  test('an alias with no resource in the cloud is a 400 telling the user to pass the URI', async () => {
    const response = await appServiceToken(server.url, gov, { resource: 'AIServices' });
    assertError(response, 400, 'ERR_AUDIENCE_UNAVAILABLE_IN_CLOUD');
    assert.match(String(response.body.message), /URI/);
  });
});
