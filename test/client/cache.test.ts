/**
 * The SDK's cache, refresh-ahead, retries and abort handling, against a scripted fake endpoint
 * (so that failures, timings and request counts are under the test's control).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AbortError,
  InvalidTokenResponseError,
  TokenRequestError,
  WitsClient,
  WitsConnectionError,
  type WitsClientOptions,
} from '../../src/client/index.js';
import { audienceKey } from '../../src/client/tokenCache.js';
import { parseRetryAfter } from '../../src/client/transport.js';
import { nowSeconds, startFakeEndpoint, tokenResponse, type FakeEndpoint } from './support.js';

const ok = (options: Parameters<typeof tokenResponse>[0] = {}) => ({ status: 200, body: tokenResponse(options) });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let fake: FakeEndpoint;
before(async () => {
  fake = await startFakeEndpoint(() => ok());
});
after(() => fake.close());

/** A client speaking App Service to the fake endpoint; fast retries unless overridden. */
function appServiceClient(options: WitsClientOptions = {}): WitsClient {
  return new WitsClient({ env: { IDENTITY_ENDPOINT: `${fake.url}/msi/token`, IDENTITY_HEADER: 'the-secret' }, retry: { retryDelayMs: 10 }, ...options });
}

function reset(script: FakeEndpoint['script']): void {
  fake.requests.length = 0;
  fake.script = script;
}

