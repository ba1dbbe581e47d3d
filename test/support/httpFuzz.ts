/**
 * Raw-HTTP request generators and the response property for the fuzzing of
 * test/reliability/fuzz.test.ts: methods, targets, headers, bodies, framing and garbage, with many
 * encodings (double percent-encoding, overlong UTF-8, `+`, UTF-16 and BOM bodies, gzip bodies,
 * charset parameters), sizes around every limit (64 KiB body, 16 KiB header block, hundreds of
 * parameters or headers), deep JSON, and the secrets and identities of two workspaces.
 */
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { ERROR_CODES } from '../../src/errors.js';
import type { RawResult } from './rawHttp.js';

export const CODE = /^ERR_[A-Z_]+$/;

export interface FuzzRequest {
  readonly method: string;
  readonly target: string;
  readonly version: string;
  readonly host: boolean;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** latin1 "binary string": one char per byte. */
  readonly body: string | undefined;
  readonly chunked: boolean;
}

/** Percent-encodes the UTF-8 bytes of any string (lone surrogates included), keeping unreserved characters. */
export function percentEncode(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += /[A-Za-z0-9._~-]/.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Bytes as a latin1 "binary string". */
export const utf8Bytes = (value: string): string => Buffer.from(value, 'utf8').toString('latin1');
const bytesOf = (b: Buffer): string => b.toString('latin1');

export function serialize(r: FuzzRequest): Buffer {
  let head = `${r.method} ${r.target} ${r.version}\r\n`;
  if (r.host) head += 'Host: 127.0.0.1\r\n';
  head += 'Connection: close\r\n';
  for (const [name, value] of r.headers) head += `${name}: ${value}\r\n`;
  let body = '';
  if (r.body !== undefined) {
    if (r.chunked) {
      head += 'Transfer-Encoding: chunked\r\n';
      const size = Math.max(1, Math.ceil(r.body.length / 3));
      for (let i = 0; i < r.body.length; i += size) {
        const piece = r.body.slice(i, i + size);
        body += `${piece.length.toString(16)}\r\n${piece}\r\n`;
      }
      body += '0\r\n\r\n';
    } else {
      head += `Content-Length: ${r.body.length}\r\n`;
      body = r.body;
    }
  }
  return Buffer.from(head + '\r\n' + body, 'latin1');
}

export function describeRequest(bytes: Buffer): string {
  const text = bytes.toString('latin1');
  return JSON.stringify(text.length > 600 ? `${text.slice(0, 600)}... (${text.length} bytes)` : text);
}

/**
 * The property every response must satisfy: a complete response, never 5xx (but a 503 with
 * Retry-After from an unavailable source), every non-2xx a JSON object with error,
 * error_description, message and a documented ERR_ code, every 2xx body JSON, and no
 * `access_token` unless the request carried a valid credential. Returns the code, if any.
 */
export function checkResponse(result: RawResult, method: string, sent: Buffer, mayIssue: boolean): string | undefined {
  const response = result.response;
  assert.ok(response !== undefined, `no complete response (${result.failure}) to ${describeRequest(sent)}; got ${JSON.stringify(result.raw.toString('latin1').slice(0, 300))}`);
  const context = `${response.status} for ${describeRequest(sent)}: ${response.body.toString('utf8').slice(0, 300)}`;
  assert.ok(response.status >= 200 && response.status < 500, `status ${context}`);
  if (method.toUpperCase() === 'HEAD') return undefined;
  const text = response.body.toString('utf8');
  if (!mayIssue) assert.ok(!text.includes('access_token'), `a token without a valid credential: ${context}`);
  if (response.status >= 300) {
    assert.match(response.headers['content-type'] ?? '', /^application\/json/, `content-type of ${context}`);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      assert.fail(`non-JSON error body: ${context}`);
    }
    assert.ok(typeof body === 'object' && body !== null && !Array.isArray(body), `error body is not an object: ${context}`);
    const b = body as Record<string, unknown>;
    for (const k of ['error', 'error_description', 'message', 'code']) assert.equal(typeof b[k], 'string', `${k}: ${context}`);
    assert.match(b.code as string, CODE, `code: ${context}`);
    assert.ok(Object.hasOwn(ERROR_CODES, b.code as string), `undocumented code: ${context}`);
    if (response.status === 429 || response.status === 503) assert.ok(response.headers['retry-after'] !== undefined);
    return b.code as string;
  }
  if (response.body.length > 0) assert.doesNotThrow(() => JSON.parse(text), `2xx body is not JSON: ${context}`);
  return undefined;
}

interface Choice<T> {
  readonly weight: number;
  readonly arbitrary: fc.Arbitrary<T>;
  /** Not valid HTTP (node's parser answers 400 before any handler runs). */
  readonly garbage?: boolean;
}

