/**
 * The examples in docs/examples/ stay correct: every TypeScript block whose packages are installed
 * here (`wits/client`, `openai`, `@azure/identity`, `@azure/keyvault-secrets`) is type-checked
 * with the repository's compiler against the real type declarations; the others are checked for
 * their wits imports only. Every Python block of the client docs is compiled by python3.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { REPO_ROOT, run } from './support.js';

const DOCS = join(REPO_ROOT, 'docs');
const PAGES = [...readdirSync(join(DOCS, 'examples')).map((f) => join('examples', f)), 'client.md', 'from-mssparkutils.md'].filter((f) => f.endsWith('.md'));

interface Block {
  readonly page: string;
  readonly index: number;
  readonly lang: string;
  readonly code: string;
}

function blocks(): Block[] {
  const out: Block[] = [];
  for (const page of PAGES) {
    const text = readFileSync(join(DOCS, page), 'utf8');
    let index = 0;
    for (const match of text.matchAll(/^```(\w+)\n([\s\S]*?)^```$/gm)) {
      out.push({ page, index: index++, lang: match[1] as string, code: match[2] as string });
    }
  }
  return out;
}

const requireHere = createRequire(join(REPO_ROOT, 'package.json'));
function installed(specifier: string): boolean {
  if (specifier === 'wits/client' || specifier.startsWith('node:')) return true;
  try {
    requireHere.resolve(`${specifier}/package.json`);
    return true;
  } catch {
    try {
      requireHere.resolve(specifier);
      return true;
    } catch {
      return false;
    }
  }
}

test('TypeScript examples type-check against the real packages', async (t) => {
  const all = blocks().filter((b) => b.lang === 'ts' && b.page.startsWith('examples'));
  assert.ok(all.length >= 6, `found ${all.length} TypeScript example blocks`);
  const dir = join(REPO_ROOT, 'dist', 'doccheck');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const checked: string[] = [];
  const skipped: string[] = [];
  for (const block of all) {
    const imports = [...block.code.matchAll(/from '([^']+)'/g)].map((m) => m[1] as string);
    const name = `${block.page.replace(/\W+/g, '_')}_${block.index}`;
    if (!imports.includes('wits/client')) assert.fail(`${block.page} block ${block.index} does not use wits/client`);
    if (imports.every(installed)) {
      writeFileSync(join(dir, `${name}.ts`), block.code);
      checked.push(name);
    } else {
      skipped.push(`${name} (${imports.filter((i) => !installed(i)).join(', ')})`);
    }
  }
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noUncheckedIndexedAccess: true, noEmit: true, skipLibCheck: true, types: ['node'], typeRoots: ['../../node_modules/@types'] },
      include: ['*.ts'],
    }),
  );
  try {
    t.diagnostic(`type-checked: ${checked.join(', ')}`);
    t.diagnostic(`not installed here, imports checked only: ${skipped.join(', ') || 'none'}`);
    assert.ok(checked.length >= 4, `type-checked ${checked.length}: ${checked.join(', ')}; skipped ${skipped.join(', ')}`);
    const result = await run(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')], { timeoutMs: 120_000 });
    assert.equal(result.code, 0, `type errors in docs/examples:\n${result.stdout}${result.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Python examples compile, and use the names wits_client exports', async () => {
  const python = blocks().filter((b) => b.lang === 'python');
  assert.ok(python.length >= 8, `found ${python.length} Python blocks`);
  const exported = readFileSync(join(REPO_ROOT, 'python/wits_client.py'), 'utf8');
  for (const block of python) {
    for (const m of block.code.matchAll(/from wits_client import ([\w, ]+)/g)) {
      for (const name of (m[1] as string).split(',').map((s) => s.trim())) {
        assert.match(exported, new RegExp(`"${name}",`), `${block.page}: wits_client has no ${name}`);
      }
    }
  }
  const script = 'import json,sys\nfor b in json.load(sys.stdin):\n    compile(b["code"], b["name"], "exec")\nprint("ok")\n';
  const payload = JSON.stringify(python.map((b) => ({ name: `${b.page}#${b.index}`, code: b.code })));
  const result = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
    import('node:child_process').then(({ spawn }) => {
      const child = spawn('python3', ['-c', script], { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, out }));
      child.stdin.end(payload);
    }, reject);
  });
  assert.equal(result.code, 0, result.out);
});

test('every export of src/client has a doc comment with an @example', () => {
  const dir = join(REPO_ROOT, 'src/client');
  const missing: string[] = [];
  let count = 0;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const text = readFileSync(join(dir, file), 'utf8');
    for (const match of text.matchAll(/^export (?:async )?(?:function|class|const|interface|type|let) (\w+)/gm)) {
      count++;
      const before = text.slice(0, match.index).trimEnd();
      const doc = before.endsWith('*/') ? before.slice(before.lastIndexOf('/**')) : '';
      if (!doc.includes('@example')) missing.push(`${file}: ${match[1]}`);
    }
    // Public methods and accessors of exported classes too.
    for (const match of text.matchAll(/^ {2}(?:async |get |static )?([a-z]\w*)\((?:[^)]*)\)(?:: [^{\n]+)? \{$/gm)) {
      if (match[1] === 'constructor') continue;
      const before = text.slice(0, match.index).trimEnd();
      const doc = before.endsWith('*/') ? before.slice(before.lastIndexOf('/**')) : '';
      if (!doc.includes('@example')) missing.push(`${file}: method ${match[1]}`);
    }
  }
  assert.ok(count >= 30, `found ${count} exports`);
  assert.deepEqual(missing, []);
});
