/**
 * Fuzzing for the reliability suite (issue #5), with case counts for docs/reliability.md:
 *
 * - the audience parser (pure): any input resolves to a canonical resource that is a fixed point,
 *   or is refused with a 4xx WitsError of a documented audience code and a short single-line
 *   ASCII message; never a TypeError, never a 5xx;
 * - every HTTP endpoint of a live server over raw sockets (methods, headers, query, bodies,
 *   sizes, encodings, framing, garbage), and the session-bound IMDS endpoint: a complete response
 *   every time, no 5xx, every error a JSON object with a documented ERR_ code, no access_token
 *   without a valid session secret, the server up at the end;
 * - the secrets scan over the debug log, every error body, the audit listing and the database.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { ALIAS_LOOKUP_NAMES } from '../../src/audiences/registry.js';
import { CLOUDS } from '../../src/audiences/cloud.js';
import { resolveAudience } from '../../src/audiences/resolve.js';
import { WitsError } from '../../src/errors.js';
import { startImdsEndpoint } from '../../src/protocols/imds.js';
import { memoryLogger, type MemoryLogger } from '../support/logger.js';
import { rawRequest, type RawResult } from '../support/rawHttp.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { checkResponse, percentEncode, requests, serialize, type FuzzContext, type FuzzRequest } from '../support/httpFuzz.js';
import { allAuditRows, count, databaseFiles, recordFigures, scaled, SCALE_NAME, SecretScan, sleep } from './support.js';

const AUDIENCE_RUNS = scaled(4_000, 50_000);
const HTTP_RUNS = { wellFormed: scaled(2_000, 20_000), token: scaled(2_000, 20_000), admin: scaled(1_000, 10_000), any: scaled(800, 8_000), imds: scaled(800, 8_000) };
const AUDIENCE_CODES = new Set(['ERR_MISSING_AUDIENCE', 'ERR_INVALID_AUDIENCE', 'ERR_UNKNOWN_AUDIENCE', 'ERR_AUDIENCE_UNAVAILABLE_IN_CLOUD']);
const RESOURCE_SHAPE = /^(https:\/\/|api:\/\/|[0-9a-f-]{36}$)/;

const figures: Record<string, unknown> = {};
const audienceCases: Record<string, number> = {};
const httpCases: Record<string, number> = {};
const statuses = new Map<number, number>();
const codes = new Map<string, number>();

describe('audience parser fuzzing', () => {
  const cloud = fc.constantFrom(...CLOUDS);
  const piece = fc.oneof(
    fc.constantFrom(
      'https://', 'HTTPS://', 'http://', 'api://', 'API://', 'ftp://', 'https:', '//', '/', '.', '..', '/.default', '.default', '/.DEFAULT',
      ':', ':443', ':0', '@', '?', '#', '%2e', '%2F', '%', '%00', '\\', '[', ']', '::1', '[::ffff:127.0.0.1]', '169.254.169.254', '0x7f.1', 'localhost',
      '-', '_', '~', ' ', '\t', '\n', '\r', '\u0000', '\u043e', '\u00a0', '\u200b', '\ufeff', '\ud800', '\ud83d\ude00', 'xn--', 'storage', 'azure', 'com', 'net', 'windows',
      '2ff814a6-3304-4ab8-85cb-cd0e6f879c1d', 'ABCDEF01-2345-6789-ABCD-EF0123456789', 'a'.repeat(63), 'a'.repeat(64),
    ),
    fc.constantFrom(...ALIAS_LOOKUP_NAMES),
    fc.string({ maxLength: 6 }),
    fc.string({ unit: 'binary', maxLength: 4 }),
    fc.stringMatching(/^[a-z0-9-]{1,12}$/),
  );
  const mixed = fc.array(piece, { maxLength: 14 }).map((parts) => parts.join(''));
  const properties: ReadonlyArray<readonly [string, fc.Arbitrary<string>]> = [
    ['printable ASCII', fc.string({ maxLength: 80 })],
    ['any code point', fc.string({ unit: 'binary', maxLength: 80 })],
    ['graphemes', fc.string({ unit: 'grapheme', maxLength: 40 })],
    ['around the length limit', fc.string({ minLength: 480, maxLength: 560 })],
    ['web URLs', fc.webUrl({ validSchemes: ['https', 'http', 'api', 'ftp'], withQueryParameters: true, withFragments: true, authoritySettings: { withUserInfo: true, withPort: true, withIPv4: true, withIPv6: true } })],
    ['web URLs with /.default', fc.webUrl().map((url) => `${url}/.default`)],
    ['mixed-case aliases with padding', fc.tuple(fc.constantFrom(...ALIAS_LOOKUP_NAMES).chain((n) => fc.mixedCase(fc.constant(n))), fc.stringMatching(/^[ \t\r\n\u00a0]{0,3}$/)).map(([n, p]) => p + n + p)],
    ['fragments of URIs, aliases and hostile characters', mixed],
    ['https:// + fragments', mixed.map((rest) => `https://${rest}`)],
    ['api:// + fragments', mixed.map((rest) => `api://${rest}`)],
    ['percent-encoded fragments', mixed.map((rest) => `https://${percentEncode(rest)}`)],
    ['GUIDs, mangled', fc.uuid().chain((u) => fc.mixedCase(fc.constant(u))).chain((u) => fc.constantFrom(u, `${u}/.default`, `{${u}}`, u.replace(/-/g, ''), `${u}x`, `api://${u}`))],
  ];

  for (const [name, arbitrary] of properties) {
    test(`audience: ${name}`, () => {
      let runs = 0;
      fc.assert(
        fc.property(arbitrary, cloud, (input, c) => {
          runs++;
          let resource: string;
          try {
            resource = resolveAudience(input, c).resource;
          } catch (err) {
            assert.ok(err instanceof WitsError, `not a WitsError: ${String(err)}`);
            assert.equal(err.status, 400, `status ${err.status}`);
            assert.ok(AUDIENCE_CODES.has(err.code), `code ${err.code}`);
            assert.ok(err.message.length < 1000, `message of ${err.message.length} characters`);
            assert.match(err.message, /^[\x20-\x7e]+$/);
            return;
          }
          assert.match(resource, RESOURCE_SHAPE);
          assert.equal(resolveAudience(resource, c).resource, resource, `${resource} is not canonical`);
        }),
        { numRuns: AUDIENCE_RUNS },
      );
      audienceCases[name] = runs;
    });
  }

  test('non-string audiences (what JSON bodies may carry) are 400s', () => {
    let runs = 0;
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.constant(undefined)), (value) => {
        fc.pre(typeof value !== 'string');
        runs++;
        assert.throws(() => resolveAudience(value as unknown as string, 'AzureCloud'), (err: unknown) => err instanceof WitsError && err.status === 400);
      }),
      { numRuns: Math.ceil(AUDIENCE_RUNS / 4) },
    );
    audienceCases['non-string values'] = runs;
  });
});

describe('HTTP fuzzing of every endpoint (live server, raw sockets)', () => {
  let server: TestServer;
  let log: MemoryLogger;
  let ctx: FuzzContext;
  let stableSecret: string;
  const scan = new SecretScan();
  const errorBodies: string[] = [];
  /** Secrets of sessions the fuzzer itself created through the admin API (they are secrets too). */
  const createdSecrets = new Set<string>();
  const tokens = new Set<string>();
  const t0 = Date.now();

  before(async () => {
    log = memoryLogger('debug');
    server = await startTestServer({ logger: log });
    const admin = server.app.admin;
    await admin.createWorkspace({ name: 'other' });
    const secrets = [
      (await admin.createSession({ workspace: 'default', ttlSeconds: 86_400 })).secret,
      (await admin.createSession({ workspace: 'other', ttlSeconds: 86_400 })).secret,
    ];
    const revoked = await admin.createSession({ workspace: 'default' });
    await admin.revokeSession(revoked.id);
    const expired = await admin.createSession({ workspace: 'default', ttlSeconds: 1 });
    const fuzzable = await admin.createSession({ workspace: 'default' }); // may be revoked by the fuzzer
    const users = [await admin.addIdentity('default', { name: 'fuzz-user' }), await admin.addIdentity('other', { name: 'other-user' })];
    await admin.createWorkspace({ name: 'narrow', allowedAudiences: ['Vault'] });
    await admin.createWorkspace({ name: 'stable-ws' });
    stableSecret = (await admin.createSession({ workspace: 'stable-ws', ttlSeconds: 86_400 })).secret;
    await sleep(1_100); // the 1-second session has expired
    ctx = {
      secrets,
      badSecrets: [revoked.secret, expired.secret],
      adminToken: server.adminToken,
      selectors: users.flatMap((u) => [u.clientId, u.objectId, u.resourceId]),
      sessionIds: [fuzzable.id],
      workspaces: ['default', 'other', 'narrow', 'ghost'],
    };
    for (const s of [...secrets, revoked.secret, expired.secret, fuzzable.secret, stableSecret]) scan.sessionSecret('session secret', s);
    scan.adminCredential('admin credential', server.adminToken);
  });

  after(async () => {
    await server?.close();
  });

  async function assertUp(port = server.port): Promise<void> {
    if (port === server.port) {
      const result = await rawRequest(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', { timeoutMs: 30_000 });
      assert.equal(result.response?.status, 200, 'the server is still up');
    } else {
      // The IMDS endpoint serves one path: its availability probe (no Metadata header) is a 400.
      const result = await rawRequest(port, 'GET /metadata/identity/oauth2/token HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', { timeoutMs: 30_000 });
      assert.equal(result.response?.status, 400, 'the IMDS endpoint is still up');
    }
  }

  function remember(result: RawResult): void {
    const response = result.response;
    if (response === undefined) return;
    const text = response.body.toString('utf8');
    if (response.status >= 300) errorBodies.push(text);
    else if (response.status < 300 && text.includes('"secret"')) {
      try {
        const secret = (JSON.parse(text) as { secret?: unknown }).secret;
        if (typeof secret === 'string') createdSecrets.add(secret);
      } catch {
        // not JSON: the property reports it
      }
    }
    if (text.includes('access_token')) {
      try {
        const token = (JSON.parse(text) as { access_token?: unknown }).access_token;
        if (typeof token === 'string') tokens.add(token);
      } catch {
        // idem
      }
    }
  }

  async function runProperty(t: { diagnostic(message: string): void }, name: string, arbitrary: fc.Arbitrary<FuzzRequest>, numRuns: number, options: { port?: number; alwaysMayIssue?: boolean } = {}): Promise<void> {
    const port = options.port ?? server.port;
    const valid = ctx.secrets;
    let runs = 0;
    const details = await fc.check(
      fc.asyncProperty(arbitrary, async (r) => {
        runs++;
        const bytes = serialize(r);
        const result = await rawRequest(port, bytes, { method: r.method, timeoutMs: 30_000 });
        count(statuses, result.response?.status ?? 0);
        remember(result);
        const text = bytes.toString('latin1');
        const mayIssue = options.alwaysMayIssue === true || valid.some((s) => text.includes(s));
        const code = checkResponse(result, r.method, bytes, mayIssue);
        if (code !== undefined) count(codes, code);
      }),
      { numRuns, endOnFailure: true },
    );
    httpCases[name] = runs;
    if (details.failed) {
      const reason = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
      assert.fail(`${name}: property failed after ${details.numRuns} runs (seed ${details.seed}, path ${details.counterexamplePath}):\n${reason.slice(0, 4_000)}`);
    }
    t.diagnostic(`${name}: ${runs} cases`);
    await assertUp(port);
  }

  test('token endpoints (/msi/token, /v1/token)', { timeout: scaled(300_000, 3_600_000) }, async (t) => {
    const base = requests(ctx, ({ query }) =>
      fc.tuple(fc.constantFrom('/msi/token', '/v1/token', '/msi/token/', '/v1/token?'), fc.option(query, { nil: undefined, freq: 5 })).map(([p, q]) => (q === undefined ? p : `${p}?${q}`)),
    );
    // Half the requests carry a valid credential in the right place with a method the endpoint
    // serves, so that the fuzzing reaches audience resolution, identity selection, policy and the cache.
    const tuned = base.chain((r) =>
      fc.tuple(fc.boolean(), fc.boolean(), fc.constantFrom(...ctx.secrets)).map(([withSecret, usualMethod, secret]): FuzzRequest => {
        const appService = r.target.startsWith('/msi/token');
        const credential = appService ? (['X-IDENTITY-HEADER', secret] as const) : (['Authorization', `Bearer ${secret}`] as const);
        return { ...r, headers: withSecret ? [credential, ...r.headers] : r.headers, method: usualMethod ? (appService || r.method === 'GET' ? 'GET' : 'POST') : r.method };
      }),
    );
    await runProperty(t, 'token endpoints', tuned, HTTP_RUNS.token);
  });

  test('well-formed token requests with fuzzed audiences, selectors and secrets (every protocol)', { timeout: scaled(300_000, 3_600_000) }, async (t) => {
    const audience = fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...ALIAS_LOOKUP_NAMES).chain((n) => fc.mixedCase(fc.constant(n))) },
      { weight: 2, arbitrary: fc.webUrl({ validSchemes: ['https', 'api'] }).chain((u) => fc.constantFrom(u, `${u}/.default`)) },
      { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) },
      { weight: 1, arbitrary: fc.string({ minLength: 500, maxLength: 600 }) },
      { weight: 1, arbitrary: fc.uuid() },
    );
    const selector = fc.option(
      fc.tuple(fc.constantFrom('client_id', 'object_id', 'mi_res_id', 'msi_res_id', 'principal_id'), fc.oneof(fc.constantFrom(...ctx.selectors), fc.uuid())),
      { nil: undefined, freq: 2 },
    );
    const nativeName: Record<string, string> = { client_id: 'clientId', object_id: 'objectId', mi_res_id: 'resourceId', msi_res_id: 'resourceId', principal_id: 'objectId' };
    const arbitrary = fc
      .record({
        protocol: fc.constantFrom('appservice', 'native-json', 'native-form', 'native-get'),
        secret: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...ctx.secrets) }, { weight: 1, arbitrary: fc.constantFrom(...ctx.badSecrets) }),
        field: fc.constantFrom('audience', 'resource', 'scope'),
        audience,
        selector,
        extra: fc.array(fc.tuple(fc.stringMatching(/^x-[a-z]{1,8}$/), fc.string({ maxLength: 20 })), { maxLength: 3 }),
      })
      .map(({ protocol, secret, field, audience: value, selector: sel, extra }): FuzzRequest => {
        const headers: Array<readonly [string, string]> = extra.map(([k, v]) => [k, v.replace(/[\r\n]/g, '')] as const);
        if (protocol === 'appservice') {
          const q = new URLSearchParams({ 'api-version': '2019-08-01', resource: value });
          if (sel !== undefined) q.set(sel[0], sel[1]);
          return { method: 'GET', target: `/msi/token?${q}`, version: 'HTTP/1.1', host: true, headers: [['X-IDENTITY-HEADER', secret], ...headers], body: undefined, chunked: false };
        }
        const fields: Record<string, string> = { [field]: value };
        if (sel !== undefined) fields[nativeName[sel[0]] as string] = sel[1];
        const auth = ['Authorization', `Bearer ${secret}`] as const;
        if (protocol === 'native-get') return { method: 'GET', target: `/v1/token?${new URLSearchParams(fields)}`, version: 'HTTP/1.1', host: true, headers: [auth, ...headers], body: undefined, chunked: false };
        const json = protocol === 'native-json';
        return {
          method: 'POST',
          target: '/v1/token',
          version: 'HTTP/1.1',
          host: true,
          headers: [auth, ['Content-Type', json ? 'application/json' : 'application/x-www-form-urlencoded'], ...headers],
          body: Buffer.from(json ? JSON.stringify(fields) : new URLSearchParams(fields).toString(), 'utf8').toString('latin1'),
          chunked: false,
        };
      });
    await runProperty(t, 'well-formed token requests', arbitrary, HTTP_RUNS.wellFormed);
  });

  test('admin API, with and without the credential', { timeout: scaled(300_000, 3_600_000) }, async (t) => {
    const adminPath = fc.constantFrom(
      '/admin/workspaces',
      '/admin/workspaces/default',
      '/admin/workspaces/narrow',
      '/admin/workspaces/%zz',
      '/admin/workspaces/default/identities',
      '/admin/workspaces/ghost/identities',
      '/admin/sessions',
      ...ctx.sessionIds.flatMap((id) => [`/admin/sessions/${id}`, `/admin/sessions/${id}/revoke`]),
      '/admin/sessions/nope/revoke',
      '/admin/audit',
      '/admin/status',
      '/admin/',
      '/admin/x/y/z/w',
    );
    const base = requests(ctx, ({ query }) => fc.tuple(adminPath, fc.option(query, { nil: undefined, freq: 2 })).map(([p, q]) => (q === undefined ? p : `${p}?${q}`)));
    const withCredential = base.chain((r) => fc.boolean().map((useAdmin) => (useAdmin ? { ...r, headers: [['Authorization', `Bearer ${server.adminToken}`] as const, ...r.headers] } : r)));
    await runProperty(t, 'admin API', withCredential, HTTP_RUNS.admin);
  });

  test('any path: discovery, health, IMDS path on the server, unknown paths', { timeout: scaled(300_000, 3_600_000) }, async (t) => {
    await runProperty(t, 'any path', requests(ctx, ({ target }) => target), HTTP_RUNS.any);
  });

  test('the session-bound IMDS endpoint (wits exec --imds)', { timeout: scaled(300_000, 3_600_000) }, async (t) => {
    const imdsSecret = (await server.app.admin.createSession({ workspace: 'default', ttlSeconds: 86_400 })).secret;
    scan.sessionSecret('IMDS session secret', imdsSecret);
    const imds = await startImdsEndpoint({ serverUrl: server.url, secret: imdsSecret, logger: log });
    try {
      const imdsPath = fc.constantFrom('/metadata/identity/oauth2/token', '/metadata/identity/oauth2/token/', '/METADATA/IDENTITY/OAUTH2/TOKEN/', '/metadata/identity/oauth2/token//', '/metadata/instance', '/msi/token', '/');
      const base = requests(ctx, ({ query }) => fc.tuple(imdsPath, fc.option(query, { nil: undefined, freq: 5 })).map(([p, q]) => (q === undefined ? p : `${p}?${q}`)));
      const tuned = base.chain((r) => fc.boolean().map((usual): FuzzRequest => (usual ? { ...r, method: 'GET', headers: [['Metadata', 'true'] as const, ...r.headers] } : r)));
      const port = Number(new URL(imds.url).port);
      await runProperty(t, 'IMDS endpoint', tuned, HTTP_RUNS.imds, { port, alwaysMayIssue: true });
    } finally {
      await imds.close();
    }
  });

  test('the server is still up and serves; totals; secrets scan', async (t) => {
    await assertUp();
    const ok = await rawRequest(server.port, `GET /msi/token?resource=Storage HTTP/1.1\r\nHost: x\r\nX-IDENTITY-HEADER: ${stableSecret}\r\nConnection: close\r\n\r\n`);
    assert.equal(ok.response?.status, 200);
    remember(ok);
    for (const code of codes.keys()) assert.match(code, /^ERR_[A-Z_]+$/);

    for (const s of createdSecrets) scan.sessionSecret('session secret created by the fuzzer', s);
    for (const token of tokens) scan.token('token', token);
    const audit = await allAuditRows(server.url, server.adminToken);
    scan.haystack('server log (debug)', log.lines.join(''));
    scan.haystack('error bodies', errorBodies.join('\n'));
    scan.haystack('audit listing', audit.text.join('\n'));
    for (const f of databaseFiles(server.home)) scan.haystack(f.where, f.data);
    const result = scan.scan();
    assert.deepEqual(result.hits.slice(0, 20), []);

    const totalHttp = Object.values(httpCases).reduce((a, b) => a + b, 0);
    const totalAudience = Object.values(audienceCases).reduce((a, b) => a + b, 0);
    Object.assign(figures, {
      audienceCases,
      audienceCasesTotal: totalAudience,
      httpCases,
      httpCasesTotal: totalHttp,
      statuses: Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])),
      errorCodes: Object.fromEntries([...codes].sort()),
      fiveHundreds: [...statuses].filter(([s]) => s >= 500).reduce((a, [, n]) => a + n, 0),
      tokensIssuedToFuzzer: tokens.size,
      sessionsCreatedByFuzzer: createdSecrets.size,
      auditRows: audit.rows.length,
      seconds: Math.round((Date.now() - t0) / 1000),
      secretScan: { needles: result.needles, haystacks: result.haystacks, bytes: result.bytes, hits: result.hits.length },
    });
    t.diagnostic(`audience parser: ${totalAudience} cases; HTTP: ${totalHttp} cases ${JSON.stringify(httpCases)}`);
    t.diagnostic(`statuses: ${JSON.stringify(figures.statuses)}`);
    t.diagnostic(`codes: ${JSON.stringify(figures.errorCodes)}`);
    t.diagnostic(`secrets scan: ${result.needles} needles in ${result.haystacks} haystacks (${result.bytes} bytes): ${result.hits.length} hits`);
    recordFigures('fuzz', { scale: SCALE_NAME, ...figures });
  });
});
