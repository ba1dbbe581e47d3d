/**
 * `isValidToken`: claim checks (expired, not yet valid, garbage, audience) and, with
 * `{ verify: true }`, the signature against the issuer's JWKS, using tokens signed by real wits
 * servers (RS256 and ES256), by foreign keys, tampered, unsigned and from untrusted issuers.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { credentials, WitsClient } from '../../src/client/index.js';
import { discoveryUrlOf } from '../../src/client/verify.js';
import { craftJwt, nowSeconds, startWits, type TestWits } from './support.js';

let rs: TestWits;
let es: TestWits;
let client: WitsClient;

/** A token minted by `wits`'s own issuer at `now` (so it can be expired or not yet valid). */
async function mint(wits: TestWits, options: { audience?: string; now?: number; lifetimeSeconds?: number } = {}): Promise<string> {
  const workspace = await wits.server.app.admin.getWorkspace('default');
  const id = workspace.identities[0];
  assert.ok(id);
  const minted = await wits.server.app.issuer.mint(
    { audience: options.audience ?? 'https://storage.azure.com', tenantId: id.tenantId, objectId: id.objectId, clientId: id.clientId, resourceId: id.resourceId },
    options.lifetimeSeconds ?? 3600,
    options.now ?? Date.now(),
  );
  return minted.token;
}

