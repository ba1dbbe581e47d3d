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

  test('an alias with no resource in the cloud is a 400 telling the user to pass the URI', async () => {
    const response = await appServiceToken(server.url, gov, { resource: 'AIServices' });
    assertError(response, 400, 'ERR_AUDIENCE_UNAVAILABLE_IN_CLOUD');
    assert.match(String(response.body.message), /URI/);
  });
});
