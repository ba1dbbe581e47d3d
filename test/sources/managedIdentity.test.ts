/**
 * Acceptance tests of the `managed-identity` token source (issue #4) against a strict stand-in of
 * the host's managed-identity endpoint, with `wits serve` in a child process per environment
 * (msal-node picks its managed-identity source once per process):
 *
 * - App Service protocol (IDENTITY_ENDPOINT + IDENTITY_HEADER): a workload under `wits exec` gets
 *   the host's token, not a wits-signed one; 50 concurrent cold requests make one upstream call; a
 *   429 with Retry-After: 1 is waited out and retried; a 400 from the host is final (403, one call);
 *   during an outage (500, then hang) cached tokens are served and uncached requests get a 503 JSON
 *   error with Retry-After within WITS_UPSTREAM_TIMEOUT; the circuit breaker opens (no upstream
 *   calls while open) and closes after WITS_BREAKER_COOLDOWN; `wits status` and /admin/status show it.
 * - IMDS protocol (AZURE_POD_IDENTITY_AUTHORITY_HOST): `Metadata: true`, api-version 2018-02-01 and
 *   the user-assigned client id reach the host.
 * - Nothing secret (host tokens, IDENTITY_HEADER, session secrets) appears in logs, error bodies,
 *   audit rows or the database files.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { randomUUID } from 'node:crypto';
import { createLocalJWKSet, decodeJwt, jwtVerify, type JSONWebKeySet } from 'jose';
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
  wits,
  witsOk,
  type Haystack,
  type Needle,
  type WitsServer,
} from './harness.js';
import { ManagedIdentityHost } from './standIns.js';

const UPSTREAM_TIMEOUT_SECONDS = 2;
const BREAKER_COOLDOWN_SECONDS = 2;
const STORAGE = 'https://storage.azure.com';
const VAULT = 'https://vault.azure.net';
const MANAGEMENT = 'https://management.azure.com';
const GRAPH = 'https://graph.microsoft.com';
const DATABASE = 'https://database.windows.net';
const KUSTO = 'https://kusto.kusto.windows.net';

/** What every test leaves behind for the final secrets scan. */
const sessionSecrets: string[] = [];
const extraHaystacks: Haystack[] = [];
/** Tokens and secrets of both hosts, collected as the describes end. */
const hostSecrets: Needle[] = [];
/** Places that DO hold a token (the workload's own output): the scan must find it there. */
const controlHaystacks: Haystack[] = [];

function collect(where: string, host: ManagedIdentityHost | undefined, server: WitsServer | undefined, home: string | undefined): void {
  if (host !== undefined) {
    for (const t of host.signer.issued) hostSecrets.push(...tokenNeedles(`${where} host token`, t.token));
    hostSecrets.push({ what: `${where} IDENTITY_HEADER`, value: host.identityHeader });
  }
  if (server !== undefined) extraHaystacks.push({ where: `server log (${where})`, data: server.logs() });
  if (home !== undefined) extraHaystacks.push(...databaseHaystacks(home).map((h) => ({ ...h, where: `${h.where} (after stop)` })));
}

