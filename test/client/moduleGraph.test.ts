/**
 * `wits/client` has zero runtime dependencies: importing it (through the package's `exports`, as
 * users do) loads only its own files: no server module, no SQLite, no package, no Node built-in.
 * Checked at run time with a loader hook that sees every module Node loads (with a positive
 * control showing the hook does see the server's modules), and statically on the compiled files
 * and their type declarations.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { childScript, REPO_ROOT, run } from './support.js';

const CLIENT_DIR = join(REPO_ROOT, 'dist/src/client');
const CLIENT_URL = pathToFileURL(CLIENT_DIR).href + '/';

async function loadedBy(specifier: string): Promise<{ loaded: string[]; cjs: string[]; exports: string[] }> {
  const result = await run(process.execPath, [childScript('moduleGraph'), specifier]);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout.trim().split('\n').pop() ?? '{}');
}

test("importing 'wits/client' loads only the client's own modules", async () => {
  const { loaded, cjs, exports } = await loadedBy('wits/client');
  assert.ok(loaded.length >= 5, `the hook saw the client load: ${loaded.join(', ')}`);
  const foreign = loaded.filter((url) => !url.startsWith(CLIENT_URL));
  assert.deepEqual(foreign, [], 'modules outside dist/src/client (server, packages or built-ins)');
  assert.deepEqual(cjs, [], 'nothing in require.cache');
  for (const name of ['credentials', 'WitsCredential', 'WitsClient', 'bearerTokenProvider', 'decodeJwt', 'TokenRequestError', 'EndpointNotFoundError']) {
    assert.ok(exports.includes(name), `exports ${name}`);
  }
});

test('control: the same probe does see the server and SQLite when they are imported', async () => {
  const { loaded } = await loadedBy(pathToFileURL(join(REPO_ROOT, 'dist/src/server.js')).href);
  assert.ok(loaded.some((url) => url.endsWith('/dist/src/app.js')));
  assert.ok(loaded.some((url) => url.includes('better-sqlite3') || url.includes('sqliteStore')));
});

test('the package maps wits/client to the compiled client', () => {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { exports: Record<string, string>; files: string[] };
  assert.equal(pkg.exports['./client'], './dist/src/client/index.js');
  assert.ok(existsSync(join(CLIENT_DIR, 'index.js')));
  assert.ok(existsSync(join(CLIENT_DIR, 'index.d.ts')));
  assert.ok(pkg.files.includes('python'), 'the Python helper ships with the package');
});

test('statically: compiled client files import only each other, and their type declarations need no package', () => {
  const files = readdirSync(CLIENT_DIR).filter((f) => f.endsWith('.js') || f.endsWith('.d.ts'));
  assert.ok(files.length > 0);
  for (const file of files) {
    // Doc comments hold `import ... from 'wits/client'` examples: scan the code only.
    const text = readFileSync(join(CLIENT_DIR, file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
    const specifiers = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g)].map((m) => m[1] as string);
    for (const specifier of specifiers) {
      assert.match(specifier, /^\.\/[A-Za-z0-9]+\.js$/, `${file} imports ${specifier}`);
    }
    assert.doesNotMatch(text, /\brequire\(/, `${file} uses require()`);
  }
});
