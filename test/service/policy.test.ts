import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CreatedSession, SessionView } from '../../src/admin/adminOps.js';
import { openAdmin } from '../../src/app.js';
import { admin, appServiceToken, assertError, nativeToken } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('policy, revocation and expiry', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer();
    const created = await admin(server.url, server.adminToken, 'POST', '/admin/workspaces', {
      name: 'restricted',
      allowedAudiences: ['CognitiveServices', 'https://ai.azure.com/.default'],
    });
    assert.equal(created.status, 201, created.text);
    assert.deepEqual(created.body.allowedAudiences, ['https://cognitiveservices.azure.com', 'https://ai.azure.com']);
  });

  after(async () => {
    await server?.close();
  });

  async function session(body: Record<string, unknown>): Promise<CreatedSession> {
    const response = await admin<CreatedSession>(server.url, server.adminToken, 'POST', '/admin/sessions', body);
    assert.equal(response.status, 201, response.text);
    return response.body;
  }

  test('a workspace list allows its audiences in any spelling and denies every other (403)', async () => {
    const { secret } = await session({ workspace: 'restricted' });
    for (const allowed of ['CognitiveServices', 'https://cognitiveservices.azure.com/', 'https://ai.azure.com', 'AIServices']) {
      const response = await appServiceToken(server.url, secret, { resource: allowed });
      assert.equal(response.status, 200, `${allowed}: ${response.text}`);
    }
    for (const denied of ['Storage', 'https://vault.azure.net', 'api://contoso.com/x', '2ff814a6-3304-4ab8-85cb-cd0e6f879c1d']) {
      const response = await appServiceToken(server.url, secret, { resource: denied });
      assertError(response, 403, 'ERR_AUDIENCE_NOT_ALLOWED');
      assert.equal(response.body.error, 'access_denied');
    }
    assertError(await nativeToken(server.url, secret, { audience: 'Storage' }), 403, 'ERR_AUDIENCE_NOT_ALLOWED');
  });

  test('an empty workspace list denies everything', async () => {
    const created = await admin(server.url, server.adminToken, 'POST', '/admin/workspaces', { name: 'locked', allowedAudiences: [] });
    assert.equal(created.status, 201, created.text);
    const { secret } = await session({ workspace: 'locked' });
    assertError(await appServiceToken(server.url, secret, { resource: 'CognitiveServices' }), 403, 'ERR_AUDIENCE_NOT_ALLOWED');
  });

  test('a policy change applies to the next request', async () => {
    await admin(server.url, server.adminToken, 'POST', '/admin/workspaces', { name: 'changing' });
    const { secret } = await session({ workspace: 'changing' });
    assert.equal((await appServiceToken(server.url, secret, { resource: 'Storage' })).status, 200);
    const patched = await admin(server.url, server.adminToken, 'PATCH', '/admin/workspaces/changing', { allowedAudiences: ['Vault'] });
    assert.equal(patched.status, 200, patched.text);
    assertError(await appServiceToken(server.url, secret, { resource: 'Storage' }), 403, 'ERR_AUDIENCE_NOT_ALLOWED');
    assert.equal((await appServiceToken(server.url, secret, { resource: 'Vault' })).status, 200);
    await admin(server.url, server.adminToken, 'PATCH', '/admin/workspaces/changing', { allowedAudiences: null });
    assert.equal((await appServiceToken(server.url, secret, { resource: 'Storage' })).status, 200);
  });

  test('a session list narrows further', async () => {
    const narrowed = await session({ workspace: 'restricted', audiences: ['AIServices'] });
    assert.deepEqual(narrowed.audiences, ['https://ai.azure.com']);
    assert.equal((await appServiceToken(server.url, narrowed.secret, { resource: 'https://ai.azure.com/.default' })).status, 200);
    assertError(await appServiceToken(server.url, narrowed.secret, { resource: 'CognitiveServices' }), 403, 'ERR_AUDIENCE_NOT_ALLOWED');

    const onDefault = await session({ workspace: 'default', audiences: ['Storage'] });
    assert.equal((await appServiceToken(server.url, onDefault.secret, { resource: 'Storage' })).status, 200);
    assertError(await appServiceToken(server.url, onDefault.secret, { resource: 'Vault' }), 403, 'ERR_AUDIENCE_NOT_ALLOWED');
  });

  test('session audiences outside the workspace policy are refused at creation', async () => {
    const response = await admin(server.url, server.adminToken, 'POST', '/admin/sessions', { workspace: 'restricted', audiences: ['AIServices', 'Storage'] });
    assertError(response, 403, 'ERR_AUDIENCE_NOT_ALLOWED');
    assert.match(response.body.message, /storage\.azure\.com/);
    await assert.rejects(server.app.admin.createSession({ workspace: 'restricted', audiences: ['Vault'] }), { code: 'ERR_AUDIENCE_NOT_ALLOWED' });
    assertError(await admin(server.url, server.adminToken, 'POST', '/admin/sessions', { workspace: 'restricted', audiences: ['Nope'] }), 400, 'ERR_UNKNOWN_AUDIENCE');
  });

  test('revocation through the admin API takes effect on the next request', async () => {
    const created = await session({ workspace: 'default' });
    assert.equal((await appServiceToken(server.url, created.secret, { resource: 'Storage' })).status, 200);
    const revoked = await admin<SessionView>(server.url, server.adminToken, 'POST', `/admin/sessions/${created.id}/revoke`);
    assert.equal(revoked.status, 200, revoked.text);
    assert.equal(revoked.body.status, 'revoked');
    assertError(await appServiceToken(server.url, created.secret, { resource: 'Storage' }), 401, 'ERR_SESSION_REVOKED');
    assertError(await nativeToken(server.url, created.secret, { audience: 'Storage' }), 401, 'ERR_SESSION_REVOKED');
  });

  test('DELETE /admin/sessions/{id} revokes too; revoking again keeps the first time', async () => {
    const created = await session({ workspace: 'default' });
    const first = await admin<SessionView>(server.url, server.adminToken, 'DELETE', `/admin/sessions/${created.id}`);
    assert.equal(first.status, 200);
    const again = await admin<SessionView>(server.url, server.adminToken, 'POST', `/admin/sessions/${created.id}/revoke`);
    assert.equal(again.status, 200);
    assert.equal(again.body.revokedAt, first.body.revokedAt);
    assertError(await appServiceToken(server.url, created.secret, { resource: 'Storage' }), 401, 'ERR_SESSION_REVOKED');
  });

  test('revocation by another process on the same home (the CLI) takes effect on the next request', async () => {
    const created = await session({ workspace: 'default' });
    assert.equal((await appServiceToken(server.url, created.secret, { resource: 'Storage' })).status, 200);
    const cli = await openAdmin(server.config);
    try {
      const view = await cli.admin.revokeSession(created.id);
      assert.equal(view.status, 'revoked');
    } finally {
      await cli.store.close();
    }
    assertError(await appServiceToken(server.url, created.secret, { resource: 'Storage' }), 401, 'ERR_SESSION_REVOKED');
  });

  test('a session created by another process on the same home works at once', async () => {
    const cli = await openAdmin(server.config);
    let secret: string;
    try {
      secret = (await cli.admin.createSession({ workspace: 'default' })).secret;
    } finally {
      await cli.store.close();
    }
    assert.equal((await appServiceToken(server.url, secret, { resource: 'Storage' })).status, 200);
  });

  test('session expiry takes effect on the next request', { timeout: 30_000 }, async () => {
    const created = await session({ workspace: 'default', ttlSeconds: 1 });
    const first = await appServiceToken(server.url, created.secret, { resource: 'Storage' });
    // On a very slow machine the second may already be over; then the refusal is the right answer too.
    if (first.status !== 200) assertError(first, 401, 'ERR_SESSION_EXPIRED');
    const wait = Date.parse(created.expiresAt) - Date.now() + 150;
    if (wait > 0) await sleep(wait);
    assertError(await appServiceToken(server.url, created.secret, { resource: 'Storage' }), 401, 'ERR_SESSION_EXPIRED');
    const listed = await admin<SessionView[]>(server.url, server.adminToken, 'GET', '/admin/sessions?all=true');
    assert.equal(listed.body.find((s) => s.id === created.id)?.status, 'expired');
    const active = await admin<SessionView[]>(server.url, server.adminToken, 'GET', '/admin/sessions');
    assert.equal(active.body.find((s) => s.id === created.id), undefined);
  });

  test('session TTL bounds are enforced', async () => {
    for (const ttlSeconds of [0, -1, 1.5, server.config.maxSessionTtlSeconds + 1]) {
      assertError(await admin(server.url, server.adminToken, 'POST', '/admin/sessions', { ttlSeconds }), 400, 'ERR_INVALID_ARGUMENT');
    }
  });
});