function pick<T>(garbage: boolean, ...choices: Array<Choice<T>>): fc.Arbitrary<T> {
  return fc.oneof(...choices.filter((c) => garbage || c.garbage !== true).map(({ weight, arbitrary }) => ({ weight, arbitrary })));
}

export interface FuzzContext {
  /** Valid session secrets (of two workspaces), a revoked one, an expired one. */
  readonly secrets: readonly string[];
  readonly badSecrets: readonly string[];
  readonly adminToken: string;
  /** Client, object and resource ids of identities (of both workspaces). */
  readonly selectors: readonly string[];
  /** Ids that may appear in admin paths. */
  readonly sessionIds: readonly string[];
  readonly workspaces: readonly string[];
}

export interface Arbitraries {
  request(targets: fc.Arbitrary<string>): fc.Arbitrary<FuzzRequest>;
  readonly target: fc.Arbitrary<string>;
  readonly query: fc.Arbitrary<string>;
}

/**
 * Request generators. `garbage` mixes in what is not valid HTTP (raw bytes, control characters,
 * odd methods and versions, no Host); without it every request reaches the handlers.
 */
export function arbitraries(ctx: FuzzContext, garbage: boolean): Arbitraries {
  const rawBytes = (max: number) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a).toString('latin1'));
  const knownPaths = [
    '/msi/token',
    '/v1/token',
    '/admin/workspaces',
    ...ctx.workspaces.flatMap((w) => [`/admin/workspaces/${w}`, `/admin/workspaces/${w}/identities`]),
    '/admin/sessions',
    ...ctx.sessionIds.flatMap((id) => [`/admin/sessions/${id}`, `/admin/sessions/${id}/revoke`]),
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
  const percentGarbage = fc.constantFrom('%', '%z', '%zz', '%G0', '%%%', '%0', '%00', '%0a%0d', '%ff%fe', '%c3%28', '%e2%82', '%ed%a0%80', '%2F..%2F', '%u0041', '+', '%20', '%c0%af', '%e0%80%af', '%f0%80%80%af', '%252F', '%2525', '%C3%A9', '%EF%BB%BF');
  const controlEncoded = fc.integer({ min: 0, max: 31 }).map((c) => `%${c.toString(16).padStart(2, '0')}`);
  const known = fc.constantFrom(
    'Storage',
    'storage',
    'STORAGE',
    'CognitiveServices',
    'AIServices',
    'Vault',
    'pbi',
    'https://cognitiveservices.azure.com',
    'https://cognitiveservices.azure.com/',
    'https://cognitiveservices.azure.com/.default',
    'https://storage.azure.com//.default',
    'https://STORAGE.azure.com',
    'https://storage.azure.com:443',
    'https://user@storage.azure.com',
    'https://storage.azure.com/?x=1',
    'https://xn--bcher-kva.example',
    'https://[::1]',
    'https://169.254.169.254',
    'http://storage.azure.com',
    'api://contoso.com/api',
    'api://2ff814a6-3304-4ab8-85cb-cd0e6f879c1d/.default',
    '2ff814a6-3304-4ab8-85cb-cd0e6f879c1d',
    'true',
    'false',
    '0',
    '-1',
    '99999999999999999999',
    '1e3',
    '',
    ' ',
    'null',
    ...ctx.workspaces,
  );
  const selectorValue = fc.constantFrom(...ctx.selectors, ...ctx.selectors.map((s) => s.toUpperCase()), '00000000-0000-0000-0000-000000000000');
  const sizes = fc.integer({ min: 1_000, max: 20_000 });
  const queryValue = pick<string>(
    garbage,
    { weight: 6, arbitrary: known.map(percentEncode) },
    { weight: 1, arbitrary: known.map((v) => percentEncode(percentEncode(v))) }, // double-encoded
    { weight: 1, arbitrary: known.map((v) => v.replace(/ /g, '+')) },
    { weight: 2, arbitrary: selectorValue.map(percentEncode) },
    { weight: 4, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }).map(percentEncode) },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }).map(percentEncode) },
    { weight: 2, arbitrary: percentGarbage },
    { weight: 2, arbitrary: fc.array(controlEncoded, { minLength: 1, maxLength: 4 }).map((a) => a.join('')) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom('a', 'Storage', '%41', '%C3%A9'), sizes).map(([v, n]) => v.repeat(Math.ceil(n / v.length))) },
    { weight: 3, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }).map(utf8Bytes), garbage: true },
    { weight: 1, arbitrary: rawBytes(20), garbage: true },
  );
  const queryKey = pick<string>(
    garbage,
    { weight: 6, arbitrary: fc.constantFrom('resource', 'api-version', 'client_id', 'object_id', 'principal_id', 'mi_res_id', 'msi_res_id', 'audience', 'scope', 'clientId', 'objectId', 'resourceId', 'since', 'limit', 'workspace', 'all', 'RESOURCE', 'resource%00', 'resource[]') },
    { weight: 1, arbitrary: queryValue },
  );
  const query = fc
    .tuple(
      fc.array(fc.tuple(queryKey, queryValue), { maxLength: 6 }),
      fc.boolean(),
      fc.constantFrom('&', '&&', ';', '&='),
      fc.option(fc.integer({ min: 50, max: 600 }), { nil: undefined, freq: 8 }),
    )
    .map(([pairs, duplicate, sep, padding]) => {
      const all = duplicate && pairs.length > 0 ? [...pairs, pairs[0] as [string, string]] : pairs;
      const extra = padding === undefined ? [] : Array.from({ length: padding }, (_, i) => [`p${i}`, 'x'] as [string, string]);
      return [...all, ...extra].map(([k, v]) => `${k}=${v}`).join(sep);
    });
  const segment = pick<string>(
    garbage,
    { weight: 1, arbitrary: fc.string({ maxLength: 12 }).map(percentEncode) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 8 }).map(percentEncode) },
    { weight: 1, arbitrary: percentGarbage },
    { weight: 1, arbitrary: fc.constantFrom('..', '.', '', 'workspaces', 'sessions', 'revoke', 'identities', ...ctx.workspaces, ...ctx.sessionIds) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 8 }).map(utf8Bytes), garbage: true },
  );
  const path = pick<string>(
    garbage,
    { weight: 6, arbitrary: fc.constantFrom(...knownPaths) },
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...knownPaths), segment).map(([p, seg]) => `${p}/${seg}`) },
    { weight: 2, arbitrary: fc.array(segment, { maxLength: 5 }).map((a) => '/' + a.join('/')) },
    { weight: 1, arbitrary: fc.constantFrom('*', '//msi/token', '/MSI/TOKEN', 'http://evil.example/msi/token', '/msi/token#frag', '/msi%2Ftoken', '/./msi/token', '/msi/token/..', '/admin/../msi/token', '/admin%2Fsessions') },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 30 }).map((a) => '/' + Buffer.from(a).toString('latin1')), garbage: true },
  );
  const target = fc.tuple(path, fc.option(query, { nil: undefined, freq: 3 })).map(([p, q]) => (q === undefined ? p : `${p}?${q}`));

  const anySecret = [...ctx.secrets, ...ctx.badSecrets, ctx.adminToken];
  const someSecret = ctx.secrets[0] ?? '';
  const secretValue = pick<string>(
    garbage,
    { weight: 4, arbitrary: fc.constantFrom(...anySecret) },
    { weight: 2, arbitrary: fc.constantFrom(someSecret.slice(0, -1), someSecret + 'x', someSecret.toUpperCase(), 'wits.', 'wits..', '', ' ', 'null', `${someSecret},${someSecret}`) },
    { weight: 2, arbitrary: fc.string({ maxLength: 80 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }).map(utf8Bytes) },
    { weight: 1, arbitrary: rawBytes(40).map((v) => v.replace(/[\r\n]/g, '')), garbage: true },
  );
  const authorization = pick<string>(
    garbage,
    { weight: 4, arbitrary: secretValue.map((v) => `Bearer ${v}`) },
    { weight: 1, arbitrary: secretValue.map((v) => `bearer   ${v}  `) },
    { weight: 1, arbitrary: fc.constantFrom('Bearer', 'Bearer ', 'Basic YWRtaW46YWRtaW4=', 'Negotiate abc', `Bearer ${someSecret} ${someSecret}`, `Bearer ${ctx.adminToken},x`, `Bearer\t${someSecret}`) },
    { weight: 1, arbitrary: secretValue },
  );
  const contentType = fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'application/json; charset=utf-16',
    'APPLICATION/JSON',
    'application/x-www-form-urlencoded',
    'application/x-www-form-urlencoded; charset=utf-8',
    'application/x-www-form-urlencoded; charset=iso-8859-1',
    'text/plain',
    'multipart/form-data; boundary=x',
    'application/json-patch+json',
    '',
    ';',
    'garbage/&&',
    'application/json; charset=latin1; x=',
    'application/json;;;',
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
    { weight: 1, arbitrary: fc.constantFrom('true', 'True', 'TRUE', 'false', '', 'true, true').map((v) => ['Metadata', v] as const) },
    { weight: 1, arbitrary: fc.constantFrom('10.0.0.1', '127.0.0.1', '', 'unknown').map((v) => ['X-Forwarded-For', v] as const) },
    { weight: 1, arbitrary: fc.constantFrom('imds', 'appservice', '').map((v) => ['x-wits-via', v] as const) },
    { weight: 1, arbitrary: fc.constantFrom('100-continue', 'foo', '', '100-Continue').map((v) => ['Expect', v] as const) },
    { weight: 1, arbitrary: fc.constantFrom('websocket', 'h2c').map((v) => ['Upgrade', v] as const) },
    { weight: 1, arbitrary: fc.constantFrom('gzip', 'identity', 'br', 'deflate, gzip').map((v) => ['Content-Encoding', v] as const) },
    { weight: 1, arbitrary: fc.constantFrom('gzip', '*', 'identity;q=0').map((v) => ['Accept-Encoding', v] as const) },
    { weight: 3, arbitrary: fc.tuple(headerName, headerValue) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom('X-IDENTITY-HEADER', 'Authorization', 'X-Padding', 'Metadata'), sizes).map(([n, size]) => [n, 'x'.repeat(size)] as const) },
  );
  const headers = fc.oneof(
    { weight: 12, arbitrary: fc.array(header, { maxLength: 6 }) },
    // Many headers: up to a few hundred (node allows 2000; the 16 KiB block limit comes first).
    { weight: 1, arbitrary: fc.integer({ min: 50, max: 400 }).map((n) => Array.from({ length: n }, (_, i) => [`X-H${i}`, 'v'.repeat(20)] as const)) },
  );
  const fieldNames = fc.constantFrom('audience', 'resource', 'scope', 'clientId', 'objectId', 'resourceId', 'name', 'workspace', 'ttlSeconds', 'labels', 'audiences', 'allowedAudiences', 'cloud', 'source', 'tenantId', '__proto__', 'constructor', 'prototype');
  const jsonFields = fc.dictionary(
    fieldNames,
    fc.oneof(known, selectorValue, fc.jsonValue({ maxDepth: 2 }), fc.array(known, { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 }), { maxKeys: 3 })),
    { maxKeys: 5 },
  );
  const deep = fc.tuple(fc.integer({ min: 100, max: 20_000 }), fc.constantFrom('[', '{"a":')).map(([depth, open]) => open.repeat(depth) + '1' + (open === '[' ? ']' : '}').repeat(depth));
  const body = pick<string | undefined>(
    garbage,
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 4, arbitrary: jsonFields.map((o) => utf8Bytes(JSON.stringify(o))) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => utf8Bytes(JSON.stringify(v))) },
    { weight: 2, arbitrary: rawBytes(2_000) }, // any bytes are a valid body
    { weight: 1, arbitrary: fc.constantFrom('{', '{"audience":', '[', 'nul', '{"audience":"Storage"', '\u0000', '{"a":1}{"b":2}', '\ufeff{}', '{"audience":"Storage",}', '{"audience":"Storage","audience":"Vault"}', '{"audience":"\\ud800"}', '{"audience":1e999}', '{"ttlSeconds":1e308}') },
    { weight: 1, arbitrary: jsonFields.map((o) => bytesOf(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(JSON.stringify(o), 'utf16le')]))) }, // UTF-16LE with BOM
    { weight: 1, arbitrary: jsonFields.map((o) => bytesOf(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(o))]))) }, // UTF-8 BOM
    { weight: 1, arbitrary: jsonFields.map((o) => bytesOf(gzipSync(JSON.stringify(o)))) }, // compressed, with or without Content-Encoding
    { weight: 1, arbitrary: deep },
    { weight: 1, arbitrary: query },
    { weight: 1, arbitrary: fc.integer({ min: 65_500, max: 65_560 }).map((n) => `{"audience":"${'a'.repeat(Math.max(0, n - 15))}"}`) }, // around the 64 KiB limit
    { weight: 1, arbitrary: fc.integer({ min: 60_000, max: 70_000 }).map((n) => `{"audience":"${'a'.repeat(n)}"}`) },
  );
  const method = pick<string>(
    garbage,
    { weight: 8, arbitrary: fc.constantFrom('GET', 'GET', 'POST', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS') },
    { weight: 1, arbitrary: fc.constantFrom('TRACE', 'CONNECT', 'PROPFIND', 'SEARCH', 'MKCOL', 'PURGE', 'QUERY', 'LINK', 'UNLOCK') },
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
      headers,
      body,
      chunked: fc.boolean(),
    });
  return { request, target, query };
}

/** Three in four requests are well-formed HTTP; the rest carry garbage bytes. */
export function requests(ctx: FuzzContext, targetsOf: (a: Arbitraries) => fc.Arbitrary<string>): fc.Arbitrary<FuzzRequest> {
  const clean = arbitraries(ctx, false);
  const dirty = arbitraries(ctx, true);
  return fc.oneof({ weight: 3, arbitrary: clean.request(targetsOf(clean)) }, { weight: 1, arbitrary: dirty.request(targetsOf(dirty)) });
}