describe('single flight and caching', () => {
  test('50 concurrent calls for one audience make one request and get one token', async () => {
    reset(() => ({ ...ok(), delayMs: 50 }));
    const client = appServiceClient();
    const tokens = await Promise.all(Array.from({ length: 50 }, () => client.getToken('Storage')));
    assert.equal(fake.requests.length, 1);
    assert.equal(new Set(tokens).size, 1);
    // Served from the cache afterwards.
    await client.getToken('Storage');
    assert.equal(fake.requests.length, 1);
  });

  test('spellings of one resource share the cache: scope, trailing slash, host case, and an alias once resolved', async () => {
    reset(() => ok({ aud: 'https://storage.azure.com' }));
    const client = appServiceClient();
    const first = await client.getToken('https://storage.azure.com/.default');
    for (const spelling of ['https://storage.azure.com', 'https://Storage.Azure.com/', 'HTTPS://storage.azure.com//.default']) {
      assert.equal(await client.getToken(spelling), first, spelling);
    }
    assert.equal(fake.requests.length, 1);
    await client.getToken('Storage'); // unknown spelling: asks once ...
    await client.getToken('storage'); // ... then aliases are matched case-insensitively
    assert.equal(fake.requests.length, 2);
  });

  test('audienceKey only merges what the server treats as one resource', () => {
    assert.equal(audienceKey('https://Vault.Azure.NET/.default'), 'https://vault.azure.net');
    assert.equal(audienceKey('https://database.windows.net//.default'), 'https://database.windows.net');
    assert.equal(audienceKey('CognitiveServices'), 'cognitiveservices');
    assert.notEqual(audienceKey('api://MyApp'), audienceKey('api://myapp')); // app ID URIs keep their case
    assert.notEqual(audienceKey('https://host.example.com/Path'), audienceKey('https://host.example.com/path'));
    assert.notEqual(audienceKey('https://storage.azure.com///'), audienceKey('https://storage.azure.com'));
  });

  test('identities have separate cache entries and are sent with the App Service parameter names', async () => {
    reset((req) => ok({ aud: `https://storage.azure.com`, resource: req.url.searchParams.get('client_id') ?? 'system' }));
    const client = appServiceClient();
    const system = await client.getAccessToken('Storage');
    const user = await client.getAccessToken('Storage', { clientId: '00000000-0000-0000-0000-0000000000aa' });
    await client.getToken('Storage', { objectId: '00000000-0000-0000-0000-0000000000bb' });
    await client.getToken('Storage', { resourceId: '/subscriptions/s/resourceGroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/u' });
    assert.notEqual(system.token, user.token);
    assert.equal(fake.requests.length, 4);
    const [r0, r1, r2, r3] = fake.requests.map((r) => r.url);
    assert.equal(r0?.pathname, '/msi/token');
    assert.equal(r0?.searchParams.get('api-version'), '2019-08-01');
    assert.equal(r0?.searchParams.get('resource'), 'Storage');
    assert.equal(fake.requests[0]?.headers['x-identity-header'], 'the-secret');
    assert.equal(r1?.searchParams.get('client_id'), '00000000-0000-0000-0000-0000000000aa');
    assert.equal(r2?.searchParams.get('object_id'), '00000000-0000-0000-0000-0000000000bb');
    assert.match(r3?.searchParams.get('mi_res_id') ?? '', /userAssignedIdentities\/u$/);
  });

  test('IMDS: the token path, Metadata: true, msi_res_id, and no secret', async () => {
    reset(() => ok());
    const client = new WitsClient({ env: { AZURE_POD_IDENTITY_AUTHORITY_HOST: `${fake.url}/` } });
    await client.getToken('Vault', { resourceId: '/subscriptions/s/rg/x' });
    const req = fake.requests[0];
    assert.equal(req?.url.pathname, '/metadata/identity/oauth2/token');
    assert.equal(req?.url.searchParams.get('api-version'), '2018-02-01');
    assert.equal(req?.url.searchParams.get('msi_res_id'), '/subscriptions/s/rg/x');
    assert.equal(req?.headers.metadata, 'true');
    assert.equal(req?.headers['x-identity-header'], undefined);
  });

  test('native API: POST /v1/token with a Bearer secret and a JSON body; refresh_in and the canonical resource are used', async () => {
    reset(() => ok({ resource: 'https://cognitiveservices.azure.com', aud: 'https://cognitiveservices.azure.com', refreshIn: 120 }));
    const client = new WitsClient({ endpoint: `${fake.url}/`, secret: 's3cret' });
    const before = Date.now();
    const token = await client.getAccessToken('CognitiveServices', { clientId: 'c1' });
    const req = fake.requests[0];
    assert.equal(req?.method, 'POST');
    assert.equal(req?.url.pathname, '/v1/token');
    assert.equal(req?.headers.authorization, 'Bearer s3cret');
    assert.deepEqual(JSON.parse(req?.body ?? ''), { audience: 'CognitiveServices', clientId: 'c1' });
    assert.equal(token.resource, 'https://cognitiveservices.azure.com');
    assert.ok(Math.abs(token.refreshAfterTimestamp - (before + 120_000)) < 2_000, 'refresh_in is honoured');
  });

  test('App Service: refreshAfter is half the lifetime, at least 5 minutes before expiry; resource is the aud', async () => {
    reset(() => ok({ lifetimeSeconds: 3600, resource: 'Storage', aud: 'https://storage.azure.com' }));
    const token = await appServiceClient().getAccessToken('Storage');
    const lifetime = token.expiresOnTimestamp - Date.now();
    assert.ok(Math.abs(token.refreshAfterTimestamp - (token.expiresOnTimestamp - 1800_000)) < 2_000);
    assert.ok(lifetime > 3500_000);
    assert.equal(token.resource, 'https://storage.azure.com');
    assert.equal(token.tokenType, 'Bearer');

    // 400 s: half the lifetime (200 s) is later than 5 minutes before expiry (100 s), so 100 s.
    reset(() => ok({ lifetimeSeconds: 400 }));
    const short = await appServiceClient().getAccessToken('Storage');
    assert.ok(Math.abs(short.refreshAfterTimestamp - (short.expiresOnTimestamp - 300_000)) < 2_000);
    // 200 s: already within 5 minutes of expiry, so due at once (never in the past).
    reset(() => ok({ lifetimeSeconds: 200 }));
    const shorter = await appServiceClient().getAccessToken('Storage');
    assert.ok(Math.abs(shorter.refreshAfterTimestamp - Date.now()) < 2_000);
  });
});

