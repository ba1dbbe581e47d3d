/**
 * Authentication and authorisation under attack (issue #5): no token without a valid secret.
 * Against `wits serve` (child process, debug log) and a session-bound IMDS endpoint:
 *
 * - fuzzed secrets: random strings and bytes, and near misses of real secrets (right id and a
 *   wrong random part, a wrong id with a right part, truncated, extended, case-flipped, one
 *   character changed, look-alike characters, other separators, the admin credential), over the
 *   App Service header, the native bearer (POST and GET), misplaced (query, wrong header) and
 *   duplicated headers: always 401 (or 400 for what is not even a request), never a token;
 * - revoked and expired sessions, including a session revoked (or expired) right after it got a
 *   token that stays cached in the service: refused at once, on every protocol;
 * - a workspace's session cannot select another workspace's identities (every selector
 *   spelling): 400 ERR_UNKNOWN_IDENTITY;
 * - IMDS requests with X-Forwarded-For or without `Metadata: true`: 400; the server's own IMDS
 *   path: 400;
 * - the admin API with session secrets and near misses of the admin credential: 401;
 * - positive controls prove each path does issue with the right secret;
 * - the audit has no `issued` row for a refused session, and the secrets scan finds nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { silentLogger } from '../../src/logger.js';
import { startImdsEndpoint, type ImdsEndpoint } from '../../src/protocols/imds.js';
import { rawRequest } from '../support/rawHttp.js';
import { removeDir, tempDir } from '../sources/harness.js';
import { adminCall, allAuditRows, count, databaseFiles, recordFigures, scaled, SCALE_NAME, SecretScan, sleep, startServe, tokenId, type ServeProcess } from './support.js';

const FUZZ_RUNS = scaled(1_500, 15_000);

interface Identity {
  readonly clientId: string;
  readonly objectId: string;
  readonly resourceId: string;
}

interface Answer {
  readonly status: number;
  readonly code: string | undefined;
  readonly text: string;
}

describe('no token without a valid secret', () => {
  const home = tempDir('reliability-auth');
  let server: ServeProcess;
  const scan = new SecretScan();
  const errorBodies: string[] = [];
  const attempts = new Map<string, number>();
  /** Token requests with every identity selector of both workspaces (some succeed, for their own workspace). */
  let selectorChecks = 0;
  const tokens = new Set<string>();
  /** Sessions that must never have an `issued` audit row after `since`. */
  const refusedSessions = new Map<string, number>();
  let a: { secret: string; id: string };
  let b: { secret: string; id: string };
  let identitiesA: Identity[] = [];
  let identitiesB: Identity[] = [];
  let imds: ImdsEndpoint;

  async function newSession(workspace: string, extra: Record<string, unknown> = {}): Promise<{ secret: string; id: string }> {
    const r = await adminCall(server.url, server.adminToken, 'POST', '/admin/sessions', { workspace, ttlSeconds: 86_400, ...extra });
    assert.equal(r.status, 201, r.text);
    const created = { secret: r.body.secret as string, id: r.body.id as string };
    scan.sessionSecret(`session secret ${created.id}`, created.secret);
    return created;
  }

  async function identitiesOf(workspace: string): Promise<Identity[]> {
    const r = await adminCall(server.url, server.adminToken, 'GET', `/admin/workspaces/${workspace}`);
    assert.equal(r.status, 200, r.text);
    return r.body.identities as Identity[];
  }

  before(async () => {
    server = await startServe(home);
    scan.adminCredential('admin credential', server.adminToken);
    assert.equal((await adminCall(server.url, server.adminToken, 'POST', '/admin/workspaces', { name: 'team-b' })).status, 201);
    for (const ws of ['default', 'team-b']) {
      // Distinct names: the ARM ids wits generates for user-assigned identities are built from
      // the name alone, so same-named identities of two workspaces share one (see the report).
      const r = await adminCall(server.url, server.adminToken, 'POST', `/admin/workspaces/${ws}/identities`, { name: `user-${ws}` });
      assert.equal(r.status, 201, r.text);
    }
    identitiesA = await identitiesOf('default');
    identitiesB = await identitiesOf('team-b');
    a = await newSession('default');
    b = await newSession('team-b');
    imds = await startImdsEndpoint({ serverUrl: server.url, secret: a.secret, logger: silentLogger });
  });

  after(async () => {
    await imds?.close();
    await server?.kill('SIGTERM');
    removeDir(home);
  });

  /** One raw request; remembers error bodies and any token. */
  async function send(port: number, lines: string[], body?: string): Promise<Answer> {
    let text = lines.join('\r\n') + '\r\nHost: 127.0.0.1\r\nConnection: close\r\n';
    if (body !== undefined) text += `Content-Length: ${Buffer.byteLength(body, 'latin1')}\r\n`;
    text += '\r\n' + (body ?? '');
    const method = lines[0]?.split(' ')[0] ?? 'GET';
    const result = await rawRequest(port, Buffer.from(text, 'latin1'), { method, timeoutMs: 30_000 });
    assert.ok(result.response !== undefined, `no response (${result.failure}) to ${JSON.stringify(text.slice(0, 300))}`);
    const responseText = result.response.body.toString('utf8');
    let parsed: { code?: string; access_token?: string } | undefined;
    try {
      parsed = JSON.parse(responseText) as typeof parsed;
    } catch {
      parsed = undefined;
    }
    assert.ok(result.response.status < 500, `5xx: ${result.response.status} ${responseText.slice(0, 300)}`);
    if (result.response.status >= 400) errorBodies.push(responseText);
    if (typeof parsed?.access_token === 'string') tokens.add(parsed.access_token);
    return { status: result.response.status, code: parsed?.code, text: responseText };
  }

  const serverPort = (): number => server.port;

  type Way = 'appservice' | 'native-post' | 'native-get' | 'native-form';
  const WAYS: readonly Way[] = ['appservice', 'native-post', 'native-get', 'native-form'];

  /** A token request presenting `secret` the way `way` does, for `audience`, with optional selector. */
  function tokenRequest(way: Way, secret: string, audience = 'Storage', selector?: readonly [string, string]): Promise<Answer> {
    const nativeName: Record<string, string> = { client_id: 'clientId', object_id: 'objectId', principal_id: 'objectId', mi_res_id: 'resourceId', msi_res_id: 'resourceId' };
    if (way === 'appservice') {
      const q = new URLSearchParams({ 'api-version': '2019-08-01', resource: audience, ...(selector === undefined ? {} : { [selector[0]]: selector[1] }) });
      return send(serverPort(), [`GET /msi/token?${q} HTTP/1.1`, `X-IDENTITY-HEADER: ${secret}`]);
    }
    const fields: Record<string, string> = { audience, ...(selector === undefined ? {} : { [nativeName[selector[0]] ?? selector[0]]: selector[1] }) };
    if (way === 'native-get') return send(serverPort(), [`GET /v1/token?${new URLSearchParams(fields)} HTTP/1.1`, `Authorization: Bearer ${secret}`]);
    if (way === 'native-form') {
      return send(serverPort(), ['POST /v1/token HTTP/1.1', `Authorization: Bearer ${secret}`, 'Content-Type: application/x-www-form-urlencoded'], new URLSearchParams(fields).toString());
    }
    return send(serverPort(), ['POST /v1/token HTTP/1.1', `Authorization: Bearer ${secret}`, 'Content-Type: application/json'], Buffer.from(JSON.stringify(fields), 'utf8').toString('latin1'));
  }

  function refused(category: string, answer: Answer, status: number, codes: readonly string[], what: string): void {
    count(attempts, category);
    assert.ok(!answer.text.includes('access_token'), `${category}: a token for ${what}: ${answer.text.slice(0, 200)}`);
    assert.equal(answer.status, status, `${category}: ${what} answered ${answer.status} ${answer.text.slice(0, 300)}`);
    assert.ok(answer.code !== undefined && codes.includes(answer.code), `${category}: ${what} answered ${answer.code}`);
  }

  test('positive controls: the right secret gets a token on every path', async () => {
    for (const way of WAYS) {
      const r = await tokenRequest(way, a.secret);
      assert.equal(r.status, 200, `${way}: ${r.text}`);
      const rb = await tokenRequest(way, b.secret, 'Vault', ['client_id', (identitiesB[1] as Identity).clientId]);
      assert.equal(rb.status, 200, `${way} (team-b user identity): ${rb.text}`);
    }
    const viaImds = await send(Number(new URL(imds.url).port), ['GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://storage.azure.com HTTP/1.1', 'Metadata: true']);
    assert.equal(viaImds.status, 200, viaImds.text);
  });

  test('fuzzed and near-miss secrets never get a token', { timeout: scaled(300_000, 3_600_000) }, async (t) => {
    const valid = [a.secret, b.secret];
    const [, idA = '', partA = ''] = a.secret.split('.');
    const [, idB = '', partB = ''] = b.secret.split('.');
    const b64 = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_');
    const flipCase = (s: string, i: number): string => {
      const ch = s[i] ?? '';
      const flipped = ch === ch.toUpperCase() ? ch.toLowerCase() : ch.toUpperCase();
      return s.slice(0, i) + flipped + s.slice(i + 1);
    };
    const replaceAt = (s: string, i: number, ch: string): string => s.slice(0, i) + ch + s.slice(i + 1);
    const nearMiss = fc.oneof(
      // right id, wrong random part
      fc.tuple(fc.constantFrom(idA, idB), fc.string({ unit: b64, minLength: 43, maxLength: 43 })).map(([id, part]) => `wits.${id}.${part}`),
      fc.constant(`wits.${idA}.${partB}`),
      fc.constant(`wits.${idB}.${partA}`),
      // wrong id, right part
      fc.tuple(fc.string({ unit: b64, minLength: 22, maxLength: 22 }), fc.constantFrom(partA, partB)).map(([id, part]) => `wits.${id}.${part}`),
      // one character changed, case-flipped, truncated, extended
      fc.tuple(fc.constantFrom(...valid), fc.nat(), fc.constantFrom(...'Aa0-_Zz9')).map(([s, i, ch]) => replaceAt(s, 5 + (i % (s.length - 5)), ch)),
      fc.tuple(fc.constantFrom(...valid), fc.nat()).map(([s, i]) => flipCase(s, 5 + (i % (s.length - 5)))),
      fc.constantFrom(...valid).map((s) => s.toUpperCase()),
      fc.constantFrom(...valid).map((s) => s.toLowerCase()),
      fc.tuple(fc.constantFrom(...valid), fc.nat()).map(([s, n]) => s.slice(0, n % s.length)),
      fc.tuple(fc.constantFrom(...valid), fc.string({ unit: fc.constantFrom(...'Aa0-_.=/+'), minLength: 1, maxLength: 4 })).map(([s, x]) => s + x),
      fc.tuple(fc.constantFrom(...'Aa0-_.=/+'), fc.constantFrom(...valid)).map(([x, s]) => x + s),
      // other separators and prefixes, base64 (not base64url) alphabet, look-alikes
      fc.constantFrom(...valid).chain((s) =>
        fc.constantFrom(s.replace(/\./g, '_'), s.replace(/\./g, ':'), `WITS${s.slice(4)}`, `wits-${s.slice(5)}`, s.replace(/-/g, '+').replace(/_/g, '/'), s.replace(/a/, '\u0430'), s.replace(/\./, '\u2024'), `${s}\u0000`, `${s}%00`, encodeURIComponent(s).replace(/\./g, '%2E')),
      ),
      fc.constant(server.adminToken),
      fc.constant(`wits.${server.adminToken.split('.')[1] ?? ''}`),
    );
    const random = fc.oneof(fc.string({ maxLength: 100 }), fc.string({ unit: 'binary', maxLength: 60 }).map((s) => Buffer.from(s, 'utf8').toString('latin1')), fc.uint8Array({ maxLength: 80 }).map((u) => Buffer.from(u).toString('latin1')));
    const candidate = fc
      .oneof({ weight: 3, arbitrary: nearMiss }, { weight: 1, arbitrary: random })
      .map((s) => s.replace(/[\r\n]/g, ''))
      // What HTTP itself strips (surrounding whitespace) would leave the real secret: not a miss.
      .filter((s) => !valid.includes(s.replace(/^[ \t]+|[ \t]+$/g, '')));
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(candidate, fc.constantFrom(...WAYS), async (secret, way) => {
        runs++;
        const answer = await tokenRequest(way, secret);
        // Bytes that are not valid in a header value make the request itself malformed (400).
        const malformed = answer.status === 400 && answer.code === 'ERR_INVALID_REQUEST';
        if (malformed) {
          count(attempts, 'fuzzed or near-miss secret (malformed header)');
          assert.ok(!answer.text.includes('access_token'));
          return;
        }
        refused('fuzzed or near-miss secret', answer, 401, ['ERR_UNAUTHENTICATED'], JSON.stringify(secret.slice(0, 80)));
      }),
      { numRuns: FUZZ_RUNS },
    );
    t.diagnostic(`fuzzed and near-miss secrets: ${runs} attempts`);
  });

  test('a valid secret in the wrong place, or next to another value, gets no token', async () => {
    const placements: Array<[string, () => Promise<Answer>]> = [
      ['secret in the query', () => send(serverPort(), [`GET /msi/token?api-version=2019-08-01&resource=Storage&X-IDENTITY-HEADER=${encodeURIComponent(a.secret)} HTTP/1.1`])],
      ['secret as a bearer on /msi/token', () => send(serverPort(), ['GET /msi/token?api-version=2019-08-01&resource=Storage HTTP/1.1', `Authorization: Bearer ${a.secret}`])],
      ['secret in X-IDENTITY-HEADER on /v1/token', () => send(serverPort(), ['GET /v1/token?audience=Storage HTTP/1.1', `X-IDENTITY-HEADER: ${a.secret}`])],
      ['secret in the JSON body', () => send(serverPort(), ['POST /v1/token HTTP/1.1', 'Content-Type: application/json'], JSON.stringify({ audience: 'Storage', secret: a.secret, authorization: `Bearer ${a.secret}` }))],
      ['secret as Basic credentials', () => send(serverPort(), ['GET /v1/token?audience=Storage HTTP/1.1', `Authorization: Basic ${Buffer.from(`x:${a.secret}`).toString('base64')}`])],
      ['secret without the Bearer scheme', () => send(serverPort(), ['GET /v1/token?audience=Storage HTTP/1.1', `Authorization: ${a.secret}`])],
      ['two secrets in one bearer', () => send(serverPort(), ['GET /v1/token?audience=Storage HTTP/1.1', `Authorization: Bearer ${a.secret} ${b.secret}`])],
      ['X-IDENTITY-HEADER twice (valid, then junk)', () => send(serverPort(), ['GET /msi/token?api-version=2019-08-01&resource=Storage HTTP/1.1', `X-IDENTITY-HEADER: ${a.secret}`, 'X-IDENTITY-HEADER: junk'])],
      ['X-IDENTITY-HEADER twice (both valid)', () => send(serverPort(), ['GET /msi/token?api-version=2019-08-01&resource=Storage HTTP/1.1', `X-IDENTITY-HEADER: ${a.secret}`, `X-IDENTITY-HEADER: ${a.secret}`])],
      ['secret in a cookie', () => send(serverPort(), ['GET /msi/token?api-version=2019-08-01&resource=Storage HTTP/1.1', `Cookie: X-IDENTITY-HEADER=${a.secret}`])],
    ];
    for (const [what, run] of placements) {
      const answer = await run();
      count(attempts, 'misplaced secret');
      assert.ok(!answer.text.includes('access_token'), `${what}: ${answer.text.slice(0, 200)}`);
      assert.ok(answer.status === 401 || answer.status === 400, `${what}: ${answer.status} ${answer.text.slice(0, 200)}`);
    }
  });

  test('revoked and expired sessions get no token, on every protocol, even with tokens cached', { timeout: 120_000 }, async () => {
    // Sessions that got tokens (now cached in the service for their identity and resource) first.
    const revoked = await newSession('default');
    const expiringSince = Date.now();
    const expiring = await newSession('default', { ttlSeconds: 8 });
    const audiences = ['Storage', 'Vault', 'https://management.azure.com', 'api://some-app'];
    for (const s of [revoked, expiring]) for (const aud of audiences) assert.equal((await tokenRequest('appservice', s.secret, aud)).status, 200);
    const revokedImds = await startImdsEndpoint({ serverUrl: server.url, secret: revoked.secret, logger: silentLogger });
    try {
      assert.equal((await send(Number(new URL(revokedImds.url).port), ['GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://storage.azure.com HTTP/1.1', 'Metadata: true'])).status, 200);
      const r = await adminCall(server.url, server.adminToken, 'POST', `/admin/sessions/${revoked.id}/revoke`);
      assert.equal(r.status, 200, r.text);
      refusedSessions.set(revoked.id, Date.now());
      for (const way of WAYS) for (const aud of audiences) refused('revoked session', await tokenRequest(way, revoked.secret, aud), 401, ['ERR_SESSION_REVOKED'], `${way} ${aud}`);
      for (let i = 0; i < 5; i++) {
        refused('revoked session', await send(Number(new URL(revokedImds.url).port), ['GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://storage.azure.com HTTP/1.1', 'Metadata: true']), 401, ['ERR_SESSION_REVOKED'], 'IMDS');
      }
    } finally {
      await revokedImds.close();
    }
    // Expiry: wait it out, then the same.
    await sleep(Math.max(0, expiringSince + 8_300 - Date.now()));
    refusedSessions.set(expiring.id, Date.now());
    for (const way of WAYS) for (const aud of audiences) refused('expired session', await tokenRequest(way, expiring.secret, aud), 401, ['ERR_SESSION_EXPIRED'], `${way} ${aud}`);
  });

  test("a workspace's session cannot select another workspace's identities", async () => {
    const selectorsOf = (i: Identity): Array<readonly [string, string]> => [
      ['client_id', i.clientId],
      ['client_id', i.clientId.toUpperCase()],
      ['object_id', i.objectId],
      ['principal_id', i.objectId],
      ['mi_res_id', i.resourceId],
      ['msi_res_id', i.resourceId],
    ];
    const cases: Array<[string, Identity[]]> = [
      [b.secret, identitiesA],
      [a.secret, identitiesB],
    ];
    for (const [secret, foreign] of cases) {
      for (const identity of foreign) {
        for (const selector of selectorsOf(identity)) {
          for (const way of WAYS) {
            if (way !== 'appservice' && selector[0] === 'principal_id') continue;
            refused('other workspace identity', await tokenRequest(way, secret, 'Storage', selector), 400, ['ERR_UNKNOWN_IDENTITY'], `${way} ${selector[0]}`);
          }
        }
      }
    }
    // Whatever the selector, a token issued to a session is for an identity of its own workspace.
    for (const [secret, own] of [[a.secret, identitiesA], [b.secret, identitiesB]] as const) {
      for (const identity of [...identitiesA, ...identitiesB]) {
        for (const selector of selectorsOf(identity)) {
          const answer = await tokenRequest('appservice', secret, 'Storage', selector);
          selectorChecks++;
          if (answer.status !== 200) continue;
          const clientId = (JSON.parse(answer.text) as { client_id: string }).client_id;
          assert.ok(own.some((i) => i.clientId === clientId), `a token for a foreign identity ${clientId}`);
        }
      }
    }
    // Through IMDS (bound to team default's session) with team-b's identities.
    const port = Number(new URL(imds.url).port);
    for (const identity of identitiesB) {
      for (const [name, value] of [['client_id', identity.clientId], ['object_id', identity.objectId], ['msi_res_id', identity.resourceId], ['mi_res_id', identity.resourceId]] as const) {
        const q = new URLSearchParams({ 'api-version': '2018-02-01', resource: 'https://storage.azure.com', [name]: value });
        refused('other workspace identity', await send(port, [`GET /metadata/identity/oauth2/token?${q} HTTP/1.1`, 'Metadata: true']), 400, ['ERR_UNKNOWN_IDENTITY'], `IMDS ${name}`);
      }
    }
  });

  test('IMDS: X-Forwarded-For or no `Metadata: true` gets a 400, never a token', async () => {
    const port = Number(new URL(imds.url).port);
    const target = 'GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://storage.azure.com HTTP/1.1';
    const forwarded = ['X-Forwarded-For: 10.0.0.1', 'x-forwarded-for: 127.0.0.1', 'X-FORWARDED-FOR: ', 'X-Forwarded-For: 169.254.169.254, 10.1.1.1', 'X-Forwarded-For: unknown'];
    for (const xff of forwarded) {
      for (const path of [target, target.replace('/token?', '/token/?'), target.replace('GET', 'POST')]) {
        refused('IMDS with X-Forwarded-For', await send(port, [path, 'Metadata: true', xff]), 400, ['ERR_FORWARDED_REQUEST'], xff);
      }
    }
    for (const metadata of [undefined, 'Metadata: false', 'Metadata: 1', 'Metadata: yes', 'Metadata:', 'Metadata: true, true', 'Meta-Data: true', 'X-Metadata: true']) {
      for (const path of [target, target.replace('/token?', '/token/?')]) {
        const lines = metadata === undefined ? [path] : [path, metadata];
        refused('IMDS without Metadata: true', await send(port, lines), 400, ['ERR_METADATA_HEADER_REQUIRED'], String(metadata));
      }
    }
    // The server's own IMDS path serves nobody (IMDS carries no secret).
    for (const headers of [['Metadata: true'], ['Metadata: true', `X-IDENTITY-HEADER: ${a.secret}`], ['Metadata: true', `Authorization: Bearer ${a.secret}`]]) {
      refused('IMDS path on the server', await send(serverPort(), [target, ...headers]), 400, ['ERR_INVALID_REQUEST'], headers.join(' '));
    }
  });

  test('the admin API refuses session secrets and near misses of the admin credential', async () => {
    const admin = server.adminToken;
    const nearAdmin = [a.secret, b.secret, admin.slice(0, -1), `${admin}x`, admin.toUpperCase(), `witsadm.${'A'.repeat(43)}`, admin.replace('witsadm.', 'wits.'), `${admin},${admin}`, '', ' '];
    for (const credential of nearAdmin) {
      for (const [method, path, body] of [['GET', '/admin/sessions', undefined], ['POST', '/admin/sessions', '{"workspace":"default"}'], ['GET', '/admin/audit', undefined], ['POST', '/admin/workspaces', '{"name":"evil"}']] as const) {
        const answer = await send(serverPort(), [`${method} ${path} HTTP/1.1`, `Authorization: Bearer ${credential}`, ...(body === undefined ? [] : ['Content-Type: application/json'])], body);
        refused('admin API with a wrong credential', answer, 401, ['ERR_ADMIN_UNAUTHENTICATED'], `${method} ${path}`);
        assert.ok(!answer.text.includes('"secret"'), 'no session created');
      }
    }
  });

  test('the audit shows no token for refused sessions; the secrets scan finds nothing', async (t) => {
    const audit = await allAuditRows(server.url, server.adminToken);
    const issuedAfterRefusal = audit.rows.filter((r) => r.outcome === 'issued' && r.sessionId !== null && refusedSessions.has(r.sessionId) && Date.parse(r.time) >= (refusedSessions.get(r.sessionId) as number));
    assert.deepEqual(issuedAfterRefusal, []);
    const crossWorkspace = audit.rows.filter(
      (r) => r.outcome === 'issued' && ((r.sessionId === b.id && identitiesA.some((i) => i.clientId === r.identity)) || (r.sessionId === a.id && identitiesB.some((i) => i.clientId === r.identity))),
    );
    assert.deepEqual(crossWorkspace, []);
    const refusals = audit.rows.filter((r) => r.outcome === 'refused').length;

    let n = 0;
    for (const token of tokens) {
      scan.token(`token ${n++}`, token);
      assert.ok(tokenId(token) !== undefined);
    }
    await imds.close();
    await server.kill('SIGTERM');
    scan.haystack('wits serve log (debug)', server.logs());
    scan.haystack('error bodies', errorBodies.join('\n'));
    scan.haystack('audit listing', audit.text.join('\n'));
    for (const f of databaseFiles(home)) scan.haystack(f.where, f.data);
    const result = scan.scan();
    assert.deepEqual(result.hits.slice(0, 20), []);

    const total = [...attempts.values()].reduce((x, y) => x + y, 0);
    t.diagnostic(`${total} refused attempts, none got a token: ${JSON.stringify(Object.fromEntries(attempts))}; ${selectorChecks} selector checks, every token for the session's own workspace`);
    t.diagnostic(`audit: ${audit.rows.length} rows, ${refusals} refusals; secrets scan: ${result.needles} needles in ${result.haystacks} haystacks (${result.bytes} bytes): ${result.hits.length} hits`);
    recordFigures('auth', {
      scale: SCALE_NAME,
      refusedAttempts: total,
      byCategory: Object.fromEntries(attempts),
      tokensWithoutValidSecret: 0,
      selectorChecks,
      auditRows: audit.rows.length,
      auditRefusals: refusals,
      secretScan: { needles: result.needles, haystacks: result.haystacks, bytes: result.bytes, hits: result.hits.length },
    });
  });
});
