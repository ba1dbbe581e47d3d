/**
 * Acceptance under `wits exec` (issue #3): child processes started by the real CLI find the
 * endpoint in their environment and use the SDK exactly as a notebook would.
 *
 * Most runs use `wits exec --server <in-process server>`, so that this test can read the server's
 * audit log (one row per HTTP token request) and verify tokens against its JWKS after the child
 * has exited; one run uses the self-contained `wits exec` (server inside the exec process).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair, SignJWT } from 'jose';
import { CLI, cleanEnv, execChild, run, startWits, verifyIndependently, type TestWits } from './support.js';

let wits: TestWits;
before(async () => {
  wits = await startWits();
});
after(() => wits.close());

/** Tokens for isValidToken, minted by the server's own key: expired, not yet valid, forged. */
async function testTokens(): Promise<Record<string, string>> {
  const workspace = await wits.server.app.admin.getWorkspace('default');
  const id = workspace.identities[0];
  assert.ok(id);
  const claims = { audience: 'https://storage.azure.com', tenantId: id.tenantId, objectId: id.objectId, clientId: id.clientId, resourceId: id.resourceId };
  const expired = (await wits.server.app.issuer.mint(claims, 3600, Date.now() - 2 * 3600_000)).token;
  const notYetValid = (await wits.server.app.issuer.mint(claims, 3600, Date.now() + 3600_000)).token;
  const fresh = (await wits.server.app.issuer.mint(claims, 3600)).token;
  const { privateKey } = await generateKeyPair('RS256');
  const header = JSON.parse(Buffer.from(fresh.split('.')[0] as string, 'base64url').toString()) as { kid: string };
  const payload = JSON.parse(Buffer.from(fresh.split('.')[1] as string, 'base64url').toString()) as Record<string, unknown>;
  const forged = await new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: header.kid }).sign(privateKey);
  return { fresh, expired, notYetValid, forged, garbage: 'eyJhbGciOi.garbage' };
}

function assertTokensChild(json: any): void {
  assert.equal(json.valid.alias, true);
  assert.equal(json.valid.aliasVerified, true, 'verified through the JWKS by the SDK');
  assert.equal(json.valid.uriVerified, true);
  assert.equal(json.valid.scopeVerified, true);
  assert.equal(json.valid.wrongAudience, false);
  assert.equal(json.valid.garbage, false);
  assert.equal(json.access.resource, 'https://vault.azure.net');
  assert.equal(json.access.tokenType, 'Bearer');
  assert.ok(json.access.expiresOnTimestamp > Date.now() + 50 * 60_000);
  assert.ok(json.access.refreshAfterTimestamp > Date.now() && json.access.refreshAfterTimestamp <= json.access.expiresOnTimestamp - 5 * 60_000);
  assert.equal(json.credential.tokenType, 'Bearer');
  // The typo's error names the right alias.
  assert.equal(json.typo.isTokenRequestError, true);
  assert.equal(json.typo.code, 'ERR_UNKNOWN_AUDIENCE');
  assert.equal(json.typo.status, 400);
  assert.equal(json.typo.suggestion, 'Storage');
  assert.match(json.typo.message, /Did you mean 'Storage'\?/);
}

async function assertVerifiedByServer(tokens: Record<string, string>): Promise<void> {
  const expected: Record<string, string> = {
    alias: 'https://storage.azure.com',
    uri: 'https://storage.azure.com',
    scope: 'https://cognitiveservices.azure.com',
    vault: 'https://vault.azure.net',
    credential: 'https://vault.azure.net',
  };
  for (const [name, audience] of Object.entries(expected)) {
    const token = tokens[name];
    assert.ok(token, name);
    const claims = await verifyIndependently(token, wits.url, audience);
    assert.equal(claims.aud, audience, name);
  }
}

