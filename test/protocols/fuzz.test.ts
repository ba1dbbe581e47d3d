/**
 * Fuzzing every HTTP endpoint of a live in-process server with raw bytes (node's own client would
 * refuse to send most of these requests).
 *
 * Properties, for every request:
 * - a complete HTTP response arrives (no hang, no silently closed connection);
 * - its status is never >= 500;
 * - every non-2xx response carries a JSON body with `error`, `error_description`, `code`
 *   (ERR_...) and `message` (protocols.md section 5: what every client family reads);
 * - the server stays up.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { IdentityView } from '../../src/admin/adminOps.js';
import { silentLogger } from '../../src/logger.js';
import { startImdsEndpoint } from '../../src/protocols/imds.js';
import { rawRequest, type RawResult } from '../support/rawHttp.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { CODE, describeRequest, percentEncode, serialize, utf8Bytes, type FuzzRequest } from '../support/httpFuzz.js';

/** The property every response must satisfy. */
function checkResponse(result: RawResult, method: string, sent: Buffer): void {
  const response = result.response;
  assert.ok(response !== undefined, `no complete response (${result.failure}) to ${describeRequest(sent)}; got ${JSON.stringify(result.raw.toString('latin1').slice(0, 300))}`);
  const context = `${response.status} for ${describeRequest(sent)}: ${response.body.toString('utf8').slice(0, 300)}`;
  assert.ok(response.status >= 200 && response.status < 500, `status ${context}`);
  if (method.toUpperCase() === 'HEAD') return; // no body by definition
  if (response.status >= 300) {
    assert.match(response.headers['content-type'] ?? '', /^application\/json/, `content-type of ${context}`);
    let body: unknown;
    try {
      body = JSON.parse(response.body.toString('utf8'));
    } catch {
      assert.fail(`non-JSON error body: ${context}`);
    }
    assert.ok(typeof body === 'object' && body !== null && !Array.isArray(body), `error body is not an object: ${context}`);
    const b = body as Record<string, unknown>;
    assert.equal(typeof b.error, 'string', `error: ${context}`);
    assert.equal(typeof b.error_description, 'string', `error_description: ${context}`);
    assert.equal(typeof b.message, 'string', `message: ${context}`);
    assert.equal(typeof b.code, 'string', `code: ${context}`);
    assert.match(b.code as string, CODE, `code: ${context}`);
    if (response.status === 429 || response.status === 503) assert.ok(response.headers['retry-after'] !== undefined);
  } else if (response.body.length > 0) {
    assert.doesNotThrow(() => JSON.parse(response.body.toString('utf8')), `2xx body is not JSON: ${context}`);
  }
}

