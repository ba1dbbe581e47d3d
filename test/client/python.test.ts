/**
 * Runs the Python helper's own tests (test/python/test_wits_client.py, standard library only) with
 * the machine's python3, against live wits servers: the environment `wits exec` would set for an
 * RS256 server, an explicit endpoint of an ES256 server, and a user-assigned identity. Then the
 * tokens the Python code obtained are verified here, independently, with jose and the JWKS.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanEnv, REPO_ROOT, run, startWits, verifyIndependently, type TestWits } from './support.js';

let rs: TestWits;
let es: TestWits;
let outDir: string;
before(async () => {
  rs = await startWits();
  es = await startWits({ signingAlg: 'ES256' });
  outDir = mkdtempSync(join(tmpdir(), 'wits-python-test-'));
});
after(async () => {
  await rs.close();
  await es.close();
  rmSync(outDir, { recursive: true, force: true });
});

test('python/wits_client.py passes its unittest suite with python3 and the standard library only', async () => {
  const version = await run('python3', ['--version']).catch((err: NodeJS.ErrnoException) => {
    throw new Error(`python3 is required for the Python helper's tests (${err.code ?? err.message})`);
  });
  assert.match(version.stdout + version.stderr, /Python 3\.(\d+)/);

  const session = await rs.session();
  const esSession = await es.session();
  const uami = await rs.server.app.admin.addIdentity('default', { name: 'python-uami' });
  const out = join(outDir, 'tokens.json');
  const result = await run('python3', ['-m', 'unittest', 'discover', '-s', 'test/python', '-p', 'test_*.py', '-v'], {
    cwd: REPO_ROOT,
    timeoutMs: 120_000,
    env: cleanEnv({
      // No user site-packages: the helper must work with the standard library alone.
      PYTHONNOUSERSITE: '1',
      PYTHONPATH: join(REPO_ROOT, 'python'),
      PYTHONDONTWRITEBYTECODE: '1',
      IDENTITY_ENDPOINT: `${rs.url}/msi/token`,
      IDENTITY_HEADER: session.secret,
      WITS_TEST_LIVE: '1',
      WITS_TEST_OUT: out,
      WITS_TEST_ES256_ENDPOINT: es.url,
      WITS_TEST_ES256_SECRET: esSession.secret,
      WITS_TEST_UAMI_CLIENT_ID: uami.clientId,
    }),
  });
  const report = result.stderr;
  assert.equal(result.code, 0, `python3 -m unittest failed:\n${report}\n${result.stdout}`);
  const ran = /^Ran (\d+) tests? in [\d.]+s$/m.exec(report);
  assert.ok(ran !== null, `no result line in:\n${report}`);
  assert.ok(Number(ran[1]) >= 30, `only ${ran[1]} tests ran`);
  const summary = /^OK(?: \(skipped=(\d+)\))?$/m.exec(report);
  assert.ok(summary !== null, `no OK line in:\n${report}`);
  // Only the optional azure-core compatibility check may be skipped; every live test ran.
  const skipped = [...report.matchAll(/^(\S+) \(([^)]+)\) \.\.\. skipped '([^']*)'$/gm)].map((m) => `${m[1]}: ${m[3]}`);
  for (const line of skipped) assert.match(line, /azure-core is not installed/, `unexpected skip: ${line}`);
  assert.equal(Number(summary[1] ?? 0), skipped.length);

  // The tokens Python obtained verify through the JWKS (with jose, not with wits code).
  const tokens = JSON.parse(readFileSync(out, 'utf8')) as Record<string, string>;
  await verifyIndependently(tokens.alias as string, rs.url, 'https://storage.azure.com');
  await verifyIndependently(tokens.scope as string, rs.url, 'https://cognitiveservices.azure.com');
  await verifyIndependently(tokens.credential as string, rs.url, 'https://vault.azure.net');
  await verifyIndependently(tokens.es256 as string, es.url, 'https://storage.azure.com');
  await assert.rejects(verifyIndependently(tokens.tampered as string, rs.url, 'https://vault.azure.net'), 'the token Python judged tampered is refused by jose too');
});
