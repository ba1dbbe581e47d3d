/** The access log: one line per request, and never a credential, even one pasted into the path. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from '../support/http.js';
import { memoryLogger, type MemoryLogger } from '../support/logger.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('access log', () => {
  let server: TestServer;
  let logger: MemoryLogger;
  let secret: string;

  before(async () => {
    logger = memoryLogger('debug');
    server = await startTestServer({ logger });
    secret = (await server.app.admin.createSession({ workspace: 'default' })).secret;
  });
  after(() => server.close());

  test('logs method, path, status and code per request, without the query', async () => {
    const response = await request(`${server.url}/msi/token?resource=Storage`, { headers: { 'x-identity-header': secret } });
    assert.equal(response.status, 200);
    const line = logger.entries().find((e) => e.msg === 'request' && e.path === '/msi/token');
    assert.ok(line, 'a request line');
    assert.equal(line.status, 200);
    assert.equal(line.method, 'GET');
    assert.ok(!logger.lines.some((l) => l.includes('resource=')), 'no query string');
  });

  test('a secret, admin credential or token pasted into the path is redacted', async () => {
    const token = (await request(`${server.url}/msi/token?resource=Vault`, { headers: { 'x-identity-header': secret } })).body.access_token as string;
    for (const pasted of [secret, server.adminToken, token]) {
      const response = await request(`${server.url}/msi/token/${pasted}`);
      assert.equal(response.status, 404);
    }
    const text = logger.lines.join('');
    assert.ok(logger.entries().some((e) => e.msg === 'request' && String(e.path).includes('[redacted]')));
    for (const needle of [secret, secret.split('.')[2] as string, server.adminToken, token, token.split('.')[1] as string]) {
      assert.ok(!text.includes(needle), 'credential absent from the log');
    }
  });
});