describe('managed-identity source, App Service protocol of the host', () => {
  let host: ManagedIdentityHost;
  let server: WitsServer;
  let home: string;
  let firstToken = '';
  /** Cache entries the server should hold at the end: workspace + resource. */
  const cached = new Set<string>();

  before(async () => {
    host = await ManagedIdentityHost.start();
    home = tempDir('mi');
    server = await startWits(home, {
      ...host.appServiceEnv(),
      WITS_UPSTREAM_TIMEOUT: String(UPSTREAM_TIMEOUT_SECONDS),
      WITS_BREAKER_COOLDOWN: String(BREAKER_COOLDOWN_SECONDS),
    });
    await witsOk(['workspace', 'create', 'mi', '--source', 'managed-identity', '--home', home]);
  });

  after(async () => {
    // The database files while the server runs (WAL included), then after it stopped.
    if (home !== undefined) extraHaystacks.push(...databaseHaystacks(home));
    await server?.stop();
    await host?.close();
    collect('App Service', host, server, home);
    if (home !== undefined) removeDir(home);
  });

  test('a workload under `wits exec` gets the host token for cognitiveservices, not a wits-signed one', async () => {
    const result = await execWorkload(server, 'mi', COGNITIVE_SERVICES);
    extraHaystacks.push({ where: 'wits exec stderr', data: result.run.stderr });
    controlHaystacks.push({ where: 'workload output (holds the token by design)', data: result.run.stdout });
    assert.equal(result.status, 200, JSON.stringify(result.body));
    // The workload talks to wits only: the host's endpoint and secret are not handed down.
    assert.ok(result.endpoint.startsWith(server.url), result.endpoint);
    const token = result.body.access_token as string;
    assert.equal(result.body.resource, COGNITIVE_SERVICES);
    assert.equal(result.body.token_type, 'Bearer');
    assert.match(result.body.expires_on, /^\d+$/);

    // Signed by the host stand-in's key, issued by it, for this resource ...
    const claims = await host.signer.verify(token, COGNITIVE_SERVICES);
    assert.equal(claims.iss, host.signer.issuer);
    assert.ok(host.signer.issued.some((t) => t.token === token), 'the token is one the host issued');
    // ... and not by wits: wits' JWKS does not verify it and its issuer is not wits'.
    const witsJwks = (await http(`${server.url}/.well-known/jwks.json`)).body as JSONWebKeySet;
    await assert.rejects(jwtVerify(token, createLocalJWKSet(witsJwks)));
    assert.notEqual(claims.iss, server.issuer);

    // Exactly one host call, App Service protocol, with the host's secret header.
    const calls = host.tokenCalls(COGNITIVE_SERVICES);
    assert.equal(calls.length, 1);
    assert.equal(calls[0]?.protocol, 'appservice');
    assert.equal(calls[0]?.headers['x-identity-header'], host.identityHeader);
    assert.equal(calls[0]?.query['api-version'], '2019-08-01');
    assert.equal(calls[0]?.query.client_id, undefined, 'the host system-assigned identity is used');

    // The audit log records the upstream token's id (uti), never the token.
    const audit = await witsOk(['audit', '--json', '--server', server.url, '--home', home, '--workspace', 'mi']);
    extraHaystacks.push({ where: 'wits audit --json', data: audit.stdout });
    const rows = JSON.parse(audit.stdout) as Array<{ outcome: string; audience: string; tokenId: string | null }>;
    const row = rows.find((r) => r.outcome === 'issued' && r.audience === COGNITIVE_SERVICES);
    assert.ok(row !== undefined, audit.stdout);
    assert.equal(row.tokenId, claims.uti);
    firstToken = token;
    cached.add(`mi ${COGNITIVE_SERVICES}`);
  });

  test('50 concurrent cold requests for one resource cause exactly one upstream call', async () => {
    const secret = await createSession(server, 'mi');
    sessionSecrets.push(secret);
    assert.equal(host.tokenCalls(STORAGE).length, 0);
    const replies = await Promise.all(Array.from({ length: 50 }, () => msiToken(server, secret, STORAGE)));
    for (const r of replies) assert.equal(r.status, 200, r.text);
    const tokens = new Set(replies.map((r) => r.body.access_token as string));
    assert.equal(tokens.size, 1, 'every caller got the same upstream token');
    await host.signer.verify([...tokens][0] as string, STORAGE);
    assert.equal(host.tokenCalls(STORAGE).length, 1, 'one upstream call for 50 cold requests');
    cached.add(`mi ${STORAGE}`);
  });

  test('a 429 with Retry-After: 1 is waited out and retried, and the caller succeeds', async () => {
    const secret = await createSession(server, 'mi');
    sessionSecrets.push(secret);
    host.failNext(1, { status: 429, retryAfter: 1 });
    const r = await msiToken(server, secret, VAULT);
    assert.equal(r.status, 200, r.text);
    await host.signer.verify(r.body.access_token as string, VAULT);
    const calls = host.tokenCalls(VAULT);
    assert.deepEqual(calls.map((c) => c.status), [429, 200], 'one throttled call, then one retry (MSAL adds no retries of its own)');
    const gap = (calls[1]?.time ?? 0) - (calls[0]?.time ?? 0);
    assert.ok(gap >= 950, `the retry waited for Retry-After (gap ${gap} ms)`);
    cached.add(`mi ${VAULT}`);
  });

  test('a host refusal (400: no such identity) is final: 403 ERR_UPSTREAM_REJECTED after one call', async () => {
    const userClientId = randomUUID();
    await witsOk(['workspace', 'create', 'mi-user', '--source', 'managed-identity', '--client-id', userClientId, '--home', home]);
    const secret = await createSession(server, 'mi-user');
    sessionSecrets.push(secret);
    const refused = await msiToken(server, secret, COGNITIVE_SERVICES);
    assertWitsError(refused, 403, 'ERR_UPSTREAM_REJECTED');
    assert.match(refused.body.message, /Identity not found/);
    const userCalls = () => host.calls.filter((c) => c.query.client_id === userClientId);
    assert.equal(userCalls().length, 1, 'no retries of a final answer');
    assert.equal(userCalls()[0]?.status, 400);

    // Once the host has that user-assigned identity, the same workspace gets its token.
    host.userClientIds.add(userClientId);
    const ok = await msiToken(server, secret, COGNITIVE_SERVICES);
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.body.client_id, userClientId, 'the system identity shows the upstream client id');
    const claims = await host.signer.verify(ok.body.access_token as string, COGNITIVE_SERVICES);
    assert.equal(claims.appid, userClientId);
    assert.equal(userCalls().length, 2);
    cached.add(`mi-user ${COGNITIVE_SERVICES}`);
    // The rejection left the breaker closed: the upstream is up, the config was wrong.
    const status = sourceOf(await adminStatus(server), 'mi-user');
    assert.equal(status.health?.state, 'closed');
  });

  test('during an outage cached tokens are served and uncached requests fail fast with 503 + Retry-After', async () => {
    const secret = await createSession(server, 'mi');
    sessionSecrets.push(secret);
    const bound = UPSTREAM_TIMEOUT_SECONDS * 1000 + 1500;

    for (const outage of [{ status: 500 }, { hang: true as const }]) {
      host.setOutage(outage);
      const before = host.calls.length;
      const hit = await msiToken(server, secret, COGNITIVE_SERVICES);
      assert.equal(hit.status, 200, hit.text);
      assert.equal(hit.body.access_token, firstToken, 'the cached upstream token is served');
      assert.ok(hit.ms < 1000, `a cache hit does not wait for the upstream (${hit.ms} ms)`);
      assert.equal(host.calls.length, before, 'a cache hit makes no upstream call');

      const resource = 'hang' in outage ? GRAPH : MANAGEMENT;
      const miss = await msiToken(server, secret, resource);
      assertWitsError(miss, 503, 'ERR_SOURCE_UNAVAILABLE');
      assert.equal(miss.body.error, 'temporarily_unavailable');
      assert.match(miss.headers.get('retry-after') ?? '', /^[1-9]\d*$/, 'Retry-After on the 503');
      assert.ok(miss.ms <= bound, `the 503 came within the configured bound (${miss.ms} ms > ${bound} ms)`);
      const attempts = host.tokenCalls(resource).length;
      assert.ok(attempts >= 1 && attempts <= 4, `bounded attempts against the host (${attempts})`);
    }
    host.setOutage(null);
  });

  test('the circuit breaker opens after consecutive failures, stops upstream calls, and closes after the cooldown', async () => {
    const secret = await createSession(server, 'mi');
    sessionSecrets.push(secret);
    host.setOutage({ status: 500 });
    // Fail uncached requests until the breaker opens (threshold 5 consecutive failed calls).
    const open = await until('the breaker to open', async () => {
      const r = await msiToken(server, secret, DATABASE);
      assertWitsError(r, 503, 'ERR_SOURCE_UNAVAILABLE');
      const s = sourceOf(await adminStatus(server), 'mi');
      return s.health?.state === 'open' ? s : undefined;
    }, 30_000, 0);
    assert.equal(open.kind, 'managed-identity');
    assert.equal(open.health?.healthy, false);
    assert.ok((open.health?.consecutiveFailures ?? 0) >= 5, JSON.stringify(open));
    assert.match(open.health?.lastError ?? '', /500/, 'the last error names the upstream status');
    const openUntil = Date.parse(open.health?.openUntil ?? '');
    assert.ok(openUntil > Date.now(), JSON.stringify(open));

    // While open: fail fast with 503 + Retry-After, and the host sees no call at all (no background
    // retries either).
    const callsAtOpen = host.calls.length;
    const fast = await msiToken(server, secret, KUSTO);
    assertWitsError(fast, 503, 'ERR_SOURCE_UNAVAILABLE');
    assert.ok(Number(fast.body.retry_after) >= 1, fast.text);
    assert.ok(fast.ms < 500, `fails fast while open (${fast.ms} ms)`);
    assert.match(fast.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
    const cachedHit = await msiToken(server, secret, COGNITIVE_SERVICES);
    assert.equal(cachedHit.status, 200, 'cached tokens are still served while the circuit is open');
    await sleep(Math.max(0, Math.min(openUntil - Date.now() - 300, 1000)));
    assert.equal(host.calls.length, callsAtOpen, 'no upstream call while the circuit is open');

    // `wits status` shows the open circuit and the last error; --json the same as /admin/status.
    const human = await witsOk(['status', '--server', server.url, '--home', home]);
    extraHaystacks.push({ where: 'wits status', data: human.stdout + human.stderr });
    assert.match(human.stdout, /^mi\s+managed-identity\s+open\s/m, human.stdout);
    assert.match(human.stdout, /HTTP 500/, human.stdout);
    assert.match(human.stdout, /cached tokens:\s+\d+/, human.stdout);
    const json = JSON.parse((await witsOk(['status', '--json', '--server', server.url, '--home', home])).stdout) as { mode: string; sources: Array<{ workspace: string; health: { state: string } | null }> };
    assert.equal(json.mode, 'server');
    assert.equal(json.sources.find((s) => s.workspace === 'mi')?.health?.state, 'open');

    // After the cooldown one probe goes through; it succeeds and closes the circuit.
    host.setOutage(null);
    await sleep(Math.max(0, openUntil - Date.now() + 50));
    const probe = await msiToken(server, secret, KUSTO);
    assert.equal(probe.status, 200, probe.text);
    await host.signer.verify(probe.body.access_token as string, KUSTO);
    assert.equal(host.calls.length, callsAtOpen + 1, 'exactly one probe call');
    cached.add(`mi ${KUSTO}`);
    const closed = await adminStatus(server);
    const mi = sourceOf(closed, 'mi');
    assert.equal(mi.health?.state, 'closed');
    assert.equal(mi.health?.healthy, true);
    assert.equal(mi.health?.consecutiveFailures, 0);
    assert.ok(mi.health?.lastSuccessAt !== null && Date.parse(mi.health?.lastSuccessAt ?? '') >= openUntil);
    assert.match(mi.health?.lastError ?? '', /500/, 'the last error stays visible after recovery');
    assert.equal(closed.cachedTokens, cached.size, `cache size counts the cached upstream tokens (${[...cached].join(', ')})`);
    const humanClosed = await witsOk(['status', '--server', server.url, '--home', home]);
    assert.match(humanClosed.stdout, /^mi\s+managed-identity\s+closed\s/m, humanClosed.stdout);
    assert.match(humanClosed.stdout, new RegExp(`cached tokens:\\s+${cached.size}\\b`), humanClosed.stdout);
    assert.match(humanClosed.stdout, /^default\s+local\s+ok \(embedded\)/m, humanClosed.stdout);
  });
});