describe('refresh ahead and expiry', () => {
  test('in the refresh window the old token is served at once while one background request replaces it', async () => {
    let n = 0;
    // Token 1 is due for refresh one second after it is fetched; token 2 much later.
    reset(() => (n++ === 0 ? ok({ lifetimeSeconds: 3600, issuedAgoSeconds: 1799 }) : { ...ok(), delayMs: 600 }));
    const client = appServiceClient();
    const first = await client.getToken('Storage');
    await sleep(1_200);
    const started = Date.now();
    const during = await Promise.all(Array.from({ length: 10 }, () => client.getToken('Storage')));
    assert.ok(Date.now() - started < 400, 'callers did not wait for the (600 ms) refresh');
    assert.deepEqual(new Set(during), new Set([first]), 'the old token is served during the refresh');
    await sleep(900);
    assert.equal(fake.requests.length, 2, 'exactly one background request');
    const after = await client.getToken('Storage');
    assert.notEqual(after, first, 'the refreshed token is served afterwards');
    assert.equal(fake.requests.length, 2);
  });

  test('a failing background refresh keeps serving the still-valid token and records the error', async () => {
    let n = 0;
    reset(() => (n++ === 0 ? ok({ lifetimeSeconds: 3600, issuedAgoSeconds: 1799 }) : { status: 500, body: { error: 'server_error', code: 'ERR_INTERNAL', message: 'boom' } }));
    const client = appServiceClient({ retry: { maxRetries: 1, retryDelayMs: 10 } });
    const first = await client.getToken('Storage');
    await sleep(1_200);
    assert.equal(await client.getToken('Storage'), first);
    await sleep(200);
    assert.equal(fake.requests.length, 3, 'one background refresh, retried once');
    assert.equal(await client.getToken('Storage'), first, 'still served, and no new attempt right away');
    assert.equal(fake.requests.length, 3);
    assert.ok(client.lastRefreshError instanceof TokenRequestError);
  });

  test('a cached token with less than a minute left is never served: the caller waits for a fresh one', async () => {
    let n = 0;
    reset(() => (n++ === 0 ? { status: 200, body: { ...tokenResponse(), expires_on: String(nowSeconds() + 61), expires_in: '61' } } : ok()));
    const client = appServiceClient();
    const first = await client.getAccessToken('Storage');
    assert.ok(first.expiresOnTimestamp - Date.now() > 59_000);
    await sleep(1_500);
    const second = await client.getAccessToken('Storage');
    assert.notEqual(second.token, first.token);
    assert.ok(second.expiresOnTimestamp - Date.now() > 3000_000);
    assert.equal(fake.requests.length, 2);
  });

  test('an expired token from the endpoint is refused with ERR_EXPIRED_TOKEN', async () => {
    reset(() => ({ status: 200, body: { ...tokenResponse(), expires_on: String(nowSeconds() - 10), expires_in: '0' } }));
    await assert.rejects(appServiceClient().getToken('Storage'), (err: unknown) => {
      assert.ok(err instanceof InvalidTokenResponseError);
      assert.equal(err.code, 'ERR_EXPIRED_TOKEN');
      assert.match(err.message, /clock/);
      return true;
    });
  });

  test('a 200 that is not a token response is refused with ERR_INVALID_RESPONSE', async () => {
    reset(() => ({ status: 200, body: '<html>proxy login</html>' }));
    await assert.rejects(appServiceClient().getToken('Storage'), { name: 'InvalidTokenResponseError', code: 'ERR_INVALID_RESPONSE' });
    reset(() => ({ status: 200, body: { token_type: 'Bearer' } }));
    await assert.rejects(appServiceClient().getToken('Storage'), { code: 'ERR_INVALID_RESPONSE' });
  });

  test('forceRefresh bypasses the cache', async () => {
    reset(() => ok());
    const client = appServiceClient();
    const a = await client.getToken('Storage');
    const b = await client.getToken('Storage', { forceRefresh: true });
    assert.notEqual(a, b);
    assert.equal(fake.requests.length, 2);
    client.clearCache();
    await client.getToken('Storage');
    assert.equal(fake.requests.length, 3);
  });
});

