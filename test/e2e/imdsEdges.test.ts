/**
 * The session-bound IMDS endpoint of `wits exec --imds`, byte by byte (protocols.md section 3):
 * a child under exec sends raw requests the way the various clients (and attackers) do, and the
 * answers are checked here, tokens through the strict resource-server stand-in.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { StrictResourceServer } from './resourceServer.js';
import { AI_FOUNDRY, clientScript, cleanEnv, COGNITIVE_SERVICES, lastJsonLine, removeDir, startServe, tempDir, wits, witsOk, type WitsServer } from './support.js';

interface RawResult {
  name: string;
  status: number;
  contentType: string | undefined;
  body: Record<string, unknown>;
}

describe('IMDS endpoint edge cases (raw HTTP under wits exec --imds)', { concurrency: false }, () => {
  let home: string;
  let server: WitsServer;
  let resourceServer: StrictResourceServer;
  let host: string;
  const results = new Map<string, RawResult>();

  before(async () => {
    home = tempDir('imds');
    server = await startServe(home);
    resourceServer = new StrictResourceServer(server.url);
    const run = await wits(['exec', '--imds', '--server', server.url, '--home', home, '--label', 'e2e=raw-imds', '--', process.execPath, clientScript('rawImds')], {
      env: cleanEnv(),
    });
    assert.equal(run.code, 0, `stdout: ${run.stdout}\nstderr: ${run.stderr}`);
    const out = lastJsonLine<{ host: string; results: RawResult[] }>(run);
    host = out.host;
    for (const r of out.results) results.set(r.name, r);
  });

  after(async () => {
    await server?.stop();
    if (home !== undefined) removeDir(home);
  });

  function result(name: string): RawResult {
    const r = results.get(name);
    assert.ok(r, `the child ran case ${name}`);
    return r;
  }

  /** A JSON error body that every client family recognises, and no token. */
  function assertJsonError(r: RawResult, status: number): void {
    assert.equal(r.status, status, `${r.name}: ${JSON.stringify(r.body)}`);
    assert.match(r.contentType ?? '', /^application\/json/, `${r.name}: JSON content type`);
    assert.equal(typeof r.body.error, 'string', `${r.name}: an 'error' field`);
    assert.equal(typeof r.body.error_description, 'string', `${r.name}: an 'error_description' field`);
    assert.equal(r.body.access_token, undefined, `${r.name}: no token`);
  }

  async function assertToken(r: RawResult, resource: string): Promise<void> {
    assert.equal(r.status, 200, `${r.name}: ${JSON.stringify(r.body)}`);
    assert.match(r.contentType ?? '', /^application\/json/);
    const claims = await resourceServer.verify(r.body.access_token as string, resource);
    assert.equal(claims.aud, resource);
    assert.match(String(r.body.expires_on), /^\d+$/, 'expires_on is epoch seconds as digits');
    assert.match(String(r.body.expires_in), /^\d+$/);
    assert.equal(Number(r.body.expires_on), claims.exp);
    assert.equal(r.body.token_type, 'Bearer');
    assert.equal(typeof r.body.resource, 'string');
  }

  test('the endpoint is on loopback, on its own port (not the server)', () => {
    assert.match(host, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(host, server.url);
  });

  test('the availability probe (no Metadata header, no query) gets 400 with a JSON error', () => {
    assertJsonError(result('probe'), 400);
    assertJsonError(result('no-metadata-with-query'), 400);
  });

  test('Metadata: true works on the canonical path', async () => {
    await assertToken(result('canonical'), COGNITIVE_SERVICES);
  });

  test('Metadata: true works on the trailing-slash path, and with the lower-cased URL msal-node sends', async () => {
    await assertToken(result('trailing-slash'), COGNITIVE_SERVICES);
    await assertToken(result('msal-lowercased-trailing-slash'), AI_FOUNDRY);
  });

  test('Python-style unencoded resource=https://ai.azure.com works', async () => {
    await assertToken(result('python-unencoded'), AI_FOUNDRY);
  });

  test('a request carrying X-Forwarded-For is refused with 400 JSON', () => {
    assertJsonError(result('x-forwarded-for'), 400);
  });

  test('PUT and DELETE get 405 JSON', () => {
    assertJsonError(result('put'), 405);
    assertJsonError(result('delete'), 405);
  });

  test('refused requests never reached the token service; the four good ones are audited as imds', async () => {
    const { stdout } = await witsOk(['audit', '--json'], { env: server.adminEnv() });
    const rows = JSON.parse(stdout) as Array<{ protocol: string; outcome: string; audience: string | null }>;
    assert.equal(rows.filter((r) => r.outcome === 'issued' && r.protocol === 'imds').length, 4);
    assert.equal(rows.filter((r) => r.outcome === 'refused').length, 0, 'the IMDS endpoint refused them before forwarding');
    assert.equal(rows.length, 4);
  });

  test('after exit the IMDS endpoint is closed', async () => {
    await assert.rejects(fetch(`${host}/metadata/identity/oauth2/token?resource=${encodeURIComponent(COGNITIVE_SERVICES)}`, { headers: { Metadata: 'true' } }));
  });
});
