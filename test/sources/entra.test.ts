/**
 * Acceptance tests of the entra-federated, entra-certificate and entra-secret token sources
 * (issue #4) against an Entra-like authority over HTTPS (a test CA made with openssl, given to the
 * wits process as NODE_EXTRA_CA_CERTS), with `wits serve` in a child process:
 *
 * - MSAL (knownAuthorities) fetches the stand-in's OIDC metadata, then posts client_credentials; a
 *   workload under `wits exec` gets the stand-in-signed token for cognitiveservices, never a
 *   wits-signed one.
 * - The stand-in verifies the federated assertion the way Entra does, through wits' published
 *   discovery + JWKS (fetched from the assertion's `iss`, here wits' default issuer, its URL); a
 *   wrong subject or audience is rejected: 403 ERR_UPSTREAM_REJECTED JSON after one call, no retries.
 * - Certificate assertion: x5t#S256 + signature with the certificate's key, aud = token endpoint.
 *   Client secret: compared by the stand-in; a wrong one is refused the same way.
 * - 429 + Retry-After: 1 is waited out and retried; an outage (500, then hang) serves cached tokens
 *   and fails uncached requests with 503 + Retry-After within WITS_UPSTREAM_TIMEOUT; the breaker
 *   opens and closes.
 * - /admin/status and `wits status` show each source's kind, health and last error, and the cache size.
 * - No secret, private key, assertion or upstream token appears in logs, error bodies, audit rows,
 *   CLI output or the database files (WAL included).
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, generateKeyPair, jwtVerify, SignJWT, type JSONWebKeySet } from 'jose';
import {
  adminStatus,
  assertWitsError,
  COGNITIVE_SERVICES,
  createSession,
  databaseHaystacks,
  errorBodies,
  execWorkload,
  findLeaks,
  http,
  msiToken,
  removeDir,
  sleep,
  sourceOf,
  startWits,
  tempDir,
  tokenNeedles,
  until,
  witsOk,
  type Haystack,
  type Needle,
  type WitsServer,
} from './harness.js';
import { makeTestPki, pemBody, pemBodyLines, type TestPki } from './pki.js';
import { CredentialRejected, EntraStandIn, FEDERATED_AUDIENCE, verifyFederatedAssertion } from './standIns.js';

const UPSTREAM_TIMEOUT_SECONDS = 3;
const BREAKER_COOLDOWN_SECONDS = 2;
const VAULT = 'https://vault.azure.net';
const STORAGE = 'https://storage.azure.com';
const MANAGEMENT = 'https://management.azure.com';
const GRAPH = 'https://graph.microsoft.com';
const DATABASE = 'https://database.windows.net';

const CLIENT_SECRET = `wits-test-secret~${randomBytes(24).toString('base64url')}`;
const WRONG_SECRET = `wits-wrong-secret~${randomBytes(24).toString('base64url')}`;
const CUSTOM_SUBJECT = 'repo:contoso/notebooks:environment:prod';

interface Workspace {
  readonly name: string;
  readonly clientId: string;
  readonly kind: 'entra-federated' | 'entra-certificate' | 'entra-secret';
}

describe('entra-* sources against an HTTPS Entra stand-in', () => {
  let pkiDir: string;
  let pki: TestPki;
  let entra: EntraStandIn;
  let home: string;
  let server: WitsServer;
  const haystacks: Haystack[] = [];
  const controls: Haystack[] = [];
  const sessionSecrets: string[] = [];
  const ws = {
    fed: { name: 'fed', clientId: randomUUID(), kind: 'entra-federated' },
    fedSubject: { name: 'fed-subject', clientId: randomUUID(), kind: 'entra-federated' },
    wrongSub: { name: 'fed-wrong-sub', clientId: randomUUID(), kind: 'entra-federated' },
    wrongAud: { name: 'fed-wrong-aud', clientId: randomUUID(), kind: 'entra-federated' },
    cert: { name: 'cert', clientId: randomUUID(), kind: 'entra-certificate' },
    secret: { name: 'secret', clientId: randomUUID(), kind: 'entra-secret' },
    wrongSecret: { name: 'secret-wrong', clientId: randomUUID(), kind: 'entra-secret' },
  } satisfies Record<string, Workspace>;
  /** The first token each workspace got for cognitiveservices. */
  const firstTokens = new Map<string, string>();

  before(async () => {
    pkiDir = tempDir('pki');
    pki = makeTestPki(pkiDir);
    entra = await EntraStandIn.start({ key: pki.serverKeyPem, cert: pki.serverCertPem });
    home = tempDir('entra');
    server = await startWits(home, {
      NODE_EXTRA_CA_CERTS: pki.caFile,
      WITS_UPSTREAM_TIMEOUT: String(UPSTREAM_TIMEOUT_SECONDS),
      WITS_BREAKER_COOLDOWN: String(BREAKER_COOLDOWN_SECONDS),
    });
    // The default issuer is the server's own URL: Entra (the stand-in) fetches discovery there.
    assert.equal(server.issuer, server.url);
    const federated = (subject: string, audience = FEDERATED_AUDIENCE) => ({ kind: 'federated' as const, issuer: server.issuer, subject, audience });
    entra.apps.set(ws.fed.clientId, federated('wits:workspace:fed:identity:system'));
    entra.apps.set(ws.fedSubject.clientId, federated(CUSTOM_SUBJECT));
    entra.apps.set(ws.wrongSub.clientId, federated('wits:workspace:someone-else:identity:system'));
    entra.apps.set(ws.wrongAud.clientId, federated('wits:workspace:fed-wrong-aud:identity:system', 'api://AzureADTokenExchangeOther'));
    entra.apps.set(ws.cert.clientId, { kind: 'certificate', certificatePem: pki.clientCertPem });
    entra.apps.set(ws.secret.clientId, { kind: 'secret', secret: CLIENT_SECRET });
    entra.apps.set(ws.wrongSecret.clientId, { kind: 'secret', secret: CLIENT_SECRET });

    const secretFile = join(pkiDir, 'client-secret');
    writeFileSync(secretFile, CLIENT_SECRET + '\n', { mode: 0o600 });
    const wrongSecretFile = join(pkiDir, 'wrong-secret');
    writeFileSync(wrongSecretFile, WRONG_SECRET + '\n', { mode: 0o600 });
    const common = (w: Workspace) => ['workspace', 'create', w.name, '--source', w.kind, '--tenant-id', entra.tenantId, '--client-id', w.clientId, '--authority', entra.url, '--home', home, '--json'];
    const created = await Promise.all([
      witsOk(common(ws.fed)),
      witsOk([...common(ws.fedSubject), '--subject', CUSTOM_SUBJECT]),
      witsOk(common(ws.wrongSub)),
      witsOk(common(ws.wrongAud)),
      witsOk([...common(ws.cert), '--certificate-file', pki.clientBundleFile]),
      witsOk([...common(ws.secret), '--secret-file', secretFile]),
      witsOk([...common(ws.wrongSecret), '--secret-file', wrongSecretFile]),
    ]);
    for (const c of created) haystacks.push({ where: 'wits workspace create output', data: c.stdout + c.stderr });
    const secretView = JSON.parse(created[5]?.stdout ?? '{}') as { source: { kind: string; options: Record<string, string> } };
    assert.deepEqual(secretView.source, {
      kind: 'entra-secret',
      options: { tenantId: entra.tenantId, clientId: ws.secret.clientId, authority: entra.url, secretFile },
    }, 'the config names where the secret lives, not the secret');
  });

  after(async () => {
    await server?.stop();
    await entra?.close();
    if (home !== undefined) removeDir(home);
    if (pkiDir !== undefined) removeDir(pkiDir);
  });

  async function assertUpstreamToken(token: string, w: Workspace, resource: string): Promise<void> {
    const claims = await entra.signer.verify(token, resource);
    assert.equal(claims.iss, `https://sts.windows.net/${entra.tenantId}/`);
    assert.equal(claims.appid, w.clientId);
    assert.equal(claims.tid, entra.tenantId);
    assert.equal(typeof claims.uti, 'string');
    assert.ok(entra.signer.issued.some((t) => t.token === token), 'a token the stand-in issued');
    const witsJwks = (await http(`${server.url}/.well-known/jwks.json`)).body as JSONWebKeySet;
    await assert.rejects(jwtVerify(token, createLocalJWKSet(witsJwks)), 'not verifiable with wits keys: not wits-signed');
  }

  for (const key of ['fed', 'fedSubject', 'cert', 'secret'] as const) {
    test(`${key}: a workload under \`wits exec\` gets the Entra stand-in token for cognitiveservices`, async () => {
      const w = ws[key];
      const result = await execWorkload(server, w.name, COGNITIVE_SERVICES);
      haystacks.push({ where: `wits exec stderr (${w.name})`, data: result.run.stderr });
      controls.push({ where: 'workload output', data: result.run.stdout });
      assert.equal(result.status, 200, JSON.stringify(result.body));
      assert.ok(result.endpoint.startsWith(server.url));
      const token = result.body.access_token as string;
      await assertUpstreamToken(token, w, COGNITIVE_SERVICES);
      assert.equal(result.body.resource, COGNITIVE_SERVICES);
      assert.equal(result.body.client_id, w.clientId, 'the system identity shows the app client id');
      firstTokens.set(w.name, token);

      // MSAL fetched the tenant's metadata, then made exactly one client_credentials call.
      const calls = entra.tokenCalls(w.clientId);
      assert.equal(calls.length, 1);
      assert.equal(calls[0]?.status, 200);
      assert.equal(calls[0]?.scope, `${COGNITIVE_SERVICES}/.default`);
      const firstToken = entra.calls.findIndex((c) => c.kind === 'token' && c.clientId === w.clientId);
      assert.ok(entra.calls.slice(0, firstToken).some((c) => c.kind === 'metadata' && c.status === 200), 'metadata was fetched first');

      if (w.kind === 'entra-federated') {
        const assertion = entra.assertions.at(-1) as string;
        const claims = decodeJwt(assertion);
        assert.equal(claims.iss, server.issuer);
        assert.equal(claims.aud, FEDERATED_AUDIENCE);
        assert.equal(claims.sub, key === 'fedSubject' ? CUSTOM_SUBJECT : 'wits:workspace:fed:identity:system');
        assert.ok((claims.exp as number) - (claims.iat as number) <= 3600, 'short-lived assertion');
        // The stand-in verified it through wits' published discovery and JWKS.
        const requests = server
          .logs()
          .split('\n')
          .filter((l) => l.startsWith('{"time"'))
          .map((l) => JSON.parse(l) as { msg?: string; path?: string; status?: number })
          .filter((e) => e.msg === 'request' && e.status === 200);
        assert.ok(requests.some((e) => e.path === '/.well-known/openid-configuration'), 'the stand-in fetched wits discovery');
        assert.ok(requests.some((e) => e.path === '/.well-known/jwks.json'), 'the stand-in fetched wits JWKS');
      }
      if (w.kind === 'entra-certificate') {
        const assertion = entra.assertions.at(-1) as string;
        const header = decodeProtectedHeader(assertion);
        assert.equal(header['x5t#S256'], pki.clientX5tS256);
        assert.equal(decodeJwt(assertion).aud, entra.tokenEndpoint);
      }
    });
  }

  test('the stand-in refuses federated assertions not signed with RSA, as Entra does (AADSTS5002738)', async () => {
    // wits signs access tokens with ES256 by default and publishes that key too; an ES256 assertion
    // from wits' issuer, with the right subject and audience, must still be refused.
    const { privateKey } = await generateKeyPair('ES256');
    const subject = 'wits:workspace:any:identity:system';
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'any' })
      .setIssuer(server.issuer)
      .setSubject(subject)
      .setAudience(FEDERATED_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
    await assert.rejects(
      verifyFederatedAssertion(assertion, { issuer: server.issuer, subject, audience: FEDERATED_AUDIENCE }),
      (err: unknown) => err instanceof CredentialRejected && err.aadsts === 5002738 && /'ES256' is not a supported signature algorithm/.test(err.message),
    );
  });

  test("the tenant's OpenID configuration is fetched once and reused: one upstream call per token", async () => {
    const secret = await createSession(server, ws.fed.name);
    sessionSecrets.push(secret);
    const metadataCalls = () => entra.calls.filter((c) => c.kind === 'metadata').length;
    // The first exchange may fetch the configuration (a failed exchange elsewhere drops it).
    const first = await msiToken(server, secret, 'https://eventhubs.azure.net');
    assert.equal(first.status, 200, first.text);
    const metadataBefore = metadataCalls();
    const tokensBefore = entra.tokenCalls(ws.fed.clientId).length;
    for (const resource of ['https://servicebus.azure.net', 'https://batch.core.windows.net']) {
      const r = await msiToken(server, secret, resource);
      assert.equal(r.status, 200, r.text);
      await assertUpstreamToken(r.body.access_token as string, ws.fed, resource);
    }
    assert.equal(entra.tokenCalls(ws.fed.clientId).length, tokensBefore + 2, 'one token request per new resource');
    assert.equal(metadataCalls(), metadataBefore, 'no configuration fetch for the later exchanges');
  });

  test('each federated exchange carries a fresh assertion', async () => {
    const secret = await createSession(server, ws.fed.name);
    sessionSecrets.push(secret);
    const r = await msiToken(server, secret, STORAGE);
    assert.equal(r.status, 200, r.text);
    await assertUpstreamToken(r.body.access_token as string, ws.fed, STORAGE);
    assert.ok(entra.federatedJtis.length >= 3);
    assert.equal(new Set(entra.federatedJtis).size, entra.federatedJtis.length, 'no assertion is reused');
  });

  for (const [key, code, what] of [
    ['wrongSub', 700213, 'subject'],
    ['wrongAud', 700212, 'audience'],
    ['wrongSecret', 7000215, 'client secret'],
  ] as const) {
    test(`a wrong ${what} is rejected by the stand-in: 403 ERR_UPSTREAM_REJECTED JSON, one upstream call`, async () => {
      const w = ws[key];
      const secret = await createSession(server, w.name);
      sessionSecrets.push(secret);
      const r = await msiToken(server, secret, COGNITIVE_SERVICES);
      assertWitsError(r, 403, 'ERR_UPSTREAM_REJECTED');
      assert.equal(r.body.error, 'access_denied');
      assert.match(r.body.message, new RegExp(`AADSTS${code}`));
      // eslint-disable-next-line no-control-regex
      assert.doesNotMatch(r.body.message, /[\u0000-\u001f]/, 'one clean line (Entra separates lines with CRLF)');
      const calls = entra.tokenCalls(w.clientId);
      assert.equal(calls.length, 1, 'a refusal is not retried');
      assert.equal(calls[0]?.status, 401);
      assert.match(calls[0]?.error ?? '', new RegExp(`AADSTS${code}`));
      const health = sourceOf(await adminStatus(server), w.name).health;
      assert.equal(health?.state, 'closed', 'a refusal does not open the breaker');
      assert.equal(health?.healthy, false, 'a source whose last call was refused is not healthy');
      assert.match(health?.lastError ?? '', new RegExp(`AADSTS${code}`));
    });
  }

  test('a 429 with Retry-After: 1 from Entra is waited out and retried, and the caller succeeds', async () => {
    const secret = await createSession(server, ws.secret.name);
    sessionSecrets.push(secret);
    entra.failNext(1, { status: 429, retryAfter: 1 });
    const r = await msiToken(server, secret, VAULT);
    assert.equal(r.status, 200, r.text);
    await assertUpstreamToken(r.body.access_token as string, ws.secret, VAULT);
    const calls = entra.tokenCalls(ws.secret.clientId).filter((c) => c.scope === `${VAULT}/.default`);
    assert.deepEqual(calls.map((c) => c.status), [429, 200]);
    const gap = (calls[1]?.time ?? 0) - (calls[0]?.time ?? 0);
    assert.ok(gap >= 950, `waited for Retry-After (gap ${gap} ms)`);
  });

  test('during an Entra outage cached tokens are served and uncached requests get 503 + Retry-After in time', async () => {
    const secret = await createSession(server, ws.secret.name);
    sessionSecrets.push(secret);
    const bound = UPSTREAM_TIMEOUT_SECONDS * 1000 + 1500;
    for (const [outage, resource] of [[{ status: 500 }, MANAGEMENT], [{ hang: true as const }, GRAPH]] as const) {
      entra.setOutage(outage);
      const before = entra.calls.length;
      const hit = await msiToken(server, secret, COGNITIVE_SERVICES);
      assert.equal(hit.status, 200, hit.text);
      assert.equal(hit.body.access_token, firstTokens.get(ws.secret.name), 'the cached upstream token');
      assert.equal(entra.calls.length, before, 'no upstream call for a cached token');
      const miss = await msiToken(server, secret, resource);
      assertWitsError(miss, 503, 'ERR_SOURCE_UNAVAILABLE');
      assert.match(miss.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
      assert.ok(miss.ms <= bound, `503 within the bound (${miss.ms} ms > ${bound} ms)`);
    }
    entra.setOutage(null);
  });

  test('the breaker of an Entra source opens under failures and closes after the cooldown', async () => {
    const secret = await createSession(server, ws.secret.name);
    sessionSecrets.push(secret);
    entra.setOutage({ status: 500 });
    const open = await until('the breaker to open', async () => {
      const r = await msiToken(server, secret, DATABASE);
      assertWitsError(r, 503, 'ERR_SOURCE_UNAVAILABLE');
      const s = sourceOf(await adminStatus(server), ws.secret.name);
      return s.health?.state === 'open' ? s : undefined;
    }, 30_000, 0);
    assert.equal(open.kind, 'entra-secret');
    assert.match(open.health?.lastError ?? '', /HTTP 500/);
    const before = entra.calls.length;
    const fast = await msiToken(server, secret, DATABASE);
    assertWitsError(fast, 503, 'ERR_SOURCE_UNAVAILABLE');
    assert.ok(fast.ms < 500, `fails fast while open (${fast.ms} ms)`);
    assert.equal(entra.calls.length, before, 'no upstream call while open');
    entra.setOutage(null);
    await sleep(Math.max(0, Date.parse(open.health?.openUntil ?? '') - Date.now() + 50));
    const probe = await msiToken(server, secret, DATABASE);
    assert.equal(probe.status, 200, probe.text);
    await assertUpstreamToken(probe.body.access_token as string, ws.secret, DATABASE);
    const closed = sourceOf(await adminStatus(server), ws.secret.name);
    assert.equal(closed.health?.state, 'closed');
    assert.equal(closed.health?.healthy, true);
  });

  test('/admin/status and `wits status` show every source with its health, last error and the cache size', async () => {
    const status = await adminStatus(server);
    assert.equal(status.mode, 'server');
    // Cached: cognitiveservices for the four working workspaces, storage, eventhubs, servicebus and
    // batch (fed), vault and database (secret).
    assert.equal(status.cachedTokens, 10);
    // Per workspace too: the sum of the rows is the total, and each working workspace holds some.
    assert.equal(status.sources.reduce((n, s) => n + (s.cachedTokens ?? 0), 0), 10);
    for (const w of [ws.fed, ws.fedSubject, ws.cert, ws.secret]) assert.ok((sourceOf(status, w.name).cachedTokens ?? 0) >= 1, w.name);
    for (const w of Object.values(ws)) {
      const s = sourceOf(status, w.name);
      assert.equal(s.kind, w.kind);
      assert.ok(s.health !== null, `${w.name} has runtime health`);
      assert.equal(s.health.state, 'closed');
    }
    for (const w of [ws.fed, ws.fedSubject, ws.cert, ws.secret]) {
      const h = sourceOf(status, w.name).health;
      assert.equal(h?.healthy, true, w.name);
      assert.ok(h?.lastSuccessAt !== null, w.name);
    }
    assert.equal(sourceOf(status, ws.fed.name).health?.lastError, null);
    assert.equal(sourceOf(status, 'default').health, null, 'the local source has no upstream health');

    const human = await witsOk(['status', '--server', server.url, '--home', home]);
    haystacks.push({ where: 'wits status', data: human.stdout + human.stderr });
    assert.match(human.stdout, /cached tokens:\s+10\b/);
    assert.doesNotMatch(human.stdout, /\r/, 'no carriage return from Entra messages garbles the table');
    assert.match(human.stdout, /^fed-wrong-sub\s+entra-federated\s+closed\s.*AADSTS700213/m, human.stdout);
    assert.match(human.stdout, /^cert\s+entra-certificate\s+closed\s/m);
    assert.match(human.stdout, /^secret\s+entra-secret\s+closed\s.*HTTP 500/m, 'the last error stays visible');
    const json = await witsOk(['status', '--json', '--server', server.url, '--home', home]);
    haystacks.push({ where: 'wits status --json', data: json.stdout });
    assert.equal((JSON.parse(json.stdout) as { sources: unknown[] }).sources.length, Object.keys(ws).length + 1);
  });

  test('no secret, private key, assertion or upstream token appears in logs, errors, audit rows or the database', async () => {
    const audit = await witsOk(['audit', '--json', '--server', server.url, '--home', home]);
    const rows = JSON.parse(audit.stdout) as Array<{ outcome: string; tokenId: string | null; code: string | null }>;
    assert.ok(rows.some((r) => r.outcome === 'issued' && r.tokenId !== null));
    assert.ok(rows.some((r) => r.code === 'ERR_UPSTREAM_REJECTED'));
    const shown = await witsOk(['workspace', 'list', '--json', '--server', server.url, '--home', home]);
    const needles: Needle[] = [
      { what: 'client secret', value: CLIENT_SECRET },
      { what: 'wrong client secret', value: WRONG_SECRET },
      { what: 'certificate private key (PEM body)', value: pemBody(pki.clientKeyPem) },
      ...pemBodyLines(pki.clientKeyPem).map((line, i) => ({ what: `certificate private key line ${i}`, value: line })),
      ...entra.signer.issued.flatMap((t, i) => tokenNeedles(`upstream token ${i}`, t.token)),
      ...entra.assertions.flatMap((a, i) => tokenNeedles(`client assertion ${i}`, a)),
      ...sessionSecrets.map((s, i) => ({ what: `session secret ${i}`, value: s })),
    ];
    assert.ok(entra.signer.issued.length >= 7 && entra.assertions.length >= 6, 'the scan covers every issued token and assertion');
    const all: Haystack[] = [
      ...haystacks,
      { where: 'server log', data: server.logs() },
      { where: 'error bodies', data: errorBodies.join('\n') },
      { where: 'wits audit --json', data: audit.stdout + audit.stderr },
      { where: 'wits workspace list --json', data: shown.stdout + shown.stderr },
      // The database files while the server runs (WAL included) ...
      ...databaseHaystacks(home),
    ];
    // ... and after it stopped (WAL checkpointed into the main file), with its complete logs.
    await server.stop();
    all.push(...databaseHaystacks(home).map((h) => ({ ...h, where: `${h.where} (after stop)` })), { where: 'server log (complete)', data: server.logs() });
    assert.ok(all.some((h) => h.where.endsWith('wits.db-wal')), 'the WAL is scanned');
    assert.ok(errorBodies.length >= 3, 'error bodies were collected');
    assert.ok(findLeaks(controls, needles).length > 0, 'control: the scan finds tokens where they belong');
    assert.deepEqual(findLeaks(all, needles), []);
  });
});