describe('retries', () => {
  test('503 with Retry-After: waits at least that long, then succeeds', async () => {
    let n = 0;
    reset(() => (n++ === 0 ? { status: 503, headers: { 'retry-after': '1' }, body: { error: 'temporarily_unavailable', code: 'ERR_SOURCE_UNAVAILABLE', message: 'later' } } : ok()));
    const started = Date.now();
    await appServiceClient().getToken('Storage');
    assert.ok(Date.now() - started >= 950, `waited ${Date.now() - started} ms`);
    assert.equal(fake.requests.length, 2);
  });

  test('429 with an HTTP-date Retry-After is honoured too', async () => {
    let n = 0;
    reset(() => (n++ === 0 ? { status: 429, headers: { 'retry-after': new Date(Date.now() + 1500).toUTCString() } } : ok()));
    const started = Date.now();
    await appServiceClient().getToken('Storage');
    assert.ok(Date.now() - started >= 400, `waited ${Date.now() - started} ms`);
    assert.equal(fake.requests.length, 2);
  });

  test('5xx without Retry-After: exponential back-off, then success', async () => {
    let n = 0;
    reset(() => (n++ < 2 ? { status: 502, body: '' } : ok()));
    const started = Date.now();
    await appServiceClient({ retry: { retryDelayMs: 100 } }).getToken('Storage');
    const waited = Date.now() - started;
    assert.equal(fake.requests.length, 3);
    assert.ok(waited >= 0.8 * (100 + 200) - 20, `waited ${waited} ms`); // 100 ms then 200 ms, +-20% jitter
  });

  test('gives up after maxRetries with the last error and its code', async () => {
    reset(() => ({ status: 503, headers: { 'retry-after': '0' }, body: { error: 'temporarily_unavailable', code: 'ERR_SOURCE_UNAVAILABLE', message: 'The token source is failing.' } }));
    await assert.rejects(appServiceClient({ retry: { maxRetries: 2, retryDelayMs: 5 } }).getToken('Storage'), (err: unknown) => {
      assert.ok(err instanceof TokenRequestError);
      assert.equal(err.code, 'ERR_SOURCE_UNAVAILABLE');
      assert.equal(err.status, 503);
      assert.match(err.message, /gave up after 3 attempts/);
      return true;
    });
    assert.equal(fake.requests.length, 3);
  });

  test('a Retry-After longer than maxRetryDelayMs ends the retries at once (never waits less than told)', async () => {
    reset(() => ({ status: 429, headers: { 'retry-after': '120' }, body: { error: 'throttled', message: 'slow down' } }));
    await assert.rejects(appServiceClient().getToken('Storage'), (err: unknown) => {
      assert.ok(err instanceof TokenRequestError);
      assert.equal(err.code, 'ERR_HTTP_429');
      assert.equal(err.retryAfterMs, 120_000);
      return true;
    });
    assert.equal(fake.requests.length, 1);
  });

  test('400 is final: no retry, and the server code, message and suggestion reach the caller', async () => {
    reset(() => ({
      status: 400,
      body: { error: 'invalid_resource', error_description: "Unknown audience 'Vualt'. Did you mean 'Vault'?", code: 'ERR_UNKNOWN_AUDIENCE', message: "Unknown audience 'Vualt'. Did you mean 'Vault'?", suggestion: 'Vault', choices: ['Storage', 'Vault'] },
    }));
    await assert.rejects(appServiceClient().getToken('Vualt'), (err: unknown) => {
      assert.ok(err instanceof TokenRequestError);
      assert.equal(err.code, 'ERR_UNKNOWN_AUDIENCE');
      assert.equal(err.status, 400);
      assert.equal(err.oauthError, 'invalid_resource');
      assert.equal(err.suggestion, 'Vault');
      assert.deepEqual(err.choices, ['Storage', 'Vault']);
      assert.match(err.message, /Did you mean 'Vault'\?/);
      return true;
    });
    assert.equal(fake.requests.length, 1);
  });

  test('a suggestion missing from the message is appended to it', async () => {
    reset(() => ({ status: 400, body: { error: 'invalid_resource', code: 'ERR_UNKNOWN_AUDIENCE', message: 'Unknown audience.', suggestion: 'Storage' } }));
    await assert.rejects(appServiceClient().getToken('Stroage'), /Unknown audience\. Did you mean 'Storage'\?/);
  });

  test('a connection reset is retried', async () => {
    let n = 0;
    reset(() => (n++ === 0 ? 'reset' : ok()));
    await appServiceClient().getToken('Storage');
    assert.equal(fake.requests.length, 2);
  });

  test('an unreachable endpoint fails with ERR_NETWORK after the retries', async () => {
    const closed = await startFakeEndpoint(() => ok());
    const url = closed.url;
    await closed.close();
    const client = new WitsClient({ env: { IDENTITY_ENDPOINT: `${url}/msi/token`, IDENTITY_HEADER: 'x' }, retry: { maxRetries: 2, retryDelayMs: 5 } });
    await assert.rejects(client.getToken('Storage'), (err: unknown) => {
      assert.ok(err instanceof WitsConnectionError);
      assert.equal(err.code, 'ERR_NETWORK');
      assert.match(err.message, /ECONNREFUSED/);
      assert.match(err.message, /gave up after 3 attempts/);
      assert.doesNotMatch(err.message, /x-identity|secret/i);
      return true;
    });
  });

  test('an attempt that hangs times out (ERR_TIMEOUT) and is retried', async () => {
    reset(() => 'hang');
    const client = appServiceClient({ timeoutMs: 150, retry: { maxRetries: 1, retryDelayMs: 5 } });
    await assert.rejects(client.getToken('Storage'), { name: 'WitsConnectionError', code: 'ERR_TIMEOUT' });
    assert.equal(fake.requests.length, 2);
  });

  test('Retry-After parsing: seconds, HTTP date, garbage', () => {
    assert.equal(parseRetryAfter('3'), 3000);
    assert.equal(parseRetryAfter(' 0 '), 0);
    assert.equal(parseRetryAfter(new Date(Date.now() + 10_000).toUTCString(), Date.now()) !== undefined, true);
    assert.equal(parseRetryAfter('soon'), undefined);
    assert.equal(parseRetryAfter(null), undefined);
  });
});

