/**
 * `WitsCredential` against the Azure SDK `TokenCredential` contract, user-assigned identities,
 * server refusals, and what happens outside `wits exec`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AccessToken as CoreAccessToken, TokenCredential as CoreTokenCredential } from '@azure/core-auth';
import { getBearerTokenProvider } from '@azure/identity';
import { bearerTokenProvider, TokenRequestError, WitsClient, WitsCredential } from '../../src/client/index.js';
import { childScript, cleanEnv, run, startFakeEndpoint, startWits, tokenResponse, verifyIndependently, type TestWits } from './support.js';

// Compile-time proof that the structural types match @azure/core-auth (this file does not compile otherwise).
const asCoreCredential: CoreTokenCredential = new WitsCredential({ endpoint: 'http://127.0.0.1:1', secret: 'x' });
const asCoreToken = async (c: WitsCredential): Promise<CoreAccessToken> => c.getToken('https://storage.azure.com/.default');
void asCoreCredential;
void asCoreToken;

let wits: TestWits;
let secret: string;
before(async () => {
  wits = await startWits();
  secret = (await wits.session()).secret;
});
after(() => wits.close());

const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()) as Record<string, unknown>;

describe('TokenCredential contract', () => {
  test('getToken(scope) returns { token, expiresOnTimestamp, refreshAfterTimestamp, tokenType } for a string or a one-element array', async () => {
    const credential = new WitsCredential({ endpoint: wits.url, secret });
    for (const scopes of ['https://storage.azure.com/.default', ['https://storage.azure.com/.default']]) {
      const token = await credential.getToken(scopes);
      assert.deepEqual(Object.keys(token).sort(), ['expiresOnTimestamp', 'refreshAfterTimestamp', 'token', 'tokenType']);
      assert.equal(token.tokenType, 'Bearer');
      assert.ok(token.expiresOnTimestamp > Date.now() + 50 * 60_000);
      assert.ok(token.refreshAfterTimestamp !== undefined && token.refreshAfterTimestamp < token.expiresOnTimestamp);
      await verifyIndependently(token.token, wits.url, 'https://storage.azure.com');
    }
  });

  test('more than one scope is refused, as by every managed-identity credential', async () => {
    const credential = new WitsCredential({ endpoint: wits.url, secret });
    await assert.rejects(credential.getToken(['https://storage.azure.com/.default', 'https://vault.azure.net/.default']), { code: 'ERR_INVALID_ARGUMENT' });
    await assert.rejects(credential.getToken([]), { code: 'ERR_INVALID_ARGUMENT' });
  });

  test('getBearerTokenProvider from @azure/identity works with it', async () => {
    const provider = getBearerTokenProvider(new WitsCredential({ endpoint: wits.url, secret }), 'https://cognitiveservices.azure.com/.default');
    await verifyIndependently(await provider(), wits.url, 'https://cognitiveservices.azure.com');
  });

  test('bearerTokenProvider (no @azure/identity needed) works with an explicit client', async () => {
    const provider = bearerTokenProvider('CognitiveServices', { client: new WitsClient({ endpoint: wits.url, secret }) });
    const first = await provider();
    assert.equal(await provider(), first, 'served from the cache');
    await verifyIndependently(first, wits.url, 'https://cognitiveservices.azure.com');
  });

  test('credentials share the client and cache they are given', async () => {
    const client = new WitsClient({ endpoint: wits.url, secret });
    const a = await new WitsCredential({ client }).getToken('https://vault.azure.net/.default');
    const b = await client.getToken('Vault');
    assert.equal(a.token, b);
    assert.throws(() => new WitsCredential({ client, endpoint: wits.url }), { code: 'ERR_INVALID_ARGUMENT' });
  });

  test('a claims challenge bypasses the cache; tenantId and enableCae are accepted', async () => {
    const fake = await startFakeEndpoint(() => ({ status: 200, body: tokenResponse() }));
    try {
      const credential = new WitsCredential({ env: { IDENTITY_ENDPOINT: `${fake.url}/msi/token`, IDENTITY_HEADER: 'x' } });
      const scope = 'https://storage.azure.com/.default';
      const first = await credential.getToken(scope, { tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47', enableCae: true });
      assert.equal((await credential.getToken(scope)).token, first.token);
      assert.equal(fake.requests.length, 1);
      const challenged = await credential.getToken(scope, { claims: '{"access_token":{"nbf":{"essential":true}}}' });
      assert.notEqual(challenged.token, first.token);
      assert.equal(fake.requests.length, 2);
    } finally {
      await fake.close();
    }
  });

  test('abortSignal and requestOptions.timeout are honoured', async () => {
    const fake = await startFakeEndpoint(() => ({ status: 200, body: tokenResponse(), delayMs: 500 }));
    try {
      const credential = new WitsCredential({ env: { IDENTITY_ENDPOINT: `${fake.url}/msi/token`, IDENTITY_HEADER: 'x' } });
      await assert.rejects(credential.getToken('https://storage.azure.com/.default', { abortSignal: AbortSignal.timeout(20) }), { name: 'AbortError' });
      await assert.rejects(credential.getToken('https://vault.azure.net/.default', { requestOptions: { timeout: 20 } }), { code: 'ERR_TIMEOUT' });
    } finally {
      await fake.close();
    }
  });
});

describe('identities and refusals from a real server', () => {
  test('clientId, objectId and resourceId select a user-assigned identity', async () => {
    const uami = await wits.server.app.admin.addIdentity('default', { name: `uami-${Date.now()}` });
    const base = { endpoint: wits.url, secret };
    const byClient = await new WitsCredential({ ...base, clientId: uami.clientId }).getToken('https://storage.azure.com/.default');
    assert.equal(claimsOf(byClient.token).appid, uami.clientId);
    const client = new WitsClient(base);
    assert.equal(claimsOf(await client.getToken('Storage', { objectId: uami.objectId })).oid, uami.objectId);
    assert.equal(claimsOf(await client.getToken('Storage', { resourceId: uami.resourceId })).xms_mirid, uami.resourceId);
    const system = claimsOf(await client.getToken('Storage'));
    assert.notEqual(system.appid, uami.clientId);
    assert.throws(() => new WitsCredential({ ...base, clientId: uami.clientId, objectId: uami.objectId }), { code: 'ERR_AMBIGUOUS_IDENTITY' });
  });

  test('an unknown identity is a 400 ERR_UNKNOWN_IDENTITY, not retried', async () => {
    await assert.rejects(new WitsClient({ endpoint: wits.url, secret }).getToken('Storage', { clientId: '11111111-2222-3333-4444-555555555555' }), (err: unknown) => {
      assert.ok(err instanceof TokenRequestError);
      assert.equal(err.code, 'ERR_UNKNOWN_IDENTITY');
      assert.equal(err.status, 400);
      return true;
    });
  });

  test('an audience outside the session is ERR_AUDIENCE_NOT_ALLOWED; a revoked session says what to do', async () => {
    const narrow = await wits.session({ audiences: ['Storage'] });
    const client = new WitsClient({ endpoint: wits.url, secret: narrow.secret });
    await client.getToken('Storage');
    await assert.rejects(client.getToken('Vault'), { name: 'TokenRequestError', code: 'ERR_AUDIENCE_NOT_ALLOWED', status: 403 });
    await wits.server.app.admin.revokeSession(narrow.id);
    await assert.rejects(client.getToken('Storage', { forceRefresh: true }), (err: unknown) => {
      assert.ok(err instanceof TokenRequestError);
      assert.equal(err.code, 'ERR_SESSION_REVOKED');
      assert.equal(err.status, 401);
      assert.match(err.message, /wits exec/);
      assert.doesNotMatch(err.message, new RegExp(narrow.secret));
      return true;
    });
  });

  test('a typo gets the did-you-mean of the server, over the native API too', async () => {
    await assert.rejects(new WitsClient({ endpoint: wits.url, secret }).getToken('CognitiveServcies'), (err: unknown) => {
      assert.ok(err instanceof TokenRequestError);
      assert.equal(err.code, 'ERR_UNKNOWN_AUDIENCE');
      assert.equal(err.suggestion, 'CognitiveServices');
      assert.match(err.message, /Did you mean 'CognitiveServices'\?/);
      assert.ok(err.choices?.includes('Storage'));
      return true;
    });
  });
});

describe('outside wits exec', () => {
  test('getToken names what is missing; WitsCredential is unavailable so a ChainedTokenCredential moves on', async () => {
    const result = await run(process.execPath, [childScript('outside')], { env: cleanEnv() });
    assert.equal(result.code, 0, result.stderr);
    const json = JSON.parse(result.stdout.trim().split('\n').pop() ?? '{}');
    assert.equal(json.getToken.name, 'EndpointNotFoundError');
    assert.equal(json.getToken.code, 'ERR_NO_WITS_ENDPOINT');
    assert.deepEqual(json.getToken.missing, ['IDENTITY_ENDPOINT', 'IDENTITY_HEADER', 'AZURE_POD_IDENTITY_AUTHORITY_HOST']);
    assert.match(json.getToken.message, /IDENTITY_ENDPOINT \+ IDENTITY_HEADER/);
    assert.match(json.getToken.message, /wits exec/);
    assert.equal(json.credential.name, 'CredentialUnavailableError');
    assert.equal(json.credential.code, 'ERR_NO_WITS_ENDPOINT');
    assert.equal(json.chained, 'from-the-next-credential');
  });

  test('a half-set environment names the missing variable', async () => {
    const result = await run(process.execPath, [childScript('outside')], { env: cleanEnv({ IDENTITY_ENDPOINT: 'http://127.0.0.1:9/msi/token' }) });
    const json = JSON.parse(result.stdout.trim().split('\n').pop() ?? '{}');
    assert.deepEqual(json.getToken.missing, ['IDENTITY_HEADER']);
    assert.match(json.getToken.message, /IDENTITY_HEADER is missing/);
  });
});