function withPayload(token: string, change: (claims: Record<string, unknown>) => void): string {
  const [h, p, s] = token.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
  change(claims);
  return `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
}

before(async () => {
  rs = await startWits({ signingAlg: 'RS256' });
  es = await startWits({ signingAlg: 'ES256' });
  const session = await rs.session();
  client = new WitsClient({ endpoint: rs.url, secret: session.secret });
});
after(async () => {
  await rs.close();
  await es.close();
});

describe('claims', () => {
  test('a fresh token from wits is valid, with and without signature verification', async () => {
    const token = await client.getToken('Storage');
    assert.equal(await client.isValidToken(token), true);
    assert.equal(await client.isValidToken(token, { verify: true }), true);
  });

  test('expired and not-yet-valid tokens are invalid, even when correctly signed', async () => {
    const expired = await mint(rs, { now: Date.now() - 2 * 3600_000 });
    const notYet = await mint(rs, { now: Date.now() + 3600_000 });
    for (const token of [expired, notYet]) {
      assert.equal(await client.isValidToken(token), false);
      assert.equal(await client.isValidToken(token, { verify: true }), false);
    }
  });

  test('a small clock skew is tolerated (60 s by default, configurable)', async () => {
    const justExpired = await mint(rs, { now: Date.now() - 330_000, lifetimeSeconds: 300 }); // expired 30 s ago
    const almostValid = await mint(rs, { now: Date.now() + 30_000 }); // nbf and iat 30 s ahead
    assert.equal(await client.isValidToken(justExpired), true);
    assert.equal(await client.isValidToken(almostValid, { verify: true }), true);
    assert.equal(await client.isValidToken(justExpired, { clockSkewSeconds: 0 }), false);
    assert.equal(await client.isValidToken(almostValid, { clockSkewSeconds: 0 }), false);
    const longExpired = await mint(rs, { now: Date.now() - 400_000, lifetimeSeconds: 300 }); // 100 s ago
    assert.equal(await client.isValidToken(longExpired), false);
  });

  test('garbage is invalid, never an exception', async () => {
    const now = nowSeconds();
    const header = Buffer.from('{"alg":"RS256"}').toString('base64url');
    const garbage: unknown[] = [
      '',
      'abc',
      'a.b.c',
      'a.b',
      'a.b.c.d',
      `${header}.${Buffer.from('[1,2]').toString('base64url')}.sig`,
      `${header}.${Buffer.from('not json').toString('base64url')}.sig`,
      `${header}.e30.sig`, // {} : no exp
      `${header}.${Buffer.from('{"exp":"2999999999"}').toString('base64url')}.sig`, // exp as a string
      craftJwt({ exp: now + 3600, nbf: 'soon' }),
      craftJwt({ exp: now + 3600 }, { typ: 'JWT' }), // no alg
      `Bearer ${craftJwt({ exp: now + 3600 })}`,
      'x'.repeat(100_000),
      123,
      null,
      undefined,
      { token: 'x' },
    ];
    for (const value of garbage) {
      assert.equal(await client.isValidToken(value as string), false, JSON.stringify(value)?.slice(0, 60));
      assert.equal(await client.isValidToken(value as string, { verify: true }), false);
    }
  });

  test('audience: matches the URI or scope form, refuses another resource', async () => {
    const token = await client.getToken('Vault');
    assert.equal(await client.isValidToken(token, { audience: 'https://vault.azure.net' }), true);
    assert.equal(await client.isValidToken(token, { audience: 'https://vault.azure.net/.default' }), true);
    assert.equal(await client.isValidToken(token, { audience: 'https://Vault.azure.net/' }), true);
    assert.equal(await client.isValidToken(token, { audience: 'https://storage.azure.com' }), false);
  });
});

describe('signature verification', () => {
  test('a tampered payload fails verification but passes the claim check', async () => {
    const token = await client.getToken('Storage');
    const tampered = withPayload(token, (c) => (c.aud = 'https://vault.azure.net'));
    assert.equal(await client.isValidToken(tampered), true);
    assert.equal(await client.isValidToken(tampered, { verify: true }), false);
    const extended = withPayload(token, (c) => (c.exp = (c.exp as number) + 86_400));
    assert.equal(await client.isValidToken(extended, { verify: true }), false);
  });

  test("a token signed by a foreign key with the wits issuer and kid fails", async () => {
    const real = await client.getToken('Storage');
    const header = JSON.parse(Buffer.from(real.split('.')[0] as string, 'base64url').toString()) as { kid: string };
    const claims = JSON.parse(Buffer.from(real.split('.')[1] as string, 'base64url').toString()) as Record<string, unknown>;
    const { privateKey } = await generateKeyPair('RS256');
    const forged = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: header.kid, typ: 'JWT' }).sign(privateKey);
    assert.equal(await client.isValidToken(forged), true);
    assert.equal(await client.isValidToken(forged, { verify: true }), false);
  });

  test('alg none, HMAC with the public key, and crit headers are refused', async () => {
    const real = await client.getToken('Storage');
    const [h, p] = real.split('.') as [string, string];
    const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>;
    const none = `${Buffer.from(JSON.stringify({ ...header, alg: 'none' })).toString('base64url')}.${p}.`;
    assert.equal(await client.isValidToken(none, { verify: true }), false);
    const jwks = (await (await fetch(`${rs.url}/.well-known/jwks.json`)).json()) as { keys: Array<{ n: string }> };
    const hmacKey = new TextEncoder().encode(jwks.keys[0]?.n ?? '');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const hs = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: header.kid as string }).sign(hmacKey);
    assert.equal(await client.isValidToken(hs, { verify: true }), false);
    const crit = `${Buffer.from(JSON.stringify({ ...header, crit: ['exp'] })).toString('base64url')}.${p}.${real.split('.')[2]}`;
    assert.equal(await client.isValidToken(crit, { verify: true }), false);
  });

  test('ES256 tokens verify (P-256 via Web Crypto)', async () => {
    const session = await es.session();
    const esClient = new WitsClient({ endpoint: es.url, secret: session.secret });
    const token = await esClient.getToken('Storage');
    assert.equal(JSON.parse(Buffer.from(token.split('.')[0] as string, 'base64url').toString()).alg, 'ES256');
    assert.equal(await esClient.isValidToken(token, { verify: true }), true);
    assert.equal(await esClient.isValidToken(withPayload(token, (c) => (c.oid = 'x')), { verify: true }), false);
  });

  test('issuers: only the wits server the client talks to is trusted by default; `issuer` pins others', async () => {
    const esSession = await es.session();
    const fromOther = await new WitsClient({ endpoint: es.url, secret: esSession.secret }).getToken('Storage');
    assert.equal(await client.isValidToken(fromOther, { verify: true }), false, 'another wits server is not trusted');
    assert.equal(await client.isValidToken(fromOther, { verify: true, issuer: es.url }), true);
    assert.equal(await client.isValidToken(fromOther, { verify: true, issuer: [rs.url, `${es.url}/`] }), true);
    const own = await client.getToken('Storage');
    assert.equal(await client.isValidToken(own, { verify: true, issuer: es.url }), false, 'pinning excludes the default');
  });

  test("under IMDS (no discovery endpoint) the token's own issuer is used", async () => {
    const imdsClient = new WitsClient({ env: { AZURE_POD_IDENTITY_AUTHORITY_HOST: 'http://127.0.0.1:9' } });
    const token = await client.getToken('Storage');
    assert.equal(await imdsClient.isValidToken(token, { verify: true }), true);
    assert.equal(await imdsClient.isValidToken(withPayload(token, (c) => (c.sub = 'x')), { verify: true }), false);
  });

  test('a discovery document that names another issuer is not followed', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    let base = '';
    const server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      if (req.url === '/.well-known/openid-configuration') res.end(JSON.stringify({ issuer: 'https://somebody-else.example', jwks_uri: `${base}/jwks` }));
      else res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const token = await new SignJWT({ aud: 'https://storage.azure.com' }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer(base).setIssuedAt().setExpirationTime('1h').sign(privateKey);
      assert.equal(await client.isValidToken(token, { verify: true, issuer: base }), false);
    } finally {
      server.close();
    }
  });

  test('Entra ID issuers map to their discovery documents', () => {
    const tid = '72f988bf-86f1-41af-91ab-2d7cd011db47';
    assert.equal(discoveryUrlOf(`https://sts.windows.net/${tid}/`), `https://login.microsoftonline.com/${tid}/.well-known/openid-configuration`);
    assert.equal(discoveryUrlOf(`https://login.microsoftonline.com/${tid}/v2.0`), `https://login.microsoftonline.com/${tid}/v2.0/.well-known/openid-configuration`);
    assert.equal(discoveryUrlOf('http://127.0.0.1:8339/'), 'http://127.0.0.1:8339/.well-known/openid-configuration');
  });

  test('credentials.isValidToken works outside wits exec for claim checks', async () => {
    assert.equal(await credentials.isValidToken(craftJwt({ exp: nowSeconds() + 600, nbf: nowSeconds() - 5 })), true);
    assert.equal(await credentials.isValidToken(craftJwt({ exp: nowSeconds() - 600 })), false);
  });
});