describe('managed-identity source, IMDS protocol of the host (AZURE_POD_IDENTITY_AUTHORITY_HOST)', () => {
  let host: ManagedIdentityHost;
  let server: WitsServer;
  let home: string;
  const userClientId = randomUUID();

  before(async () => {
    host = await ManagedIdentityHost.start();
    host.userClientIds.add(userClientId);
    home = tempDir('imds');
    server = await startWits(home, { ...host.imdsEnv(), WITS_UPSTREAM_TIMEOUT: '3' });
    await witsOk(['workspace', 'create', 'imds-user', '--source', 'managed-identity', '--client-id', userClientId, '--home', home]);
    await witsOk(['workspace', 'create', 'imds-system', '--source', 'managed-identity', '--home', home]);
  });

  after(async () => {
    if (home !== undefined) extraHaystacks.push(...databaseHaystacks(home));
    await server?.stop();
    await host?.close();
    collect('IMDS', host, server, home);
    if (home !== undefined) removeDir(home);
  });

  test('a workload gets the host token over IMDS for a user-assigned identity and the system one', async () => {
    const user = await execWorkload(server, 'imds-user', COGNITIVE_SERVICES);
    extraHaystacks.push({ where: 'wits exec stderr (imds)', data: user.run.stderr });
    assert.equal(user.status, 200, JSON.stringify(user.body));
    const claims = await host.signer.verify(user.body.access_token as string, COGNITIVE_SERVICES);
    assert.equal(claims.appid, userClientId);
    assert.equal(user.body.client_id, userClientId);
    assert.equal(host.calls.length, 1);
    const call = host.calls[0];
    assert.equal(call?.protocol, 'imds');
    assert.equal(call?.headers.metadata, 'true', 'IMDS calls carry Metadata: true');
    assert.equal(call?.headers['x-identity-header'], undefined);
    assert.equal(call?.query['api-version'], '2018-02-01');
    assert.equal(call?.query.resource, COGNITIVE_SERVICES);
    assert.equal(call?.query.client_id, userClientId);
    assert.equal(call?.status, 200);

    const system = await execWorkload(server, 'imds-system', COGNITIVE_SERVICES);
    assert.equal(system.status, 200, JSON.stringify(system.body));
    const systemClaims = decodeJwt(system.body.access_token as string);
    assert.equal(systemClaims.appid, host.systemClientId);
    await host.signer.verify(system.body.access_token as string, COGNITIVE_SERVICES);
    assert.equal(host.calls.length, 2);
    assert.equal(host.calls[1]?.query.client_id, undefined);
    assert.equal(host.calls[1]?.protocol, 'imds');
  });
});

