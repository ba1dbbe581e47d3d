import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import type { AuditView, CreatedSession } from '../../src/admin/adminOps.js';
import { DATABASE_FILE } from '../../src/app.js';
import { makeTempDir, removeTempDir } from '../support/home.js';
import { admin, appServiceToken, assertError, nativeToken, request } from '../support/http.js';
import { memoryLogger } from '../support/logger.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('audit log', () => {
  const home = makeTempDir('wits-audit-');
  const logger = memoryLogger('debug');
  let server: TestServer;
  const tokens: string[] = [];
  const secrets: string[] = [];
  let session: CreatedSession;
  let since: number;

  before(async () => {
    server = await startTestServer({ home, logger });
    await server.app.admin.createWorkspace({ name: 'narrow', allowedAudiences: ['Vault'] });
    session = await server.app.admin.createSession({ workspace: 'default' });
    const narrow = await server.app.admin.createSession({ workspace: 'narrow' });
    const revoked = await server.app.admin.createSession({ workspace: 'default' });
    await server.app.admin.revokeSession(revoked.id);
    secrets.push(session.secret, narrow.secret, revoked.secret, server.adminToken);
    since = Date.now();

    const issued = [
      await appServiceToken(server.url, session.secret, { resource: 'CognitiveServices' }),
      await appServiceToken(server.url, session.secret, { resource: 'CognitiveServices' }),
      await nativeToken(server.url, session.secret, { audience: 'Storage' }),
      await appServiceToken(server.url, narrow.secret, { resource: 'Vault' }),
    ];
    for (const r of issued) {
      assert.equal(r.status, 200, r.text);
      tokens.push(r.body.access_token);
    }
    assertError(await appServiceToken(server.url, undefined, { resource: 'Storage' }), 401, 'ERR_UNAUTHENTICATED');
    assertError(await appServiceToken(server.url, session.secret.slice(0, -3) + 'abc', { resource: 'Storage' }), 401, 'ERR_UNAUTHENTICATED');
    assertError(await appServiceToken(server.url, revoked.secret, { resource: 'Storage' }), 401, 'ERR_SESSION_REVOKED');
    assertError(await appServiceToken(server.url, session.secret, { resource: 'Storag' }), 400, 'ERR_UNKNOWN_AUDIENCE');
    assertError(await appServiceToken(server.url, narrow.secret, { resource: 'Storage' }), 403, 'ERR_AUDIENCE_NOT_ALLOWED');
    assertError(await appServiceToken(server.url, session.secret, { resource: 'Storage', client_id: '00000000-0000-0000-0000-000000000000' }), 400, 'ERR_UNKNOWN_IDENTITY');
    // A caller pasting a secret where the audience goes: the refusal row must not keep it.
    assertError(await appServiceToken(server.url, session.secret, { resource: session.secret }), 400, 'ERR_INVALID_AUDIENCE');
    assertError(await nativeToken(server.url, 'wits.garbage', { audience: 'Storage' }), 401, 'ERR_UNAUTHENTICATED');
    // Or a token.
    assertError(await appServiceToken(server.url, session.secret, { resource: tokens[0] as string }), 400, 'ERR_INVALID_AUDIENCE');
  });

  after(async () => {
    await server?.close();
    removeTempDir(home);
  });

  async function rows(): Promise<AuditView[]> {
    const response = await admin<AuditView[]>(server.url, server.adminToken, 'GET', `/admin/audit?since=${since}`);
    assert.equal(response.status, 200, response.text);
    return response.body;
  }

  test('every issuance has a row with its token id and expiry', async () => {
    const issuedRows = (await rows()).filter((r) => r.outcome === 'issued');
    assert.equal(issuedRows.length, 4);
    for (const [i, token] of tokens.entries()) {
      const claims = decodeJwt(token);
      const row = issuedRows[i] as AuditView;
      assert.equal(row.tokenId, claims.jti);
      assert.equal(row.expiresAt, new Date((claims.exp as number) * 1000).toISOString());
      assert.equal(row.code, null);
      assert.equal(row.audience, claims.aud);
      assert.equal(row.identity, claims.appid);
      assert.equal(row.sessionId === session.id || row.workspace === 'narrow', true);
    }
    assert.deepEqual(issuedRows.map((r) => r.protocol), ['appservice', 'appservice', 'native', 'appservice']);
    assert.equal(issuedRows[0]?.tokenId, issuedRows[1]?.tokenId, 'a cached token is audited with its id each time it is handed out');
  });

  test('every refusal has a row with its code and no token id', async () => {
    const refused = (await rows()).filter((r) => r.outcome === 'refused');
    assert.deepEqual(refused.map((r) => r.code), [
      'ERR_UNAUTHENTICATED',
      'ERR_UNAUTHENTICATED',
      'ERR_SESSION_REVOKED',
      'ERR_UNKNOWN_AUDIENCE',
      'ERR_AUDIENCE_NOT_ALLOWED',
      'ERR_UNKNOWN_IDENTITY',
      'ERR_INVALID_AUDIENCE',
      'ERR_UNAUTHENTICATED',
      'ERR_INVALID_AUDIENCE',
    ]);
    for (const row of refused) {
      assert.equal(row.tokenId, null);
      assert.equal(row.expiresAt, null);
    }
    assert.equal(refused[0]?.workspace, null, 'unauthenticated: no workspace');
    assert.equal(refused[0]?.audience, 'Storage', 'the input as sent');
    assert.equal(refused[3]?.audience, 'Storag', 'the unresolved input, sanitised');
    assert.equal(refused[4]?.workspace, 'narrow');
    assert.equal(refused[4]?.audience, 'https://storage.azure.com');
    assert.equal(refused[6]?.audience, '[redacted: a session secret]');
    assert.equal(refused[7]?.protocol, 'native');
    assert.equal(refused[8]?.audience, '[redacted: a token]');
  });

  function assertNoSecrets(text: string, where: string): void {
    for (const token of tokens) {
      assert.ok(!text.includes(token), `${where} contains a token`);
      const signature = token.split('.')[2] as string;
      assert.ok(!text.includes(signature), `${where} contains a token signature`);
    }
    for (const secret of secrets) {
      assert.ok(!text.includes(secret), `${where} contains a secret`);
      const part = secret.split('.').at(-1) as string;
      assert.ok(!text.includes(part), `${where} contains the random part of a secret`);
    }
  }

  test('no field of any row holds a token or a secret', async () => {
    const all = await admin<AuditView[]>(server.url, server.adminToken, 'GET', '/admin/audit');
    assert.ok(all.body.length >= 12);
    for (const row of all.body) {
      for (const [field, value] of Object.entries(row)) assertNoSecrets(String(value), `audit row ${row.id} field ${field}`);
    }
    assertNoSecrets(all.text, 'the audit response');
  });

  test('neither the database files nor the logs hold a token or a secret', async () => {
    const files = [DATABASE_FILE, `${DATABASE_FILE}-wal`, `${DATABASE_FILE}-shm`].map((f) => join(home, f)).filter((p) => existsSync(p));
    assert.ok(files.length >= 1);
    for (const path of files) assertNoSecrets(readFileSync(path).toString('latin1'), path);
    assert.ok(logger.lines.length > 0, 'the server logged requests');
    assertNoSecrets(logger.lines.join(''), 'the log');
  });

  test('the secret is not kept even as a session row field', async () => {
    const listed = await request(`${server.url}/admin/sessions?all=true`, { headers: { authorization: `Bearer ${server.adminToken}` } });
    assert.equal(listed.status, 200);
    assertNoSecrets(listed.text, 'the session list');
    for (const s of listed.body as Array<Record<string, unknown>>) assert.equal(s.secret, undefined);
  });
});
