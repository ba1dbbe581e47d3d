/**
 * Official clients, unmodified, in child processes under `wits exec`, over real sockets, against a
 * separately running `wits serve`: @azure/identity ManagedIdentityCredential and
 * DefaultAzureCredential, and @azure/msal-node ManagedIdentityApplication, in App Service mode (the
 * default) and IMDS mode (`--imds`), each for Azure OpenAI and AI Foundry. Every token is accepted
 * by the strict resource-server stand-in (signature via the published JWKS, iss, exact aud, exp,
 * Entra app-token claims).
 */
import { decodeProtectedHeader, generateKeyPair, SignJWT } from 'jose';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { StrictResourceServer, type AppTokenClaims } from './resourceServer.js';
import {
  clientScript,
  cleanEnv,
  lastJsonLine,
  removeDir,
  RESOURCES,
  startServe,
  tempDir,
  wits,
  witsOk,
  type ClientTokens,
  type WitsServer,
} from './support.js';

interface IdentityView {
  kind: 'system' | 'user';
  name: string;
  tenantId: string;
  clientId: string;
  objectId: string;
  resourceId: string;
}

type Mode = 'appservice' | 'imds';
const MODES: readonly Mode[] = ['appservice', 'imds'];

const CLIENTS = [
  { name: 'ManagedIdentityCredential', script: 'identity', args: ['--credential', 'mi'] },
  { name: 'DefaultAzureCredential', script: 'identity', args: ['--credential', 'dac'] },
  { name: 'msal-node ManagedIdentityApplication', script: 'msal', args: [] },
] as const;