describe('secrets', () => {
  test('no host token, IDENTITY_HEADER or session secret appears in logs, errors, audit rows or the database', async () => {
    // Collected by the describes above (they have stopped their servers by now).
    assert.ok(extraHaystacks.some((h) => h.where.startsWith('server log')), 'the server logs were captured');
    assert.ok(extraHaystacks.some((h) => h.where.endsWith('wits.db')), 'the database was captured');
    assert.ok(extraHaystacks.some((h) => h.where.endsWith('wits.db-wal')), 'the WAL was captured');
    const logs = extraHaystacks.filter((h) => h.where.startsWith('server log')).map((h) => String(h.data)).join('');
    assert.match(logs, /"level":"debug"|"level":"info"/, 'the logs are not empty (debug level)');
    const needles: Needle[] = [
      ...hostSecrets,
      ...sessionSecrets.map((s, i) => ({ what: `session secret ${i}`, value: s })),
    ];
    assert.ok(needles.length > 0);
    const haystacks: Haystack[] = [...extraHaystacks, { where: 'error bodies', data: errorBodies.join('\n') }];
    assert.ok(findLeaks(controlHaystacks, needles).length > 0, 'the scan finds a token where one is expected');
    assert.deepEqual(findLeaks(haystacks, needles), []);
  });
});