describe('HTTP fuzzing (live server, raw sockets)', () => {
  let server: TestServer;
  /** The fuzzer's own session: it sends this secret but cannot revoke it (its id is never in a path). */
  let secret: string;
  let revokedSecret: string;
  /** A session the fuzzer may revoke through the admin API. */
  let fuzzSessionId: string;
  /** A session in a workspace the fuzzer never names, for the fixed cases after the fuzzing. */
  let stableSecret: string;
  let user: IdentityView;
  let casesRun = 0;
  const statuses = new Map<number, number>();

  before(async () => {
    server = await startTestServer();
    secret = (await server.app.admin.createSession({ workspace: 'default', ttlSeconds: 86_400 })).secret;
    fuzzSessionId = (await server.app.admin.createSession({ workspace: 'default' })).id;
    const revoked = await server.app.admin.createSession({ workspace: 'default' });
    await server.app.admin.revokeSession(revoked.id);
    revokedSecret = revoked.secret;
    user = await server.app.admin.addIdentity('default', { name: 'fuzz-user' });
    await server.app.admin.createWorkspace({ name: 'narrow', allowedAudiences: ['Vault'] });
    await server.app.admin.createWorkspace({ name: 'stable-4f1c' });
    stableSecret = (await server.app.admin.createSession({ workspace: 'stable-4f1c', ttlSeconds: 86_400 })).secret;
  });

  after(async () => {
    await server?.close();
  });

  async function send(bytes: Buffer, method: string, port = server.port): Promise<RawResult> {
    return rawRequest(port, bytes, { method, timeoutMs: 20_000 });
  }

  async function assertUp(): Promise<void> {
    const result = await send(Buffer.from('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), 'GET');
    assert.equal(result.response?.status, 200, 'the server is still up');
  }

  // ----------------------------------------------------------------------------- arbitraries

  interface Choice<T> {
    readonly weight: number;
    readonly arbitrary: fc.Arbitrary<T>;
    /** Bytes that are not valid HTTP (node's parser answers 400 before any handler runs). */
    readonly garbage?: boolean;
  }

  /** fc.oneof over the choices, leaving out the garbage ones for well-formed requests. */
  function pick<T>(garbage: boolean, ...choices: Array<Choice<T>>): fc.Arbitrary<T> {
    return fc.oneof(...choices.filter((c) => garbage || c.garbage !== true).map(({ weight, arbitrary }) => ({ weight, arbitrary })));
  }

  /**
   * Request generators. `garbage` mixes in what is not valid HTTP (raw bytes, control characters,
   * odd methods and versions, no Host); without it every request reaches the handlers, where the
   * interesting code is.
   */
  function arbitraries(garbage: boolean) {
    const rawBytes = (max: number) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a).toString('latin1'));
    const knownPaths = [
      '/msi/token',
      '/v1/token',
      '/admin/workspaces',
      '/admin/workspaces/default',
      '/admin/workspaces/narrow',
      '/admin/workspaces/default/identities',
      '/admin/sessions',
      `/admin/sessions/${fuzzSessionId}`,
      `/admin/sessions/${fuzzSessionId}/revoke`,
      '/admin/audit',
      '/admin/status',
      '/admin/',
      '/admin',
      '/.well-known/openid-configuration',
      '/.well-known/jwks.json',
      '/healthz',
      '/metadata/identity/oauth2/token',
      '/metadata/identity/oauth2/token/',
      '/',
      '/nope',
    ];
    const percentGarbage = fc.constantFrom('%', '%z', '%zz', '%G0', '%%%', '%0', '%00', '%0a%0d', '%ff%fe', '%c3%28', '%e2%82', '%ed%a0%80', '%2F..%2F', '%u0041', '+', '%20');
    const controlEncoded = fc.integer({ min: 0, max: 31 }).map((c) => `%${c.toString(16).padStart(2, '0')}`);
    const known = fc.constantFrom(
      'Storage',
      'storage',
      'CognitiveServices',
      'AIServices',
      'Vault',
      'https://cognitiveservices.azure.com',
      'https://cognitiveservices.azure.com/.default',
      'https://storage.azure.com//.default',
      'api://contoso.com/api',
      '2ff814a6-3304-4ab8-85cb-cd0e6f879c1d',
      'true',
      'false',
      '0',
      '1',
      '-1',
      '99999999999999999999',
      '1e3',
      '',
      ' ',
      'null',
      'default',
      'narrow',
    );
    const selectorValue = fc.constantFrom(user.clientId, user.objectId, user.resourceId, user.clientId.toUpperCase(), '00000000-0000-0000-0000-000000000000');
    const sizes = fc.integer({ min: 1_000, max: 20_000 });
    const queryValue = pick<string>(
      garbage,
      { weight: 6, arbitrary: known.map(percentEncode) },
      { weight: 2, arbitrary: selectorValue.map(percentEncode) },
      { weight: 4, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }).map(percentEncode) },
      { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }).map(percentEncode) },
      { weight: 2, arbitrary: percentGarbage },
      { weight: 2, arbitrary: fc.array(controlEncoded, { minLength: 1, maxLength: 4 }).map((a) => a.join('')) },
      { weight: 1, arbitrary: fc.tuple(fc.constantFrom('a', 'Storage', '%41'), sizes).map(([v, n]) => v.repeat(Math.ceil(n / v.length))) },
      { weight: 3, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }).map(utf8Bytes), garbage: true }, // raw unicode, not encoded
      { weight: 1, arbitrary: rawBytes(20), garbage: true },
    );
    const queryKey = pick<string>(
      garbage,
      { weight: 6, arbitrary: fc.constantFrom('resource', 'api-version', 'client_id', 'object_id', 'principal_id', 'mi_res_id', 'msi_res_id', 'audience', 'scope', 'clientId', 'objectId', 'resourceId', 'since', 'limit', 'workspace', 'all') },
      { weight: 1, arbitrary: queryValue },
    );
    const query = fc
      .tuple(fc.array(fc.tuple(queryKey, queryValue), { maxLength: 6 }), fc.boolean(), fc.constantFrom('&', '&&', ';', '&='))
      .map(([pairs, duplicate, sep]) => {
        const all = duplicate && pairs.length > 0 ? [...pairs, pairs[0] as [string, string]] : pairs;
        return all.map(([k, v]) => `${k}=${v}`).join(sep);
      });
    const segment = pick<string>(
      garbage,
      { weight: 1, arbitrary: fc.string({ maxLength: 12 }).map(percentEncode) },
      { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 8 }).map(percentEncode) },
      { weight: 1, arbitrary: percentGarbage },
      { weight: 1, arbitrary: fc.constantFrom('..', '.', '', 'workspaces', 'sessions', 'revoke', 'identities', 'default', fuzzSessionId) },
      { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 8 }).map(utf8Bytes), garbage: true },
    );
    const path = pick<string>(
      garbage,
      { weight: 6, arbitrary: fc.constantFrom(...knownPaths) },
      { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...knownPaths), segment).map(([p, seg]) => `${p}/${seg}`) },
      { weight: 2, arbitrary: fc.array(segment, { maxLength: 5 }).map((a) => '/' + a.join('/')) },
      { weight: 1, arbitrary: fc.constantFrom('*', '//msi/token', '/MSI/TOKEN', 'http://evil.example/msi/token', '/msi/token#frag', '/msi%2Ftoken') },
      { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 30 }).map((a) => '/' + Buffer.from(a).toString('latin1')), garbage: true },
    );
    const target = fc
      .tuple(path, fc.option(query, { nil: undefined, freq: 3 }))
      .map(([p, q]) => (q === undefined ? p : `${p}?${q}`));

    const secretValue = pick<string>(
      garbage,
      { weight: 4, arbitrary: fc.constantFrom(secret, revokedSecret, server.adminToken) },
      { weight: 2, arbitrary: fc.constantFrom(secret.slice(0, -1), secret + 'x', `${secret} `, secret.toUpperCase(), 'wits.', 'wits..', '', ' ', 'null') },
      { weight: 2, arbitrary: fc.string({ maxLength: 80 }) },
      { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }).map(utf8Bytes) }, // obs-text: valid in header values
      { weight: 1, arbitrary: rawBytes(40).map((v) => v.replace(/[\r\n]/g, '')), garbage: true },
    );
    const authorization = pick<string>(
      garbage,
      { weight: 4, arbitrary: secretValue.map((v) => `Bearer ${v}`) },
      { weight: 1, arbitrary: secretValue.map((v) => `bearer   ${v}  `) },
      { weight: 1, arbitrary: fc.constantFrom('Bearer', 'Bearer ', 'Basic YWRtaW46YWRtaW4=', 'Negotiate abc', `Bearer ${secret} ${secret}`, `Bearer ${server.adminToken},x`) },
      { weight: 1, arbitrary: secretValue },
    );
    const contentType = fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'APPLICATION/JSON',
      'application/x-www-form-urlencoded',
      'application/x-www-form-urlencoded; charset=utf-8',
      'text/plain',
      'multipart/form-data; boundary=x',
      'application/json-patch+json',
      '',
      ';',
      'garbage/&&',
      'application/json; charset=latin1; x=',
    );
    const reservedNames = new Set(['host', 'connection', 'content-length', 'transfer-encoding']);
    const headerName = pick<string>(
      garbage,
      { weight: 3, arbitrary: fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,20}$/) },
      { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 10 }), garbage: true },
      { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 8 }).map((a) => Buffer.from(a).toString('latin1')), garbage: true },
    ).filter((n) => !reservedNames.has(n.toLowerCase().trim()) && !/[\r\n:]/.test(n));
    const headerValue = pick<string>(
      garbage,
      { weight: 2, arbitrary: fc.string({ maxLength: 60 }) },
      { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }).map(utf8Bytes) },
      { weight: 1, arbitrary: rawBytes(40).map((v) => v.replace(/[\r\n]/g, '')), garbage: true },
    );
    const header = pick<readonly [string, string]>(
      garbage,
      { weight: 4, arbitrary: secretValue.map((v) => ['X-IDENTITY-HEADER', v] as const) },
      { weight: 4, arbitrary: authorization.map((v) => ['Authorization', v] as const) },
      { weight: 3, arbitrary: contentType.map((v) => ['Content-Type', v] as const) },
      { weight: 1, arbitrary: fc.constantFrom('true', 'True', 'false', '').map((v) => ['Metadata', v] as const) },
      { weight: 1, arbitrary: fc.constant(['X-Forwarded-For', '10.0.0.1'] as const) },
      { weight: 1, arbitrary: fc.constantFrom('imds', 'appservice', '').map((v) => ['x-wits-via', v] as const) },
      { weight: 1, arbitrary: fc.constantFrom('100-continue', 'foo', '', '100-Continue').map((v) => ['Expect', v] as const) },
      { weight: 1, arbitrary: fc.constantFrom('websocket', 'h2c').map((v) => ['Upgrade', v] as const) },
      { weight: 1, arbitrary: fc.constantFrom('gzip', 'identity', 'br').map((v) => ['Content-Encoding', v] as const) },
      { weight: 3, arbitrary: fc.tuple(headerName, headerValue) },
      { weight: 1, arbitrary: fc.tuple(fc.constantFrom('X-IDENTITY-HEADER', 'Authorization', 'X-Padding'), sizes).map(([n, size]) => [n, 'x'.repeat(size)] as const) },
    );
    const jsonFields = fc.dictionary(
      fc.constantFrom('audience', 'resource', 'scope', 'clientId', 'objectId', 'resourceId', 'name', 'workspace', 'ttlSeconds', 'labels', 'audiences', 'allowedAudiences', 'cloud', 'source', 'tenantId', '__proto__', 'constructor'),
      fc.oneof(known, selectorValue, fc.jsonValue({ maxDepth: 2 }), fc.array(known, { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 }), { maxKeys: 3 })),
      { maxKeys: 5 },
    );
    const body = pick<string | undefined>(
      garbage,
      { weight: 3, arbitrary: fc.constant(undefined) },
      { weight: 4, arbitrary: jsonFields.map((o) => utf8Bytes(JSON.stringify(o))) },
      { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => utf8Bytes(JSON.stringify(v))) },
      { weight: 2, arbitrary: rawBytes(2_000) }, // any bytes are a valid body
      { weight: 1, arbitrary: fc.constantFrom('{', '{"audience":', '[', 'nul', '{"audience":"Storage"', '\u0000', '{"a":1}{"b":2}', '\ufeff{}', '{"audience":"Storage",}') },
      { weight: 1, arbitrary: query },
      { weight: 1, arbitrary: fc.integer({ min: 60_000, max: 70_000 }).map((n) => `{"audience":"${'a'.repeat(n)}"}`) },
    );
    const method = pick<string>(
      garbage,
      { weight: 8, arbitrary: fc.constantFrom('GET', 'GET', 'POST', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS') },
      { weight: 1, arbitrary: fc.constantFrom('TRACE', 'CONNECT', 'PROPFIND', 'SEARCH', 'MKCOL', 'PURGE', 'QUERY') },
      { weight: 2, arbitrary: fc.constantFrom('BREW', 'get', 'G\tET', ''), garbage: true },
      { weight: 1, arbitrary: fc.stringMatching(/^[A-Z]{1,10}$/), garbage: true },
    );
    const version = pick<string>(
      garbage,
      { weight: 8, arbitrary: fc.constant('HTTP/1.1') },
      { weight: 1, arbitrary: fc.constant('HTTP/1.0') },
      { weight: 2, arbitrary: fc.constantFrom('HTTP/2.0', 'HTTP/1.2', 'http/1.1', 'HTTP/1.1 x', 'HTTP/1'), garbage: true },
    );
    const request = (targets: fc.Arbitrary<string>): fc.Arbitrary<FuzzRequest> =>
      fc.record({
        method,
        target: targets,
        version,
        host: garbage ? fc.integer({ min: 0, max: 4 }).map((n) => n > 0) : fc.constant(true),
        headers: fc.array(header, { maxLength: 6 }),
        body,
        chunked: fc.boolean(),
      });
    return { request: (targets: fc.Arbitrary<string>) => request(targets), target, query, knownPaths };
  }

  /** Three in four requests are well-formed HTTP; the rest carry garbage bytes. */
  function requests(targetsOf: (a: ReturnType<typeof arbitraries>) => fc.Arbitrary<string>): fc.Arbitrary<FuzzRequest> {
    const clean = arbitraries(false);
    const dirty = arbitraries(true);
    return fc.oneof({ weight: 3, arbitrary: clean.request(targetsOf(clean)) }, { weight: 1, arbitrary: dirty.request(targetsOf(dirty)) });
  }

  async function runProperty(t: { diagnostic(message: string): void }, name: string, requests: fc.Arbitrary<FuzzRequest>, numRuns: number, port = server.port): Promise<void> {
    let runs = 0;
    const details = await fc.check(
      fc.asyncProperty(requests, async (r) => {
        runs++;
        const bytes = serialize(r);
        const result = await send(bytes, r.method, port);
        const status = result.response?.status ?? 0;
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        checkResponse(result, r.method, bytes);
      }),
      { numRuns, endOnFailure: true },
    );
    casesRun += runs;
    if (details.failed) {
      // fast-check's own report prints the whole counterexample (up to 70 kB here): keep it readable.
      const reason = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
      assert.fail(`${name}: property failed after ${details.numRuns} runs (seed ${details.seed}, path ${details.counterexamplePath}):\n${reason.slice(0, 4_000)}`);
    }
    t.diagnostic(`${name}: ${runs} cases`);
    await assertUp();
  }

  test('token endpoints (/msi/token, /v1/token)', { timeout: 120_000 }, async (t) => {
    const targets = requests(({ query }) =>
      fc.tuple(fc.constantFrom('/msi/token', '/v1/token'), fc.option(query, { nil: undefined, freq: 5 })).map(([p, q]) => (q === undefined ? p : `${p}?${q}`)),
    );
    // Half the requests carry the right credential for their endpoint and a method it serves, so
    // that the fuzzing reaches audience resolution, identity selection, policy and the cache.
    const tuned = targets.chain((r) =>
      fc.tuple(fc.boolean(), fc.boolean()).map(([withSecret, usualMethod]): FuzzRequest => {
        const appService = r.target.startsWith('/msi/token');
        const credential = appService ? (['X-IDENTITY-HEADER', secret] as const) : (['Authorization', `Bearer ${secret}`] as const);
        return {
          ...r,
          headers: withSecret ? [credential, ...r.headers] : r.headers,
          method: usualMethod ? (appService || r.method === 'GET' ? 'GET' : 'POST') : r.method,
        };
      }),
    );
    await runProperty(t, 'token endpoints', tuned, 800);
  });

  test('admin API, with and without the credential', { timeout: 120_000 }, async (t) => {
    const adminPath = fc.constantFrom(
      '/admin/workspaces',
      '/admin/workspaces/default',
      '/admin/workspaces/narrow',
      '/admin/workspaces/%zz',
      '/admin/workspaces/default/identities',
      '/admin/workspaces/ghost/identities',
      '/admin/sessions',
      `/admin/sessions/${fuzzSessionId}`,
      `/admin/sessions/${fuzzSessionId}/revoke`,
      '/admin/sessions/nope/revoke',
      '/admin/audit',
      '/admin/status',
      '/admin/',
      '/admin/x/y/z/w',
    );
    const base = requests(({ query }) => fc.tuple(adminPath, fc.option(query, { nil: undefined, freq: 2 })).map(([p, q]) => (q === undefined ? p : `${p}?${q}`)));
    const withCredential = base.chain((r) =>
      fc.boolean().map((useAdmin) => (useAdmin ? { ...r, headers: [['Authorization', `Bearer ${server.adminToken}`] as const, ...r.headers] } : r)),
    );
    await runProperty(t, 'admin API', withCredential, 500);
  });

  test('any path: discovery, health, IMDS path, unknown paths', { timeout: 120_000 }, async (t) => {
    await runProperty(t, 'any path', requests(({ target }) => target), 500);
  });

  test('the session-bound IMDS endpoint (wits exec --imds)', { timeout: 120_000 }, async (t) => {
    const imdsSecret = (await server.app.admin.createSession({ workspace: 'default', ttlSeconds: 86_400 })).secret;
    const imds = await startImdsEndpoint({ serverUrl: server.url, secret: imdsSecret, logger: silentLogger });
    try {
      const imdsPath = fc.constantFrom(
        '/metadata/identity/oauth2/token',
        '/metadata/identity/oauth2/token/',
        '/METADATA/IDENTITY/OAUTH2/TOKEN/',
        '/metadata/identity/oauth2/token//',
        '/metadata/instance',
        '/msi/token',
        '/',
      );
      const base = requests(({ query }) => fc.tuple(imdsPath, fc.option(query, { nil: undefined, freq: 5 })).map(([p, q]) => (q === undefined ? p : `${p}?${q}`)));
      // Half the requests look like a real client's (Metadata: true, GET), to reach the forwarding.
      const tuned = base.chain((r) =>
        fc.boolean().map((usual): FuzzRequest => (usual ? { ...r, method: 'GET', headers: [['Metadata', 'true'] as const, ...r.headers] } : r)),
      );
      const port = Number(new URL(imds.url).port);
      await runProperty(t, 'IMDS endpoint', tuned, 300, port);
      const ok = await rawRequest(port, 'GET /metadata/identity/oauth2/token/?api-version=2018-02-01&resource=https://storage.azure.com HTTP/1.1\r\nHost: x\r\nMetadata: true\r\nConnection: close\r\n\r\n');
      assert.ok(ok.response?.status === 200 || ok.response?.status === 401, `IMDS still answers: ${ok.response?.status}`);
    } finally {
      await imds.close();
    }
  });

  describe('raw-socket cases', () => {
    async function raw(text: string, method = 'GET'): Promise<RawResult> {
      const bytes = Buffer.from(text, 'latin1');
      const result = await send(bytes, method);
      checkResponse(result, method, bytes);
      casesRun++;
      return result;
    }

    test('a 20 kB request line is a 431 JSON answer', async () => {
      const result = await raw(`GET /msi/token?resource=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
      assert.equal(result.response?.status, 431);
      assert.equal(JSON.parse(result.response.body.toString()).code, 'ERR_HEADERS_TOO_LARGE');
    });

    test('a 20 kB header block is a 431 JSON answer', async () => {
      const many = Array.from({ length: 400 }, (_, i) => `X-Pad-${i}: ${'y'.repeat(40)}\r\n`).join('');
      const a = await raw(`GET /healthz HTTP/1.1\r\nHost: x\r\n${many}\r\n`);
      assert.equal(a.response?.status, 431);
      const b = await raw(`GET /msi/token?resource=Storage HTTP/1.1\r\nHost: x\r\nX-IDENTITY-HEADER: ${'s'.repeat(20_000)}\r\n\r\n`);
      assert.equal(b.response?.status, 431);
    });

    test('malformed request lines are 400 JSON answers', async () => {
      for (const line of ['HELLO\r\n\r\n', 'GET\r\n\r\n', 'GET / HTTP/9\r\n\r\n', '\x00\x01\x02\r\n\r\n', ' / HTTP/1.1\r\n\r\n', 'GET /\x7f HTTP/1.1\r\nHost: x\r\n\r\n', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n']) {
        const result = await raw(line);
        assert.equal(result.response?.status, 400, JSON.stringify(line));
      }
      // What node's parser tolerates (HTTP/0.9 style, a doubled space) still gets a JSON answer.
      for (const line of ['GET /\r\n\r\n', 'GET  / HTTP/1.1\r\nHost: x\r\n\r\n']) await raw(line);
    });

    test('bad header syntax and framing are 400 JSON answers', async () => {
      const cases = [
        'GET /healthz HTTP/1.1\r\nHost: x\r\nX-IDENTITY-HEADER: a\x01b\r\n\r\n',
        'GET /healthz HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n',
        'GET /healthz HTTP/1.1\r\nHost: x\r\n: empty-name\r\n\r\n',
        'GET /healthz HTTP/1.1\r\nHost: x\r\n folded: v\r\n\r\n',
        'POST /v1/token HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
        'POST /v1/token HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello',
        'POST /v1/token HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
        'POST /v1/token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
      ];
      for (const text of cases) {
        const result = await raw(text);
        assert.equal(result.response?.status, 400, JSON.stringify(text));
      }
    });

    test('an HTTP/1.1 request without Host is a 400 JSON answer', async () => {
      const result = await raw('GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n');
      assert.equal(result.response?.status, 400);
      // HTTP/1.0 needs no Host.
      assert.equal((await raw('GET /healthz HTTP/1.0\r\n\r\n')).response?.status, 200);
    });

    test('CONNECT is answered with a JSON 405, not a dropped connection', async () => {
      const result = await raw('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n', 'CONNECT');
      assert.equal(result.response?.status, 405);
    });

    test('a CONNECT followed by 70 kB of data is answered and its connection closed (no leaked socket)', { timeout: 30_000 }, async () => {
      const own = await startTestServer();
      try {
        const bytes = Buffer.from(`CONNECT /admin/x HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n\r\n${'a'.repeat(70_000)}`, 'latin1');
        const result = await rawRequest(own.port, bytes, { method: 'CONNECT' });
        checkResponse(result, 'CONNECT', bytes);
        assert.equal(result.response?.status, 405);
      } finally {
        // A socket left open (paused, unread) keeps server.close() from ever completing.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          own.close(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error('server.close() hung: a connection was left open')), 10_000);
          }),
        ]).finally(() => clearTimeout(timer));
      }
    });

    test('an unsupported Expect is answered with a JSON error; 100-continue works', async () => {
      const bad = await raw('GET /healthz HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\nConnection: close\r\n\r\n');
      assert.equal(bad.response?.status, 417);
      const body = '{"audience":"Storage"}';
      const ok = await raw(`POST /v1/token HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nAuthorization: Bearer ${stableSecret}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`, 'POST');
      assert.equal(ok.response?.status, 200);
      assert.ok(ok.raw.toString('latin1').startsWith('HTTP/1.1 100 Continue'));
    });

    test('a declared 10 MB body is refused at once with 413 JSON', async () => {
      const result = await raw(`POST /v1/token HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${stableSecret}\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\nConnection: close\r\n\r\n{"audience":`, 'POST');
      assert.equal(result.response?.status, 413);
    });

    test('an upgrade request is served as a plain request', async () => {
      const result = await raw('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
      assert.equal(result.response?.status, 200);
    });
  });

  test('the server is still up, and the totals', async (t) => {
    await assertUp();
    const ok = await rawRequest(server.port, `GET /msi/token?resource=Storage HTTP/1.1\r\nHost: x\r\nX-IDENTITY-HEADER: ${stableSecret}\r\nConnection: close\r\n\r\n`);
    assert.equal(ok.response?.status, 200);
    t.diagnostic(`fuzz cases run: ${casesRun}`);
    t.diagnostic(`statuses: ${[...statuses].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}x${n}`).join(' ')}`);
  });
});
