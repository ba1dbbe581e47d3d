import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import type { AuditView, SessionView } from '../../src/admin/adminOps.js';
import { makeTempDir, removeTempDir } from '../support/home.js';
import { admin, appServiceToken, assertError, request } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('restart on the same home', () => {
  const home = makeTempDir('wits-restart-');
  const servers: TestServer[] = [];

  after(async () => {
    for (const s of servers) await s.close();
    removeTempDir(home);
  });

  test('sessions, signing key, audit, workspaces and identities survive a restart', { timeout: 60_000 }, async () => {
    const first = await startTestServer({ home });
    servers.push(first);
    await first.app.admin.createWorkspace({ name: 'team', allowedAudiences: ['Storage'] });
    const user = await first.app.admin.addIdentity('team', { name: 'etl' });
    const session = await first.app.admin.createSession({ workspace: 'team', labels: { job: 'nightly' } });
    const revoked = await first.app.admin.createSession({ workspace: 'default' });
    await first.app.admin.revokeSession(revoked.id);

    const before = await appServiceToken(first.url, session.secret, { resource: 'Storage', client_id: user.clientId });
    assert.equal(before.status, 200, before.text);
    assertError(await appServiceToken(first.url, session.secret, { resource: 'Vault' }), 403, 'ERR_AUDIENCE_NOT_ALLOWED');
    const kidBefore = decodeProtectedHeader(before.body.access_token).kid;
    const jwksBefore = (await request<JSONWebKeySet>(`${first.url}/.well-known/jwks.json`)).body;
    const auditBefore = (await admin<AuditView[]>(first.url, first.adminToken, 'GET', '/admin/audit')).body;
    assert.equal(auditBefore.length, 2);
    await first.close();

    const second = await startTestServer({ home });
    servers.push(second);
    assert.equal(second.adminToken, first.adminToken);

    const afterRestart = await appServiceToken(second.url, session.secret, { resource: 'Storage', client_id: user.clientId });
    assert.equal(afterRestart.status, 200, afterRestart.text);
    assert.equal(afterRestart.body.client_id, user.clientId);
    assert.equal(decodeProtectedHeader(afterRestart.body.access_token).kid, kidBefore, 'same signing key');
    assertError(await appServiceToken(second.url, revoked.secret, { resource: 'Storage' }), 401, 'ERR_SESSION_REVOKED');
    assertError(await appServiceToken(second.url, session.secret, { resource: 'Vault' }), 403, 'ERR_AUDIENCE_NOT_ALLOWED');

    const jwksAfter = (await request<JSONWebKeySet>(`${second.url}/.well-known/jwks.json`)).body;
    assert.deepEqual(jwksAfter, jwksBefore);
    // A token issued before the restart still verifies against the JWKS served after it.
    const { payload } = await jwtVerify(before.body.access_token, createLocalJWKSet(jwksAfter), { issuer: first.url, audience: 'https://storage.azure.com' });
    assert.equal(payload.appid, user.clientId);

    const sessions = (await admin<SessionView[]>(second.url, second.adminToken, 'GET', '/admin/sessions?all=true')).body;
    const kept = sessions.find((s) => s.id === session.id);
    assert.ok(kept !== undefined);
    assert.equal(kept.status, 'active');
    assert.deepEqual(kept.labels, { job: 'nightly' });
    assert.equal(sessions.find((s) => s.id === revoked.id)?.status, 'revoked');

    const auditAfter = (await admin<AuditView[]>(second.url, second.adminToken, 'GET', '/admin/audit')).body;
    assert.deepEqual(auditAfter.slice(0, 2), auditBefore);
    assert.equal(auditAfter.length, 5);

    const team = await second.app.admin.getWorkspace('team');
    assert.deepEqual(team.allowedAudiences, ['https://storage.azure.com']);
    assert.deepEqual(team.identities.map((i) => i.name), ['system', 'etl']);
    // Bootstrap does not run twice: still one default workspace, same tenant.
    assert.deepEqual((await second.app.admin.listWorkspaces()).map((w) => w.name), ['default', 'team']);
  });
});