describe('official clients under wits exec against wits serve', { concurrency: false }, () => {
  let home: string;
  let server: WitsServer;
  let resourceServer: StrictResourceServer;
  let system: IdentityView;
  let user: IdentityView;

  before(async () => {
    home = tempDir('clients');
    server = await startServe(home);
    resourceServer = new StrictResourceServer(server.url);
    // A user-assigned identity, added through the admin API of the running server.
    const added = await witsOk(['identity', 'add', 'notebook-uami', '--json'], { env: server.adminEnv() });
    user = JSON.parse(added.stdout) as IdentityView;
    const listed = await witsOk(['identity', 'list', '--json'], { env: server.adminEnv() });
    const identities = JSON.parse(listed.stdout) as IdentityView[];
    system = identities.find((i) => i.kind === 'system') as IdentityView;
    assert.ok(system, 'the default workspace has a system-assigned identity');
    assert.ok(identities.some((i) => i.clientId === user.clientId && i.kind === 'user'));
    assert.notEqual(user.clientId, system.clientId);
  });

  after(async () => {
    await server?.stop();
    if (home !== undefined) removeDir(home);
  });

  /** Runs a client under `wits exec [--imds] --server URL`; env extras reach the client. */
  async function underExec(mode: Mode, script: string, args: readonly string[], extraEnv: Record<string, string> = {}): Promise<ClientTokens> {
    const result = await wits(
      ['exec', ...(mode === 'imds' ? ['--imds'] : []), '--server', server.url, '--home', home, '--', process.execPath, clientScript(script), ...args],
      { env: cleanEnv(extraEnv) },
    );
    assert.equal(result.code, 0, `client ${script} ${args.join(' ')} failed in ${mode} mode\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
    return lastJsonLine<ClientTokens>(result);
  }

  /** Strictly verifies every token of a client's output; checks each expiry against the token's exp. */
  async function verifyAll(out: ClientTokens, expected: IdentityView): Promise<AppTokenClaims[]> {
    assert.deepEqual(out.tokens.map((t) => t.resource), [...RESOURCES], 'one token per requested resource, in order');
    const claims: AppTokenClaims[] = [];
    for (const t of out.tokens) {
      const c = await resourceServer.verify(t.token, t.resource);
      assert.equal(c.aud, t.resource);
      assert.equal(c.appid, expected.clientId, 'appid is the selected identity');
      assert.equal(c.oid, expected.objectId);
      assert.equal(c.tid, expected.tenantId);
      assert.equal(c.xms_mirid, expected.resourceId);
      // The expiry the client reports is the token's own exp (clients read expires_on).
      assert.ok(Math.abs(t.expiresOnMs - c.exp * 1000) <= 1000, `client expiry ${t.expiresOnMs} vs exp ${c.exp}`);
      assert.ok(t.expiresOnMs > Date.now() + 10 * 60_000, 'the client does not consider the token about to expire');
      claims.push(c);
    }
    assert.notEqual(claims[0]?.jti, claims[1]?.jti, 'each token has its own jti');
    return claims;
  }

  for (const mode of MODES) {
    for (const client of CLIENTS) {
      test(`${client.name} (${mode}) gets verifiable tokens for Azure OpenAI and AI Foundry`, async () => {
        const out = await underExec(mode, client.script, client.args);
        if (client.script === 'msal') {
          // msal-node saw the environment the mode promises, not a fallback.
          assert.equal(out.source, mode === 'imds' ? 'DefaultToImds' : 'AppService');
        }
        await verifyAll(out, system);
      });
    }
  }

  for (const mode of MODES) {
    test(`ManagedIdentityCredential({ clientId }) (${mode}) gets the user-assigned identity`, async () => {
      const out = await underExec(mode, 'identity', ['--credential', 'mi', '--client-id', user.clientId]);
      const claims = await verifyAll(out, user);
      assert.ok(claims.every((c) => c.appid === user.clientId && c.appid !== system.clientId));
    });
  }

  test('msal-node with userAssignedClientId (imds) gets the user-assigned identity', async () => {
    const out = await underExec('imds', 'msal', ['--client-id', user.clientId]);
    assert.equal(out.source, 'DefaultToImds');
    await verifyAll(out, user);
  });

  for (const mode of MODES) {
    test(`DefaultAzureCredential with AZURE_CLIENT_ID of a user-assigned identity (${mode})`, async () => {
      const out = await underExec(mode, 'identity', ['--credential', 'dac'], { AZURE_CLIENT_ID: user.clientId });
      await verifyAll(out, user);
    });
  }

  test('DefaultAzureCredential in a workload-identity pod under wits exec uses wits, not the token file', async () => {
    // AKS workload identity sets these three; order 0 in protocols.md section 1 would win over the
    // endpoint wits sets up (and try Entra over the network) unless wits exec hides the file.
    const federatedTokenFile = join(home, 'federated-token');
    writeFileSync(federatedTokenFile, 'not.a.token\n');
    const out = await underExec('appservice', 'identity', ['--credential', 'dac'], {
      AZURE_FEDERATED_TOKEN_FILE: federatedTokenFile,
      AZURE_TENANT_ID: user.tenantId,
      AZURE_CLIENT_ID: user.clientId,
    });
    await verifyAll(out, user);
  });

  test('the resource-server stand-in rejects wrong audience, tampering and foreign keys', async () => {
    const out = await underExec('appservice', 'msal', ['--resource', RESOURCES[0]]);
    const token = out.tokens[0]?.token as string;
    const good = await resourceServer.verify(token, RESOURCES[0]);
    // Right token, other resource: a resource server must refuse it.
    await assert.rejects(resourceServer.verify(token, RESOURCES[1]), /aud/);
    // Claims changed after signing (appid swapped for the user-assigned identity's).
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const forged = Buffer.from(JSON.stringify({ ...good, appid: user.clientId })).toString('base64url');
    await assert.rejects(resourceServer.verify(`${header}.${forged}.${signature}`, RESOURCES[0]), /signature/i);
    assert.notEqual(forged, payload);
    // Same header (kid) and claims, signed by a key the issuer never published.
    const protectedHeader = decodeProtectedHeader(token) as { alg: string };
    const { privateKey } = await generateKeyPair(protectedHeader.alg);
    const foreign = await new SignJWT({ ...good }).setProtectedHeader(protectedHeader).sign(privateKey);
    await assert.rejects(resourceServer.verify(foreign, RESOURCES[0]), /signature/i);
  });

  test('an unknown client id is refused, not answered with another identity', async () => {
    const unknown = '00000000-0000-4000-8000-000000000001';
    const result = await wits(
      ['exec', '--server', server.url, '--home', home, '--', process.execPath, clientScript('identity'), '--credential', 'mi', '--client-id', unknown, '--resource', RESOURCES[0]],
      { env: cleanEnv() },
    );
    assert.notEqual(result.code, 0, `expected a failure, got ${result.stdout}`);
    assert.doesNotMatch(result.stdout, /eyJ/, 'no token was printed');
    assert.match(result.stderr, /no identity with that client_id/i, 'the client surfaces the service error');
  });

  test('audit records each issuance under the protocol the client spoke', async () => {
    const { stdout } = await witsOk(['audit', '--json'], { env: server.adminEnv() });
    const rows = JSON.parse(stdout) as Array<{ protocol: string; outcome: string; audience: string | null; identity: string | null }>;
    const issued = rows.filter((r) => r.outcome === 'issued');
    for (const protocol of ['appservice', 'imds']) {
      for (const resource of RESOURCES) {
        assert.ok(
          issued.some((r) => r.protocol === protocol && r.audience === resource && r.identity === system.clientId),
          `an issued ${protocol} row for ${resource}`,
        );
      }
    }
    assert.ok(issued.some((r) => r.identity === user.clientId), 'user-assigned issuance is audited with its client id');
    assert.ok(rows.some((r) => r.outcome === 'refused' && r.protocol === 'appservice'), 'the refusal is audited too');
  });
});