describe('wits exec (App Service protocol)', () => {
  test('getToken by alias, URI and scope returns JWTs that verify through the JWKS; isValidToken and the typo suggestion are right', async () => {
    const extra = await testTokens();
    const { json } = await execChild('tokens', { execArgs: ['--server', wits.url], home: wits.home, env: { WITS_TEST_TOKENS: JSON.stringify(extra) } });
    assert.equal(json.kind, 'app-service');
    assertTokensChild(json);
    assert.equal(json.independentlyVerified, true);
    await assertVerifiedByServer(json.tokens);
    // Alias and URI name one resource: the SDK's cache served the second from the first.
    assert.equal(json.tokens.alias, json.tokens.uri);
    // isValidToken on fresh, expired, not-yet-valid, forged and garbage tokens.
    assert.equal(json.valid['extra:fresh'], true);
    assert.equal(json.valid['extra:fresh:verified'], true);
    assert.equal(json.valid['extra:expired'], false);
    assert.equal(json.valid['extra:expired:verified'], false);
    assert.equal(json.valid['extra:notYetValid'], false);
    assert.equal(json.valid['extra:notYetValid:verified'], false);
    assert.equal(json.valid['extra:forged'], true, 'claims alone cannot tell');
    assert.equal(json.valid['extra:forged:verified'], false, 'the signature can');
    assert.equal(json.valid['extra:garbage'], false);
    assert.equal(json.valid['extra:garbage:verified'], false);
  });

  test('50 concurrent getToken calls make one HTTP request (counted in the audit log)', async () => {
    const fresh = await startWits();
    try {
      const { json } = await execChild('concurrent', { execArgs: ['--server', fresh.url], home: fresh.home });
      assert.deepEqual(json, { count: 100, distinct: 1 });
      const rows = await fresh.server.app.admin.listAudit({ limit: 1000 });
      assert.equal(rows.length, 1, `audit rows: ${JSON.stringify(rows)}`);
      assert.equal(rows[0]?.outcome, 'issued');
      assert.equal(rows[0]?.protocol, 'appservice');
      assert.equal(rows[0]?.audience, 'https://storage.azure.com');
    } finally {
      await fresh.close();
    }
  });
});

describe('wits exec --imds', () => {
  test('the SDK discovers the IMDS endpoint; tokens verify; 50 concurrent calls make one request', async () => {
    const fresh = await startWits();
    try {
      const { json } = await execChild('tokens', { execArgs: ['--server', fresh.url, '--imds'], home: fresh.home });
      assert.equal(json.kind, 'imds');
      assertTokensChild(json);
      assert.equal(json.independentlyVerified, null, 'no discovery through the IMDS endpoint');
      for (const [name, audience] of [['alias', 'https://storage.azure.com'], ['scope', 'https://cognitiveservices.azure.com']] as const) {
        await verifyIndependently(json.tokens[name], fresh.url, audience);
      }
      const before = (await fresh.server.app.admin.listAudit({ limit: 1000 })).length;
      const concurrent = await execChild('concurrent', { execArgs: ['--server', fresh.url, '--imds'], home: fresh.home });
      assert.deepEqual(concurrent.json, { count: 100, distinct: 1 });
      const rows = await fresh.server.app.admin.listAudit({ limit: 1000 });
      assert.equal(rows.length - before, 1);
      assert.equal(rows.find((r) => r.protocol === 'imds' && r.outcome === 'issued') !== undefined, true);
    } finally {
      await fresh.close();
    }
  });
});

describe('self-contained wits exec (server inside the exec process)', () => {
  test('works in a fresh directory with no setup; tokens verify through the JWKS from inside the child', async () => {
    const home = mkdtempSync(join(tmpdir(), 'wits-client-exec-'));
    try {
      const { json } = await execChild('tokens', { home });
      assert.equal(json.kind, 'app-service');
      assertTokensChild(json);
      assert.equal(json.independentlyVerified, true);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('wits token (the CLI on top of the client modules)', () => {
  test('prints a JWT for an alias under wits exec, and a clear error outside', async () => {
    const inside = await run(process.execPath, [CLI, 'exec', '--server', wits.url, '--home', wits.home, '--', process.execPath, CLI, 'token', 'Storage'], { env: cleanEnv() });
    assert.equal(inside.code, 0, inside.stderr);
    await verifyIndependently(inside.stdout.trim(), wits.url, 'https://storage.azure.com');
    const outside = await run(process.execPath, [CLI, 'token', 'Storage'], { env: cleanEnv() });
    assert.notEqual(outside.code, 0);
    assert.match(outside.stderr, /IDENTITY_ENDPOINT/);
    assert.match(outside.stderr, /wits exec/);
  });
});
