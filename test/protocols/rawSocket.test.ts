/**
 * Fixed raw-socket cases for the HTTP layer: what node's parser refuses (oversized request lines and
 * header blocks, malformed lines and framing, no Host), CONNECT, Expect, a huge declared body and
 * upgrades. Every answer must be a complete response with a JSON error body and a documented code
 * (test/support/httpFuzz.ts `checkResponse`), never a dropped connection or a 5xx.
 *
 * The property-based fuzzing of every endpoint with generated requests is in
 * test/reliability/fuzz.test.ts (it runs in `npm test` at its default scale).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { checkResponse } from '../support/httpFuzz.js';
import { rawRequest, type RawResult } from '../support/rawHttp.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('HTTP layer: raw-socket cases (live server)', () => {
  let server: TestServer;
  /** A session for the cases that need a valid credential. */
  let stableSecret: string;

  before(async () => {
    server = await startTestServer();
    stableSecret = (await server.app.admin.createSession({ workspace: 'default', ttlSeconds: 86_400 })).secret;
  });

  after(async () => {
    await server?.close();
  });

  async function send(bytes: Buffer, method: string): Promise<RawResult> {
    return rawRequest(server.port, bytes, { method, timeoutMs: 20_000 });
  }

  describe('raw-socket cases', () => {
    async function raw(text: string, method = 'GET'): Promise<RawResult> {
      const bytes = Buffer.from(text, 'latin1');
      const result = await send(bytes, method);
      checkResponse(result, method, bytes, true);
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
        checkResponse(result, 'CONNECT', bytes, true);
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

  test('the server is still up and serves a token afterwards', async () => {
    const health = await send(Buffer.from('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), 'GET');
    assert.equal(health.response?.status, 200);
    const ok = await rawRequest(server.port, `GET /msi/token?resource=Storage HTTP/1.1\r\nHost: x\r\nX-IDENTITY-HEADER: ${stableSecret}\r\nConnection: close\r\n\r\n`);
    assert.equal(ok.response?.status, 200);
  });
});