describe('abort and timeouts of one caller', () => {
  test("an abort stops only that caller's wait; the shared request completes for the others", async () => {
    reset(() => ({ ...ok(), delayMs: 300 }));
    const client = appServiceClient();
    const controller = new AbortController();
    const aborted = client.getToken('Storage', { abortSignal: controller.signal });
    const patient = client.getToken('Storage');
    setTimeout(() => controller.abort(), 30);
    await assert.rejects(aborted, (err: unknown) => err instanceof AbortError && err.name === 'AbortError' && err.code === 'ERR_ABORTED');
    assert.match(await patient, /^ey/);
    assert.equal(fake.requests.length, 1);
  });

  test('an already-aborted signal rejects at once, without a request', async () => {
    reset(() => ok());
    await assert.rejects(appServiceClient().getToken('Storage', { abortSignal: AbortSignal.abort() }), { name: 'AbortError' });
    assert.equal(fake.requests.length, 0);
  });

  test('timeoutMs of one call rejects with ERR_TIMEOUT', async () => {
    reset(() => ({ ...ok(), delayMs: 400 }));
    await assert.rejects(appServiceClient().getToken('Storage', { timeoutMs: 50 }), { name: 'WitsConnectionError', code: 'ERR_TIMEOUT' });
  });
});

describe('input checks before any request', () => {
  test('missing audience, array audience, two identities, empty identity', async () => {
    reset(() => ok());
    const client = appServiceClient();
    await assert.rejects(client.getToken(''), { code: 'ERR_MISSING_AUDIENCE' });
    await assert.rejects(client.getToken('   '), { code: 'ERR_MISSING_AUDIENCE' });
    await assert.rejects(client.getToken(undefined as unknown as string), { code: 'ERR_MISSING_AUDIENCE' });
    await assert.rejects(client.getToken(['a', 'b'] as unknown as string), { code: 'ERR_INVALID_ARGUMENT' });
    await assert.rejects(client.getToken('Storage', { clientId: 'a', objectId: 'b' }), { code: 'ERR_AMBIGUOUS_IDENTITY' });
    await assert.rejects(client.getToken('Storage', { clientId: '' }), { code: 'ERR_INVALID_ARGUMENT' });
    assert.equal(fake.requests.length, 0);
  });

  test('an endpoint without a secret (or the reverse) is refused at construction', () => {
    assert.throws(() => new WitsClient({ endpoint: 'http://127.0.0.1:1' }), { code: 'ERR_INVALID_ENDPOINT' });
    assert.throws(() => new WitsClient({ secret: 'x' }), { code: 'ERR_INVALID_ENDPOINT' });
    assert.throws(() => new WitsClient({ endpoint: 'ftp://host', secret: 'x' }), { code: 'ERR_INVALID_ENDPOINT' });
    assert.throws(() => new WitsClient({ retry: { maxRetries: -1 } }), RangeError);
  });
});
