/**
 * Official SDK clients authenticate with `WitsCredential` against strict local stand-ins:
 * - `openai`'s `AzureOpenAI` with `getBearerTokenProvider(new WitsCredential(), scope)` completes a
 *   chat call (in-process with an explicit endpoint, and in a child under `wits exec`);
 * - `@azure/keyvault-secrets`' `SecretClient` completes Key Vault's challenge-based authentication.
 * Each stand-in is first shown to refuse what the real service refuses.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { getBearerTokenProvider } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import { generateKeyPair, SignJWT } from 'jose';
import { AzureOpenAI } from 'openai';
import { bearerTokenProvider, WitsClient, WitsCredential } from '../../src/client/index.js';
import { startAzureOpenAIStandIn, startKeyVaultStandIn, type StandIn } from './standIns.js';
import { execChild, startWits, type TestWits } from './support.js';

const DEPLOYMENT = 'gpt-4o-mini';
const SCOPE = 'https://cognitiveservices.azure.com/.default';

let wits: TestWits;
let aoai: StandIn;
before(async () => {
  wits = await startWits();
  aoai = await startAzureOpenAIStandIn(wits.url, DEPLOYMENT);
});
after(async () => {
  await aoai.close();
  await wits.close();
});

async function mint(audience: string, now = Date.now()): Promise<string> {
  const id = (await wits.server.app.admin.getWorkspace('default')).identities[0];
  assert.ok(id);
  return (await wits.server.app.issuer.mint({ audience, tenantId: id.tenantId, objectId: id.objectId, clientId: id.clientId, resourceId: id.resourceId }, 3600, now)).token;
}

function chatRequest(token: string | undefined): Promise<Response> {
  return fetch(`${aoai.url}/openai/deployments/${DEPLOYMENT}/chat/completions?api-version=2024-10-21`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }),
  });
}

describe('Azure OpenAI (openai SDK AzureOpenAI + azureADTokenProvider)', () => {
  test('the stand-in is strict: no token, wrong audience, expired, not yet valid and foreign-signed tokens are refused', async () => {
    const good = await mint('https://cognitiveservices.azure.com');
    assert.equal((await chatRequest(good)).status, 200, 'control: a valid token is accepted');
    const { privateKey } = await generateKeyPair('RS256');
    const kid = (JSON.parse(Buffer.from(good.split('.')[0] as string, 'base64url').toString()) as { kid: string }).kid;
    const claims = JSON.parse(Buffer.from(good.split('.')[1] as string, 'base64url').toString()) as Record<string, unknown>;
    const forged = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid }).sign(privateKey);
    const cases: Array<[string, string | undefined]> = [
      ['no token', undefined],
      ['wrong audience', await mint('https://storage.azure.com')],
      ['expired', await mint('https://cognitiveservices.azure.com', Date.now() - 2 * 3600_000)],
      ['not yet valid', await mint('https://cognitiveservices.azure.com', Date.now() + 600_000)],
      ['foreign key', forged],
    ];
    for (const [name, token] of cases) assert.equal((await chatRequest(token)).status, 401, name);
    assert.equal(aoai.refused.length, cases.length);
  });

  test('AzureOpenAI with getBearerTokenProvider(new WitsCredential(), scope) completes a chat call', async () => {
    const session = await wits.session();
    const client = new AzureOpenAI({
      endpoint: aoai.url,
      apiVersion: '2024-10-21',
      deployment: DEPLOYMENT,
      azureADTokenProvider: getBearerTokenProvider(new WitsCredential({ endpoint: wits.url, secret: session.secret }), SCOPE),
      maxRetries: 0,
    });
    const accepted = aoai.accepted.length;
    for (let i = 0; i < 3; i++) {
      const completion = await client.chat.completions.create({ model: DEPLOYMENT, messages: [{ role: 'user', content: 'Say hello' }] });
      assert.match(completion.choices[0]?.message.content ?? '', /^Hello from gpt-4o-mini/);
    }
    assert.equal(aoai.accepted.length - accepted, 3);
    assert.equal(aoai.accepted.at(-1)?.claims.aud, 'https://cognitiveservices.azure.com');
    // Three calls, one token request: the credential's cache (and the provider's) served the rest.
    const rows = await wits.auditOf(session.id);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]?.audience, 'https://cognitiveservices.azure.com');
  });

  test("AzureOpenAI with wits' own bearerTokenProvider (no @azure/identity) completes a chat call", async () => {
    const session = await wits.session();
    const client = new AzureOpenAI({
      endpoint: aoai.url,
      apiVersion: '2024-10-21',
      azureADTokenProvider: bearerTokenProvider('CognitiveServices', { client: new WitsClient({ endpoint: wits.url, secret: session.secret }) }),
      maxRetries: 0,
    });
    const completion = await client.chat.completions.create({ model: DEPLOYMENT, messages: [{ role: 'user', content: 'Say hello' }] });
    assert.equal(completion.object, 'chat.completion');
  });

  test('under wits exec, with the endpoint discovered from the environment', async () => {
    const accepted = aoai.accepted.length;
    const { json } = await execChild('openaiChat', { execArgs: ['--server', wits.url], home: wits.home, env: { STANDIN_URL: aoai.url } });
    assert.equal(json.replies.length, 2);
    for (const reply of json.replies) assert.match(reply, /^Hello from gpt-4o-mini/);
    assert.equal(aoai.accepted.length - accepted, 2);
  });
});

describe('Key Vault (SecretClient, challenge-based authentication)', () => {
  let vault: StandIn;
  before(async () => {
    vault = await startKeyVaultStandIn(wits.url, await wits.tenantId(), { 'db-password': 'correct horse battery staple' });
  });
  after(() => vault.close());

  // The stand-in is local plain http: the SDK needs `allowInsecureConnection`, and
  // `disableChallengeResourceVerification` because 127.0.0.1 is not a *.vault.azure.net host.
  const options = { allowInsecureConnection: true, disableChallengeResourceVerification: true, retryOptions: { maxRetries: 0 } };

  test('the stand-in is strict: no token gets the challenge; a wrong-audience token is refused', async () => {
    const unauthenticated = await fetch(`${vault.url}/secrets/db-password?api-version=7.5`);
    assert.equal(unauthenticated.status, 401);
    assert.match(unauthenticated.headers.get('www-authenticate') ?? '', /^Bearer authorization="https:\/\/login\.microsoftonline\.com\/[0-9a-f-]{36}", resource="https:\/\/vault\.azure\.net"$/);
    const wrong = await fetch(`${vault.url}/secrets/db-password?api-version=7.5`, { headers: { authorization: `Bearer ${await mint('https://storage.azure.com')}` } });
    assert.equal(wrong.status, 401);
    const right = await fetch(`${vault.url}/secrets/db-password?api-version=7.5`, { headers: { authorization: `Bearer ${await mint('https://vault.azure.net')}` } });
    assert.equal(right.status, 200);
  });

  test('SecretClient with new WitsCredential() reads a secret', async () => {
    const session = await wits.session();
    const client = new SecretClient(vault.url, new WitsCredential({ endpoint: wits.url, secret: session.secret }), options);
    const refusedBefore = vault.refused.length;
    const secret = await client.getSecret('db-password');
    assert.equal(secret.value, 'correct horse battery staple');
    assert.equal(secret.name, 'db-password');
    assert.equal(vault.refused.length - refusedBefore, 1, 'the first, unauthenticated request got the challenge');
    assert.equal(vault.accepted.at(-1)?.claims.aud, 'https://vault.azure.net');
    // A second read reuses the token.
    await client.getSecret('db-password');
    const rows = await wits.auditOf(session.id);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]?.audience, 'https://vault.azure.net');
  });

  test('a missing secret is the service 404, not an authentication error', async () => {
    const session = await wits.session();
    const client = new SecretClient(vault.url, new WitsCredential({ endpoint: wits.url, secret: session.secret }), options);
    await assert.rejects(client.getSecret('nope'), (err: unknown) => (err as { statusCode?: number }).statusCode === 404);
  });
});
