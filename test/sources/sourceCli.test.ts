/**
 * Token source configuration through the CLI and the admin API (issue #4): every invalid config is
 * refused when it is set, with one clear line (no stack, no secret), and nothing is stored; and
 * `wits issuer export` writes the discovery document and JWKS that match the server's keys, so the
 * exported directory verifies what the server signs.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import {
  adminCall,
  assertWitsError,
  createSession,
  http,
  msiToken,
  removeDir,
  startWits,
  tempDir,
  wits,
  witsOk,
  type RunResult,
  type WitsServer,
} from './harness.js';

const TENANT = randomUUID();
const CLIENT = randomUUID();
const SECRET_VALUE = `wits-cli-secret~${randomBytes(24).toString('base64url')}`;

/** One line on stderr, nothing on stdout, no stack trace, the expected exit code and message. */
function assertOneLineError(result: RunResult, code: number, message: RegExp): void {
  assert.equal(result.code, code, `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  assert.equal(result.stdout, '');
  const lines = result.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `one line expected:\n${result.stderr}`);
  assert.match(lines[0] as string, message);
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
}

describe('source config validation through `wits workspace`', () => {
  let home: string;
  let files: string;
  let secretFile: string;
  let junkFile: string;
  const outputs: string[] = [];

  before(async () => {
    home = tempDir('cli');
    files = tempDir('cli-files');
    secretFile = join(files, 'secret');
    writeFileSync(secretFile, SECRET_VALUE + '\n', { mode: 0o600 });
    junkFile = join(files, 'junk.pem');
    writeFileSync(junkFile, 'this is not a PEM bundle\n');
  });

  after(() => {
    if (home !== undefined) removeDir(home);
    if (files !== undefined) removeDir(files);
  });

  const entra = (kind: string) => ['--source', kind, '--tenant-id', TENANT, '--client-id', CLIENT];
  const cases: Array<{ name: string; args: () => string[]; code: number; message: RegExp }> = [
    {
      name: 'unknown source kind',
      args: () => ['--source', 'magic'],
      code: 1,
      message: /^wits workspace: Unknown token source 'magic' \(known: local, managed-identity, entra-federated, entra-certificate, entra-secret\)\. \(ERR_INVALID_ARGUMENT\)$/,
    },
    {
      name: 'missing tenant id',
      args: () => ['--source', 'entra-federated', '--client-id', CLIENT],
      code: 1,
      message: /Invalid 'entra-federated' source: 'tenantId' is required \(--tenant-id\)\. \(ERR_INVALID_ARGUMENT\)$/,
    },
    {
      name: 'missing client id',
      args: () => ['--source', 'entra-secret', '--tenant-id', TENANT, '--secret-file', secretFile],
      code: 1,
      message: /Invalid 'entra-secret' source: 'clientId' is required \(--client-id\)/,
    },
    {
      name: 'client id not a GUID',
      args: () => ['--source', 'entra-federated', '--tenant-id', TENANT, '--client-id', 'my-app'],
      code: 1,
      message: /'clientId' must be a GUID/,
    },
    {
      name: 'plain-http authority',
      args: () => [...entra('entra-secret'), '--authority', 'http://login.microsoftonline.com', '--secret-file', secretFile],
      code: 1,
      message: /Invalid 'entra-secret' source: 'authority' must be an https URL without query, fragment or user info\./,
    },
    {
      name: 'authority not a URL',
      args: () => [...entra('entra-federated'), '--authority', 'login.microsoftonline.com'],
      code: 1,
      message: /'authority' must be a URL such as https:\/\/login\.microsoftonline\.com/,
    },
    {
      name: 'missing certificate file',
      args: () => [...entra('entra-certificate'), '--certificate-file', join(files, 'nope.pem')],
      code: 1,
      message: /Cannot read the certificate file \/.*nope\.pem: ENOENT\. \(ERR_INVALID_ARGUMENT\)$/,
    },
    {
      name: 'certificate file without key and certificate',
      args: () => [...entra('entra-certificate'), '--certificate-file', junkFile],
      code: 1,
      message: /The certificate PEM must hold a private key and a certificate\./,
    },
    {
      name: 'both secret file and secret variable',
      args: () => [...entra('entra-secret'), '--secret-file', secretFile, '--secret-env', 'SOME_VAR'],
      code: 1,
      message: /give exactly one of 'secretFile' and 'secretEnv'/,
    },
    {
      name: 'secret variable not set',
      args: () => [...entra('entra-secret'), '--secret-env', 'WITS_TEST_SECRET_NOT_SET'],
      code: 1,
      message: /The environment variable WITS_TEST_SECRET_NOT_SET \(client secret\) is not set in the wits process\./,
    },
    {
      name: 'unknown option for managed-identity (authority)',
      args: () => ['--source', 'managed-identity', '--authority', 'https://login.microsoftonline.com'],
      code: 1,
      message: /Invalid 'managed-identity' source: unknown option\(s\) authority \(allowed: clientId, resourceId, objectId\)\./,
    },
    {
      name: 'unknown option for local (client id)',
      args: () => ['--source', 'local', '--client-id', CLIENT],
      code: 1,
      message: /Invalid 'local' source: unknown option\(s\) clientId \(allowed: none\)\./,
    },
    {
      name: 'two managed identities at once',
      args: () => ['--source', 'managed-identity', '--client-id', CLIENT, '--object-id', randomUUID()],
      code: 1,
      message: /give at most one of clientId, objectId and resourceId/,
    },
    {
      name: 'source option without --source',
      args: () => ['--client-id', CLIENT],
      code: 2,
      message: /^wits workspace: --client-id needs --source\. Run 'wits workspace --help'\.$/,
    },
    {
      name: 'unknown flag',
      args: () => ['--source', 'entra-secret', '--secret', SECRET_VALUE],
      code: 2,
      message: /Unknown option '--secret'/,
    },
  ];

  for (const c of cases) {
    test(`refused in one line: ${c.name}`, async () => {
      const result = await wits(['workspace', 'create', 'w1', '--home', home, ...c.args()]);
      outputs.push(result.stdout + result.stderr);
      assertOneLineError(result, c.code, c.message);
    });
  }

  test('update refuses an invalid source too, and the valid one is stored without any secret', async () => {
    const bad = await wits(['workspace', 'update', 'default', '--home', home, '--source', 'entra-federated', '--client-id', CLIENT]);
    outputs.push(bad.stdout + bad.stderr);
    assertOneLineError(bad, 1, /'tenantId' is required/);
    const list = JSON.parse((await witsOk(['workspace', 'list', '--json', '--home', home])).stdout) as Array<{ name: string; source: { kind: string } }>;
    assert.deepEqual(list.map((w) => [w.name, w.source.kind]), [['default', 'local']], 'no refused config was stored');

    const ok = await witsOk(['workspace', 'create', 'w2', '--home', home, '--json', ...entra('entra-secret'), '--secret-file', secretFile]);
    outputs.push(ok.stdout + ok.stderr);
    const view = JSON.parse(ok.stdout) as { source: { options: Record<string, string> }; identities: Array<{ kind: string; clientId: string; tenantId: string }> };
    assert.deepEqual(view.source.options, { tenantId: TENANT, clientId: CLIENT, secretFile });
    const system = view.identities.find((i) => i.kind === 'system');
    assert.equal(system?.clientId, CLIENT);
    assert.equal(system?.tenantId, TENANT);
    for (const output of outputs) assert.ok(!output.includes(SECRET_VALUE), 'the secret never appears in CLI output');
    for (const f of ['wits.db', 'wits.db-wal']) {
      const path = join(home, f);
      if (existsSync(path)) assert.equal(readFileSync(path).indexOf(Buffer.from(SECRET_VALUE)), -1, `the secret is not in ${f}`);
    }
  });
});

describe('`wits issuer export` and the admin API', () => {
  const ISSUER = 'https://example.test/wits';
  let home: string;
  let out: string;
  let server: WitsServer;

  before(() => {
    home = tempDir('issuer');
    out = tempDir('issuer-out');
  });

  after(async () => {
    await server?.stop();
    if (home !== undefined) removeDir(home);
    if (out !== undefined) removeDir(out);
  });

  test('writes discovery + JWKS for the issuer URL, matching what the server serves and signs with', async () => {
    const first = join(out, 'first');
    const exported = await witsOk(['issuer', 'export', first, '--issuer', ISSUER, '--home', home, '--json']);
    const paths = JSON.parse(exported.stdout) as { issuer: string; discovery: string; jwks: string };
    assert.equal(paths.issuer, ISSUER);
    assert.equal(paths.discovery, join(first, '.well-known', 'openid-configuration'));
    assert.equal(paths.jwks, join(first, '.well-known', 'jwks.json'));
    const discovery = JSON.parse(readFileSync(paths.discovery, 'utf8')) as { issuer: string; jwks_uri: string; id_token_signing_alg_values_supported: string[] };
    const jwks = JSON.parse(readFileSync(paths.jwks, 'utf8')) as JSONWebKeySet;
    assert.equal(discovery.issuer, ISSUER);
    assert.equal(discovery.jwks_uri, `${ISSUER}/.well-known/jwks.json`);
    assert.ok(jwks.keys.length >= 1);
    for (const k of jwks.keys) {
      assert.equal(typeof k.kid, 'string');
      for (const privatePart of ['d', 'p', 'q', 'dp', 'dq', 'qi']) assert.equal((k as Record<string, unknown>)[privatePart], undefined, 'public keys only');
    }

    // The server on the same state directory serves the same documents and signs with those keys.
    server = await startWits(home, {}, ['--issuer', ISSUER]);
    assert.equal(server.issuer, ISSUER);
    const served = await http(`${server.url}/wits/.well-known/openid-configuration`);
    assert.equal(served.status, 200);
    assert.deepEqual(served.body, discovery);
    assert.deepEqual((await http(`${server.url}/.well-known/jwks.json`)).body, jwks);
    const secret = await createSession(server, 'default');
    const r = await msiToken(server, secret, 'https://cognitiveservices.azure.com');
    assert.equal(r.status, 200, r.text);
    const { payload } = await jwtVerify(r.body.access_token as string, createLocalJWKSet(jwks), { issuer: ISSUER, audience: 'https://cognitiveservices.azure.com' });
    assert.equal(payload.iss, ISSUER);

    // Exporting again gives the same documents (the keys are the server's, not new ones).
    const second = join(out, 'second');
    const again = await witsOk(['issuer', 'export', second, '--issuer', ISSUER, '--home', home]);
    assert.match(again.stdout, /publish .* at https:\/\/example\.test\/wits/);
    assert.deepEqual(JSON.parse(readFileSync(join(second, '.well-known', 'jwks.json'), 'utf8')), jwks);
    assert.deepEqual(JSON.parse(readFileSync(join(second, '.well-known', 'openid-configuration'), 'utf8')), discovery);
  });

  test('refuses a plain-http issuer or none, in one line', async () => {
    assertOneLineError(await wits(['issuer', 'export', join(out, 'x'), '--issuer', 'http://example.test/wits', '--home', home]), 2, /--issuer must be an https URL/);
    assertOneLineError(await wits(['issuer', 'export', join(out, 'y'), '--home', home]), 2, /Give the public issuer URL with --issuer/);
    assert.equal(existsSync(join(out, 'x')), false);
  });

  test('the admin API refuses an unknown source option or kind with a JSON 400', async () => {
    assert.ok(server !== undefined, 'the server of the previous test runs');
    const unknownOption = await adminCall(server, 'POST', '/admin/workspaces', { name: 'api1', source: { kind: 'managed-identity', options: { bogus: 'x' } } });
    assertWitsError(unknownOption, 400, 'ERR_INVALID_ARGUMENT');
    assert.match(unknownOption.body.message, /unknown option\(s\) bogus/);
    const unknownKind = await adminCall(server, 'PATCH', '/admin/workspaces/default', { source: { kind: 'aws-sts', options: {} } });
    assertWitsError(unknownKind, 400, 'ERR_INVALID_ARGUMENT');
    const missing = await adminCall(server, 'POST', '/admin/workspaces', { name: 'api2', source: { kind: 'entra-certificate', options: { tenantId: TENANT, clientId: CLIENT } } });
    assertWitsError(missing, 400, 'ERR_INVALID_ARGUMENT');
    assert.match(missing.body.message, /give exactly one of 'certificateFile' and 'certificateEnv'/);
    const list = await adminCall(server, 'GET', '/admin/workspaces');
    assert.deepEqual((list.body as Array<{ name: string }>).map((w) => w.name), ['default']);
  });
});
