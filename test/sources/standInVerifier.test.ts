/**
 * Unit tests of the stand-ins' own strictness, so that the acceptance tests' green means something:
 * the federated-assertion verifier applies Entra's rules (signature through the issuer's discovery
 * and JWKS, iss / sub / aud / exp / lifetime), the certificate-assertion verifier checks x5t#S256,
 * the signature, iss = sub = client id and aud = token endpoint, and the HTTPS Entra stand-in
 * refuses malformed token requests.
 */
import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import { removeDir, tempDir } from './harness.js';
import { makeTestPki, type TestPki } from './pki.js';
import {
  CredentialRejected,
  EntraStandIn,
  FEDERATED_AUDIENCE,
  JWT_BEARER,
  ManagedIdentityHost,
  verifyCertificateAssertion,
  verifyFederatedAssertion,
  type FederatedCredential,
} from './standIns.js';

function rejectedWith(code: number): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof CredentialRejected, `expected a CredentialRejected, got ${String(err)}`);
    assert.equal(err.aadsts, code, err.message);
    return true;
  };
}

describe('federated assertion verifier (Entra rules)', () => {
  let server: Server;
  let issuer: string;
  let key: CryptoKey;
  let strangerKey: CryptoKey;
  let credential: FederatedCredential;

  before(async () => {
    const pair = await generateKeyPair('RS256', { extractable: true });
    key = pair.privateKey;
    strangerKey = (await generateKeyPair('RS256')).privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    server = createServer((req, res) => {
      const send = (body: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (req.url === '/.well-known/openid-configuration') return send({ issuer, jwks_uri: `${issuer}/.well-known/jwks.json` });
      if (req.url === '/.well-known/jwks.json') return send({ keys: [jwk] });
      // An issuer whose discovery document names another issuer.
      if (req.url === '/liar/.well-known/openid-configuration') return send({ issuer, jwks_uri: `${issuer}/.well-known/jwks.json` });
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    credential = { issuer, subject: 'wits:workspace:w:identity:system', audience: FEDERATED_AUDIENCE };
  });

  after(async () => {
    await new Promise<void>((resolve) => server?.close(() => resolve()));
  });

  async function assertion(claims: JWTPayload = {}, options: { signWith?: CryptoKey; lifetime?: number; noExp?: boolean } = {}): Promise<string> {
    const iat = Math.floor(Date.now() / 1000);
    const jwt = new SignJWT({ iss: issuer, sub: credential.subject, aud: FEDERATED_AUDIENCE, iat, nbf: iat, jti: randomUUID(), ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1', typ: 'JWT' });
    if (!options.noExp) jwt.setExpirationTime(typeof claims.exp === 'number' ? claims.exp : iat + (options.lifetime ?? 300));
    return jwt.sign(options.signWith ?? key);
  }

  test('accepts an assertion signed with a key of the issuer JWKS, with the expected iss, sub and aud', async () => {
    const payload = await verifyFederatedAssertion(await assertion(), credential);
    assert.equal(payload.sub, credential.subject);
  });

  test('rejects a wrong audience', async () => {
    await assert.rejects(verifyFederatedAssertion(await assertion({ aud: 'api://AzureADTokenExchangeOther' }), credential), rejectedWith(700212));
    await assert.rejects(verifyFederatedAssertion(await assertion({ aud: 'https://management.azure.com' }), credential), rejectedWith(700212));
  });

  test('rejects a wrong subject', async () => {
    await assert.rejects(verifyFederatedAssertion(await assertion({ sub: 'wits:workspace:other:identity:system' }), credential), rejectedWith(700213));
  });

  test('rejects an issuer the credential does not name', async () => {
    await assert.rejects(verifyFederatedAssertion(await assertion(), { ...credential, issuer: 'https://issuer.example.test' }), rejectedWith(700211));
  });

  test("rejects an issuer whose discovery document names another issuer, or that serves none", async () => {
    await assert.rejects(verifyFederatedAssertion(await assertion({ iss: `${issuer}/liar` }), { ...credential, issuer: `${issuer}/liar` }), rejectedWith(544120));
    await assert.rejects(verifyFederatedAssertion(await assertion({ iss: `${issuer}/none` }), { ...credential, issuer: `${issuer}/none` }), rejectedWith(544120));
  });

  test('rejects a signature by a key the issuer does not publish', async () => {
    await assert.rejects(verifyFederatedAssertion(await assertion({}, { signWith: strangerKey }), credential), rejectedWith(5002738));
  });

  test('rejects an expired assertion, one without exp, and one living longer than an hour', async () => {
    const old = Math.floor(Date.now() / 1000) - 7200;
    await assert.rejects(verifyFederatedAssertion(await assertion({ iat: old, nbf: old, exp: old + 300 }), credential), rejectedWith(700024));
    await assert.rejects(verifyFederatedAssertion(await assertion({}, { noExp: true }), credential), rejectedWith(700024));
    await assert.rejects(verifyFederatedAssertion(await assertion({}, { lifetime: 2 * 3600 }), credential), rejectedWith(700024));
  });

  test('rejects what is not a JWT', async () => {
    await assert.rejects(verifyFederatedAssertion('not-a-jwt', credential), rejectedWith(50027));
  });
});

describe('certificate assertion verifier and the HTTPS Entra stand-in', () => {
  let dir: string;
  let pki: TestPki;
  let clientKey: KeyObject;
  let entra: EntraStandIn;
  const clientId = randomUUID();
  const secretClientId = randomUUID();

  before(async () => {
    dir = tempDir('verifier');
    pki = makeTestPki(dir);
    clientKey = createPrivateKey(pki.clientKeyPem);
    entra = await EntraStandIn.start({ key: pki.serverKeyPem, cert: pki.serverCertPem });
    entra.apps.set(clientId, { kind: 'certificate', certificatePem: pki.clientCertPem });
    entra.apps.set(secretClientId, { kind: 'secret', secret: 'the-right-secret-value' });
  });

  after(async () => {
    await entra?.close();
    if (dir !== undefined) removeDir(dir);
  });

  function certAssertion(claims: JWTPayload = {}, header: Record<string, unknown> = {}, signWith: KeyObject = clientKey): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iss: clientId, sub: clientId, aud: entra.tokenEndpoint, jti: randomUUID(), nbf: now, exp: now + 600, ...claims })
      .setProtectedHeader({ alg: 'PS256', 'x5t#S256': pki.clientX5tS256, ...header })
      .sign(signWith);
  }

  test('accepts a PS256 assertion with the x5t#S256 of the registered certificate and aud = token endpoint', async () => {
    const payload = await verifyCertificateAssertion(await certAssertion(), { certificatePem: pki.clientCertPem }, clientId, entra.tokenEndpoint);
    assert.equal(payload.iss, clientId);
  });

  test('rejects aud other than the token endpoint, a wrong thumbprint, another key, iss other than the client', async () => {
    const cred = { certificatePem: pki.clientCertPem };
    await assert.rejects(verifyCertificateAssertion(await certAssertion({ aud: `${entra.url}/${entra.tenantId}/v2.0` }), cred, clientId, entra.tokenEndpoint), rejectedWith(700016));
    await assert.rejects(verifyCertificateAssertion(await certAssertion({}, { 'x5t#S256': 'AAAA' }), cred, clientId, entra.tokenEndpoint), rejectedWith(700027));
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    await assert.rejects(verifyCertificateAssertion(await certAssertion({}, {}, stranger), cred, clientId, entra.tokenEndpoint), rejectedWith(700027));
    await assert.rejects(verifyCertificateAssertion(await certAssertion({ iss: randomUUID() }), cred, clientId, entra.tokenEndpoint), rejectedWith(700023));
  });

  /** A request to the HTTPS stand-in, trusting the test CA. */
  function call(method: string, path: string, form?: Record<string, string>): Promise<{ status: number; body: any }> {
    const body = form === undefined ? undefined : new URLSearchParams(form).toString();
    return new Promise((resolve, reject) => {
      const req = httpsRequest(`${entra.url}${path}`, { method, ca: readFileSync(pki.caFile, 'utf8'), headers: body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' } }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d)).on('end', () => resolve({ status: res.statusCode ?? 0, body: text === '' ? undefined : JSON.parse(text) }));
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  test('the stand-in serves MSAL-complete metadata over TLS for the test CA, and refuses malformed token requests', async () => {
    const meta = await call('GET', `/${entra.tenantId}/v2.0/.well-known/openid-configuration`);
    assert.equal(meta.status, 200);
    for (const field of ['issuer', 'authorization_endpoint', 'token_endpoint', 'jwks_uri', 'end_session_endpoint']) assert.equal(typeof meta.body[field], 'string', field);
    assert.equal(meta.body.token_endpoint, entra.tokenEndpoint);
    assert.equal((await call('GET', `/${randomUUID()}/v2.0/.well-known/openid-configuration`)).status, 400, 'unknown tenant');
    const path = `/${entra.tenantId}/oauth2/v2.0/token`;
    assert.equal((await call('GET', path)).status, 405);
    const good = { grant_type: 'client_credentials', client_id: secretClientId, scope: 'https://cognitiveservices.azure.com/.default', client_secret: 'the-right-secret-value' };
    const ok = await call('POST', path, good);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    await entra.signer.verify(ok.body.access_token as string, 'https://cognitiveservices.azure.com');
    assert.equal((await call('POST', path, { ...good, grant_type: 'password' })).status, 400);
    assert.equal((await call('POST', path, { ...good, scope: 'https://cognitiveservices.azure.com' })).status, 400, 'scope must be <resource>/.default');
    const wrong = await call('POST', path, { ...good, client_secret: 'the-wrong-secret-value' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error, 'invalid_client');
    assert.doesNotMatch(JSON.stringify(wrong.body), /the-wrong-secret-value/, 'the stand-in does not echo secrets');
    const noType = await call('POST', path, { grant_type: 'client_credentials', client_id: clientId, scope: good.scope, client_assertion: await certAssertion() });
    assert.equal(noType.status, 401, 'client_assertion_type is required');
    const certOk = await call('POST', path, { grant_type: 'client_credentials', client_id: clientId, scope: good.scope, client_assertion_type: JWT_BEARER, client_assertion: await certAssertion() });
    assert.equal(certOk.status, 200, JSON.stringify(certOk.body));
  });
});

describe('managed-identity host stand-in', () => {
  test('checks X-IDENTITY-HEADER, api-version and Metadata: true, and records every call', async () => {
    const host = await ManagedIdentityHost.start();
    try {
      const get = (path: string, headers: Record<string, string>) => fetch(host.url + path, { headers }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
      const q = '?api-version=2019-08-01&resource=https://cognitiveservices.azure.com';
      assert.equal((await get(`/msi/token${q}`, {})).status, 401);
      assert.equal((await get(`/msi/token${q}`, { 'X-IDENTITY-HEADER': 'wrong' })).status, 401);
      const ok = await get(`/msi/token${q}`, { 'X-IDENTITY-HEADER': host.identityHeader });
      assert.equal(ok.status, 200);
      assert.match(ok.body.expires_on, /^\d+$/);
      await host.signer.verify(ok.body.access_token as string, 'https://cognitiveservices.azure.com');
      const imds = '/metadata/identity/oauth2/token/?api-version=2018-02-01&resource=https://vault.azure.net';
      assert.equal((await get(imds, {})).status, 400, 'IMDS needs Metadata: true');
      assert.equal((await get(imds, { Metadata: 'true', 'X-Forwarded-For': '10.0.0.1' })).status, 400);
      assert.equal((await get(imds, { Metadata: 'true' })).status, 200);
      assert.equal((await get(`${imds}&client_id=${randomUUID()}`, { Metadata: 'true' })).status, 400, 'unknown user-assigned identity');
      assert.equal(host.calls.length, 7);
      host.failNext(1, { status: 429, retryAfter: 1 });
      const throttled = await fetch(host.url + `/msi/token${q}`, { headers: { 'X-IDENTITY-HEADER': host.identityHeader } });
      assert.equal(throttled.status, 429);
      assert.equal(throttled.headers.get('retry-after'), '1');
    } finally {
      await host.close();
    }
  });
});
