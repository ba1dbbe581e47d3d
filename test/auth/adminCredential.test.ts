import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AdminCredential, adminTokenPath, ensureAdminToken, readAdminToken } from '../../src/auth/adminCredential.js';
import { WitsError } from '../../src/errors.js';
import { makeTempDir, removeTempDir } from '../support/home.js';
import { startTestServer } from '../support/server.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = makeTempDir('wits-admin-');
  dirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of dirs) removeTempDir(dir);
});

describe('admin credential file', () => {
  test('created at first use with mode 0600 (and its directory 0700), then stable', () => {
    const home = join(tempDir(), 'fresh-home');
    assert.equal(readAdminToken(home), undefined);
    const token = ensureAdminToken(home);
    assert.match(token, /^witsadm\.[A-Za-z0-9_-]{43}$/);
    const path = adminTokenPath(home);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(home).mode & 0o777, 0o700);
    assert.equal(readFileSync(path, 'utf8'), token + '\n');
    assert.equal(ensureAdminToken(home), token);
    assert.equal(readAdminToken(home), token);
    assert.equal(readFileSync(path, 'utf8'), token + '\n', 'never rewritten');
  });

  test('an existing credential is used as is (surrounding whitespace ignored)', () => {
    const home = tempDir();
    writeFileSync(adminTokenPath(home), '  witsadm.custom  \n', { mode: 0o600 });
    assert.equal(ensureAdminToken(home), 'witsadm.custom');
  });

  test('two homes get different credentials', () => {
    assert.notEqual(ensureAdminToken(tempDir()), ensureAdminToken(tempDir()));
  });

  test('a credential file another process is still writing is waited for, not returned empty', { timeout: 30_000 }, async () => {
    const home = tempDir();
    const path = adminTokenPath(home);
    // The other process created the file (empty) and writes the value a moment later.
    writeFileSync(path, '', { mode: 0o600 });
    const writer = spawn(
      process.execPath,
      ['-e', `process.stdout.write('ready\\n'); setTimeout(() => require('fs').writeFileSync(${JSON.stringify(path)}, 'witsadm.winner\\n'), 200);`],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve) => writer.stdout.once('data', () => resolve()));
    const exited = new Promise((resolve) => writer.once('exit', resolve));
    assert.equal(ensureAdminToken(home), 'witsadm.winner');
    await exited;
  });

  test('an empty credential file that stays empty is a clear configuration error', () => {
    const home = tempDir();
    writeFileSync(adminTokenPath(home), '\n', { mode: 0o600 });
    assert.throws(() => ensureAdminToken(home), (err: unknown) => err instanceof WitsError && err.code === 'ERR_INVALID_CONFIG' && /admin-token/.test(err.message));
  });
});

describe('AdminCredential', () => {
  test('matches the exact credential only', () => {
    const credential = new AdminCredential('witsadm.secret');
    assert.equal(credential.matches('witsadm.secret'), true);
    for (const other of ['', 'witsadm.secre', 'witsadm.secret ', 'WITSADM.SECRET', 'witsadm.secret\n', 'x'.repeat(10_000)]) {
      assert.equal(credential.matches(other), false, JSON.stringify(other.slice(0, 20)));
    }
  });
});

describe('admin credential across server restarts', () => {
  test('the server creates it 0600 in its home and keeps it across restarts', { timeout: 60_000 }, async () => {
    const home = tempDir();
    const first = await startTestServer({ home });
    let token: string;
    try {
      token = first.adminToken;
      assert.match(token, /^witsadm\./);
      assert.equal(statSync(adminTokenPath(home)).mode & 0o777, 0o600);
    } finally {
      await first.close();
    }
    const second = await startTestServer({ home });
    try {
      assert.equal(second.adminToken, token);
      const response = await fetch(`${second.url}/admin/workspaces`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(response.status, 200);
      await response.arrayBuffer();
    } finally {
      await second.close();
    }
  });
});
