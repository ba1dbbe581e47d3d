import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AuditView, CreatedSession, IdentityView, SessionView, WorkspaceView } from '../../src/admin/adminOps.js';
import { admin, appServiceToken, assertError, request } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('admin API', () => {
  let server: TestServer;
  let call: <T = any>(method: string, path: string, body?: unknown) => ReturnType<typeof admin<T>>;

  before(async () => {
    server = await startTestServer();
    call = (method, path, body) => admin(server.url, server.adminToken, method, path, body);
  });

  after(async () => {
    await server?.close();
  });

  test('401 JSON without, or with a wrong, admin credential, on every admin path', async () => {
    const paths: Array<[string, string]> = [
      ['GET', '/admin/workspaces'],
      ['POST', '/admin/workspaces'],
      ['GET', '/admin/workspaces/default'],
      ['PATCH', '/admin/workspaces/default'],
      ['POST', '/admin/workspaces/default/identities'],
      ['GET', '/admin/sessions'],
      ['POST', '/admin/sessions'],
      ['POST', '/admin/sessions/x/revoke'],
      ['DELETE', '/admin/sessions/x'],
      ['GET', '/admin/audit'],
      ['GET', '/admin/nothing-here'],
    ];
    const session = await server.app.admin.createSession({ workspace: 'default' });
    for (const [method, path] of paths) {
      for (const token of [null, '', 'wrong', server.adminToken + 'x', server.adminToken.slice(0, -1), session.secret]) {
        const response = await admin(server.url, token, method, path, method === 'GET' || method === 'DELETE' ? undefined : {});
        assertError(response, 401, 'ERR_ADMIN_UNAUTHENTICATED');
      }
      const basic = await request(server.url + path, { method, headers: { authorization: `Basic ${Buffer.from(`admin:${server.adminToken}`).toString('base64')}` } });
      assertError(basic, 401, 'ERR_ADMIN_UNAUTHENTICATED');
    }
    // Nothing was created by the refused calls.
    assert.deepEqual((await server.app.admin.listWorkspaces()).map((w) => w.name), ['default']);
  });

  test('the admin credential is accepted with any case of "Bearer"', async () => {
    const response = await request(`${server.url}/admin/workspaces`, { headers: { authorization: `bearer ${server.adminToken}` } });
    assert.equal(response.status, 200);
  });

  test('workspaces: create, list, show, update', async () => {
    const created = await call<WorkspaceView>('POST', '/admin/workspaces', { name: 'analytics', allowedAudiences: ['Storage', 'https://vault.azure.net/.default'] });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.name, 'analytics');
    assert.equal(created.body.cloud, 'AzureCloud');
    assert.deepEqual(created.body.allowedAudiences, ['https://storage.azure.com', 'https://vault.azure.net']);
    assert.deepEqual(created.body.source, { kind: 'local', options: {} });
    assert.equal(created.body.identities.length, 1);
    const system = created.body.identities[0] as IdentityView;
    assert.equal(system.kind, 'system');
    assert.equal(system.name, 'system');
    assert.match(system.clientId, GUID);
    assert.match(system.objectId, GUID);
    assert.match(system.tenantId, GUID);
    assert.match(system.resourceId, /\/workspaces\/analytics$/);
    assert.ok(!Number.isNaN(Date.parse(created.body.createdAt)));

    const list = await call<WorkspaceView[]>('GET', '/admin/workspaces');
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.map((w) => w.name), ['default', 'analytics']);

    const shown = await call<WorkspaceView>('GET', '/admin/workspaces/analytics');
    assert.deepEqual(shown.body, created.body);

    const updated = await call<WorkspaceView>('PATCH', '/admin/workspaces/analytics', { cloud: 'AzureUSGovernment', allowedAudiences: ['Vault'] });
    assert.equal(updated.status, 200, updated.text);
    assert.equal(updated.body.cloud, 'AzureUSGovernment');
    assert.deepEqual(updated.body.allowedAudiences, ['https://vault.usgovcloudapi.net'], 'aliases resolve in the new cloud');
    assert.equal(updated.body.createdAt, created.body.createdAt);

    const cleared = await call<WorkspaceView>('PATCH', '/admin/workspaces/analytics', { allowedAudiences: null });
    assert.equal(cleared.body.allowedAudiences, null);
    assert.equal(cleared.body.cloud, 'AzureUSGovernment', 'an absent field is unchanged');
  });

  test('workspace errors', async () => {
    assertError(await call('POST', '/admin/workspaces', { name: 'default' }), 409, 'ERR_CONFLICT');
    assertError(await call('POST', '/admin/workspaces', {}), 400, 'ERR_INVALID_ARGUMENT');
    assertError(await call('POST', '/admin/workspaces', { name: 'bad name' }), 400, 'ERR_INVALID_ARGUMENT');
    assertError(await call('POST', '/admin/workspaces', { name: 42 }), 400, 'ERR_INVALID_ARGUMENT');
    assertError(await call('POST', '/admin/workspaces', { name: 'x', cloud: 'Mars' }), 400, 'ERR_INVALID_ARGUMENT');
    assertError(await call('POST', '/admin/workspaces', { name: 'x', allowedAudiences: 'Storage' }), 400, 'ERR_INVALID_ARGUMENT');
    assertError(await call('POST', '/admin/workspaces', { name: 'x', allowedAudiences: ['Nope'] }), 400, 'ERR_UNKNOWN_AUDIENCE');
    assertError(await call('POST', '/admin/workspaces', { name: 'x', source: { kind: 'magic' } }), 400, 'ERR_INVALID_ARGUMENT');
    assertError(await call('POST', '/admin/workspaces', { name: 'x', tenantId: 'not-a-guid' }), 400, 'ERR_INVALID_ARGUMENT');
    assertError(await call('GET', '/admin/workspaces/ghost'), 404, 'ERR_UNKNOWN_WORKSPACE');
    assertError(await call('PATCH', '/admin/workspaces/ghost', {}), 404, 'ERR_UNKNOWN_WORKSPACE');
    assertError(await call('DELETE', '/admin/workspaces/default'), 405, 'ERR_METHOD_NOT_ALLOWED');
    assertError(await call('PUT', '/admin/workspaces'), 405, 'ERR_METHOD_NOT_ALLOWED');
    assertError(await call('GET', '/admin/workspaces/default/identities'), 405, 'ERR_METHOD_NOT_ALLOWED');
    assertError(await call('GET', '/admin/workspaces/default/identities/x'), 404, 'ERR_NOT_FOUND');
    assertError(await call('GET', '/admin/workspaces/%zz'), 400, 'ERR_INVALID_REQUEST');
    const badJson = await request(`${server.url}/admin/workspaces`, { method: 'POST', headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' }, body: '{"name":' });
    assertError(badJson, 400, 'ERR_INVALID_REQUEST');
    assert.equal((await server.app.admin.listWorkspaces()).some((w) => w.name === 'x'), false);
  });

  test('identities: add with generated ids, or given ones; conflicts are 409', async () => {
    const generated = await call<IdentityView>('POST', '/admin/workspaces/default/identities', { name: 'gen' });
    assert.equal(generated.status, 201, generated.text);
    assert.equal(generated.body.kind, 'user');
    assert.match(generated.body.clientId, GUID);
    assert.match(generated.body.objectId, GUID);
    assert.notEqual(generated.body.clientId, generated.body.objectId);
    assert.match(generated.body.resourceId, /^\/subscriptions\/[0-9a-f-]{36}\/resourceGroups\/wits-[^/]+\/providers\/Microsoft\.ManagedIdentity\/userAssignedIdentities\/gen$/);
    const system = (await server.app.admin.getWorkspace('default')).identities[0] as IdentityView;
    assert.equal(generated.body.tenantId, system.tenantId, 'the workspace tenant by default');

    const given = {
      name: 'real',
      clientId: '11111111-2222-3333-4444-555555555555',
      objectId: 'AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE',
      resourceId: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/real',
      tenantId: '99999999-8888-7777-6666-555555555555',
    };
    const added = await call<IdentityView>('POST', '/admin/workspaces/default/identities', given);
    assert.equal(added.status, 201, added.text);
    assert.equal(added.body.objectId, given.objectId.toLowerCase());
    assert.equal(added.body.clientId, given.clientId);
    assert.equal(added.body.resourceId, given.resourceId);
    assert.equal(added.body.tenantId, given.tenantId);

    const shown = await call<WorkspaceView>('GET', '/admin/workspaces/default');
    assert.deepEqual(shown.body.identities.map((i) => i.name), ['system', 'gen', 'real']);

    assertError(await call('POST', '/admin/workspaces/default/identities', { name: 'gen' }), 409, 'ERR_CONFLICT');
    assertError(await call('POST', '/admin/workspaces/default/identities', { name: 'other', clientId: given.clientId }), 409, 'ERR_CONFLICT');
    assertError(await call('POST', '/admin/workspaces/default/identities', { name: 'system' }), 400, 'ERR_INVALID_ARGUMENT');
    assertError(await call('POST', '/admin/workspaces/default/identities', { name: 'x', clientId: 'nope' }), 400, 'ERR_INVALID_ARGUMENT');
    assertError(await call('POST', '/admin/workspaces/default/identities', { name: 'x', resourceId: '/not/arm' }), 400, 'ERR_INVALID_ARGUMENT');
    assertError(await call('POST', '/admin/workspaces/ghost/identities', { name: 'x' }), 404, 'ERR_UNKNOWN_WORKSPACE');
  });

  test('sessions: create (secret once), list, revoke', async () => {
    const created = await call<CreatedSession>('POST', '/admin/sessions', { workspace: 'default', ttlSeconds: 600, labels: { job: 'etl', 'k8s/pod': 'p-1' }, audiences: ['Storage'] });
    assert.equal(created.status, 201, created.text);
    assert.match(created.body.secret, /^wits\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
    assert.equal(created.body.secret.split('.')[1], created.body.id);
    assert.equal(created.body.status, 'active');
    assert.deepEqual(created.body.audiences, ['https://storage.azure.com']);
    assert.deepEqual(created.body.labels, { job: 'etl', 'k8s/pod': 'p-1' });
    const ttl = Date.parse(created.body.expiresAt) - Date.parse(created.body.createdAt);
    assert.equal(ttl, 600_000);

    const defaults = await call<CreatedSession>('POST', '/admin/sessions', {});
    assert.equal(defaults.status, 201, defaults.text);
    assert.equal(defaults.body.workspace, 'default');
    assert.equal(Date.parse(defaults.body.expiresAt) - Date.parse(defaults.body.createdAt), server.config.sessionTtlSeconds * 1000);
    assert.equal(defaults.body.audiences, null);

    const list = await call<SessionView[]>('GET', '/admin/sessions?workspace=default');
    assert.equal(list.status, 200);
    const ids = list.body.map((s) => s.id);
    assert.ok(ids.includes(created.body.id) && ids.includes(defaults.body.id));
    for (const s of list.body) assert.equal((s as unknown as Record<string, unknown>).secret, undefined, 'the secret is never listed');
    assert.ok(!list.text.includes(created.body.secret.split('.')[2] as string));

    const revoked = await call<SessionView>('POST', `/admin/sessions/${created.body.id}/revoke`);
    assert.equal(revoked.status, 200);
    assert.equal(revoked.body.status, 'revoked');
    assert.ok(revoked.body.revokedAt !== null);
    const active = await call<SessionView[]>('GET', '/admin/sessions');
    assert.ok(!active.body.some((s) => s.id === created.body.id), 'revoked sessions are not active');
    const all = await call<SessionView[]>('GET', '/admin/sessions?all=true');
    assert.equal(all.body.find((s) => s.id === created.body.id)?.status, 'revoked');

    assertError(await call('POST', '/admin/sessions/nope/revoke'), 404, 'ERR_UNKNOWN_SESSION');
    assertError(await call('GET', '/admin/sessions?workspace=ghost'), 404, 'ERR_UNKNOWN_WORKSPACE');
    assertError(await call('POST', '/admin/sessions', { workspace: 'ghost' }), 404, 'ERR_UNKNOWN_WORKSPACE');
    assertError(await call('POST', '/admin/sessions', { labels: { 'bad key': 'v' } }), 400, 'ERR_INVALID_ARGUMENT');
    assertError(await call('POST', '/admin/sessions', { labels: { k: 'line\nbreak' } }), 400, 'ERR_INVALID_ARGUMENT');
    assertError(await call('POST', '/admin/sessions', { labels: ['x'] }), 400, 'ERR_INVALID_ARGUMENT');
    assertError(await call('POST', '/admin/sessions', { ttlSeconds: 'soon' }), 400, 'ERR_INVALID_ARGUMENT');
    assertError(await call('GET', '/admin/sessions/x'), 405, 'ERR_METHOD_NOT_ALLOWED');
  });

  test('audit: rows since a time, by workspace, limited', async () => {
    const session = await server.app.admin.createSession({ workspace: 'default' });
    await appServiceToken(server.url, session.secret, { resource: 'Storage' });
    await sleep(20);
    const since = Date.now();
    await sleep(5);
    await appServiceToken(server.url, session.secret, { resource: 'Vault' });
    await appServiceToken(server.url, session.secret, { resource: 'Nope' });

    const all = await call<AuditView[]>('GET', '/admin/audit');
    assert.ok(all.body.length >= 3);
    const recent = await call<AuditView[]>('GET', `/admin/audit?since=${since}`);
    assert.equal(recent.status, 200);
    assert.deepEqual(recent.body.map((r) => [r.outcome, r.audience, r.code]), [
      ['issued', 'https://vault.azure.net', null],
      ['refused', 'Nope', 'ERR_UNKNOWN_AUDIENCE'],
    ]);
    const row = recent.body[0] as AuditView;
    assert.equal(row.protocol, 'appservice');
    assert.equal(row.workspace, 'default');
    assert.equal(row.sessionId, session.id);
    assert.ok(Date.parse(row.time) >= since);
    assert.match(String(row.tokenId), GUID);
    assert.ok(Date.parse(String(row.expiresAt)) > Date.now());

    const limited = await call<AuditView[]>('GET', '/admin/audit?limit=1');
    assert.equal(limited.body.length, 1);
    assert.equal(limited.body[0]?.id, all.body[0]?.id, 'oldest first');
    const ids = all.body.map((r) => r.id);
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
    assert.deepEqual(await call<AuditView[]>('GET', '/admin/audit?workspace=ghost').then((r) => r.body), []);

    assertError(await call('GET', '/admin/audit?since=yesterday'), 400, 'ERR_INVALID_ARGUMENT');
    assertError(await call('GET', '/admin/audit?limit=0'), 400, 'ERR_INVALID_ARGUMENT');
    assertError(await call('GET', '/admin/audit?limit=1&limit=2'), 400, 'ERR_INVALID_REQUEST');
    assertError(await call('POST', '/admin/audit'), 405, 'ERR_METHOD_NOT_ALLOWED');
  });

  test('unknown admin paths are 404 JSON (with the credential)', async () => {
    assertError(await call('GET', '/admin/'), 404, 'ERR_NOT_FOUND');
    assertError(await call('GET', '/admin/keys'), 404, 'ERR_NOT_FOUND');
    assertError(await call('GET', '/admin/audit/1'), 404, 'ERR_NOT_FOUND');
  });
});
