import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { WitsError } from '../../src/errors.js';
import { SqliteStore } from '../../src/store/sqliteStore.js';
import { makeTempDir, removeTempDir } from '../support/home.js';
import { auditEvent, identityRecord, runStoreConformance, sessionRecord, workspaceRecord } from './conformance.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = makeTempDir('wits-store-');
  dirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of dirs) removeTempDir(dir);
});

runStoreConformance('SqliteStore (file)', () => new SqliteStore({ path: join(tempDir(), 'wits.db') }));
runStoreConformance('SqliteStore (:memory:)', () => new SqliteStore({ path: ':memory:' }));
runStoreConformance('SqliteStore (file, durability full)', () => new SqliteStore({ path: join(tempDir(), 'wits.db'), durability: 'full' }));

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

describe('SqliteStore on a file', () => {
  test('data survives close and reopen', async () => {
    const path = join(tempDir(), 'wits.db');
    const first = new SqliteStore({ path });
    const ws = workspaceRecord('ws', { allowedAudiences: ['https://ai.azure.com'] });
    const system = identityRecord('ws');
    const session = sessionRecord('ws', { expiresAt: Date.now() + 60_000 });
    const event = auditEvent({ sessionId: session.id });
    await first.createWorkspace(ws, system);
    await first.createSession(session);
    await first.revokeSession(session.id, 4_242);
    await first.appendAudit(event);
    await first.setMeta('tenant_id', 'tenant');
    await first.addSigningKey({ kid: 'k', alg: 'RS256', privateJwk: '{}', publicJwk: '{}', createdAt: 1 });
    await first.close();
    await first.close(); // closing twice is harmless

    const second = new SqliteStore({ path });
    try {
      assert.deepEqual(await second.getWorkspace('ws'), ws);
      assert.deepEqual(await second.listIdentities('ws'), [system]);
      assert.deepEqual(await second.getSession(session.id), { ...session, revokedAt: 4_242 });
      const rows = await second.listAudit({});
      assert.equal(rows.length, 1);
      assert.equal(rows[0]?.tokenId, event.tokenId);
      assert.equal(await second.getMeta('tenant_id'), 'tenant');
      assert.equal((await second.listSigningKeys()).length, 1);
    } finally {
      await second.close();
    }
  });

  test('the database file (and its WAL) is created with mode 0600, its directory 0700', async () => {
    const dir = join(tempDir(), 'nested', 'state');
    const path = join(dir, 'wits.db');
    const store = new SqliteStore({ path });
    try {
      await store.setMeta('k', 'v');
      assert.equal(mode(path), 0o600, `db mode ${mode(path).toString(8)}`);
      assert.equal(mode(dir), 0o700, `dir mode ${mode(dir).toString(8)}`);
      // SQLite gives its side files the database file's mode; they hold the same data (keys).
      for (const side of [`${path}-wal`, `${path}-shm`]) {
        if (existsSync(side)) assert.equal(mode(side), 0o600, `${side} mode ${mode(side).toString(8)}`);
      }
    } finally {
      await store.close();
    }
  });

  test('a second SqliteStore on the same file sees the first one\'s writes (CLI + server)', async () => {
    const path = join(tempDir(), 'wits.db');
    const server = new SqliteStore({ path });
    const cli = new SqliteStore({ path });
    try {
      await server.createWorkspace(workspaceRecord('ws'), identityRecord('ws'));
      const session = sessionRecord('ws', { expiresAt: Date.now() + 60_000 });
      await cli.createSession(session);
      assert.deepEqual(await server.getSession(session.id), session);
      assert.equal((await server.listSessions({ workspace: 'ws' })).length, 1);

      assert.equal(await cli.revokeSession(session.id, 77), true);
      assert.equal((await server.getSession(session.id))?.revokedAt, 77);

      await server.appendAudit(auditEvent({ tokenId: 'from-server' }));
      await cli.appendAudit(auditEvent({ tokenId: 'from-cli' }));
      assert.deepEqual((await server.listAudit({})).map((r) => r.tokenId), ['from-server', 'from-cli']);
      assert.deepEqual((await cli.listAudit({})).map((r) => r.tokenId), ['from-server', 'from-cli']);

      // A conflict seen across connections is still ERR_CONFLICT.
      await assert.rejects(cli.createWorkspace(workspaceRecord('ws'), identityRecord('ws')), (err: unknown) => err instanceof WitsError && err.code === 'ERR_CONFLICT');
    } finally {
      await cli.close();
      await server.close();
    }
  });

  test('reads served from memory see every write of another connection (PRAGMA data_version)', async () => {
    const path = join(tempDir(), 'wits.db');
    const server = new SqliteStore({ path });
    const cli = new SqliteStore({ path });
    const turn = () => new Promise((resolve) => setImmediate(resolve));
    try {
      await server.createWorkspace(workspaceRecord('ws', { createdAt: 1, updatedAt: 1 }), identityRecord('ws'));
      const session = sessionRecord('ws', { expiresAt: Date.now() + 60_000 });
      await server.createSession(session);
      // Fill the server's caches.
      assert.deepEqual(await server.getSession(session.id), session);
      assert.equal((await server.getWorkspace('ws'))?.allowedAudiences, null);
      assert.equal((await server.listIdentities('ws')).length, 1);

      // Session revocation by another process: seen by the very next getSession, same turn or not.
      assert.equal(await cli.revokeSession(session.id, 99), true);
      assert.equal((await server.getSession(session.id))?.revokedAt, 99);

      // Workspace and identity changes by another process: seen from the next event-loop turn on.
      await cli.updateWorkspace(workspaceRecord('ws', { allowedAudiences: ['https://ai.azure.com'], createdAt: 1, updatedAt: 2 }));
      await cli.addIdentity(identityRecord('ws', 'second'));
      await turn();
      assert.deepEqual((await server.getWorkspace('ws'))?.allowedAudiences, ['https://ai.azure.com']);
      assert.equal((await server.listIdentities('ws')).length, 2);

      // This connection's own writes are seen at once (data_version does not report them).
      await server.updateWorkspace(workspaceRecord('ws', { createdAt: 1, updatedAt: 3 }));
      assert.equal((await server.getWorkspace('ws'))?.updatedAt, 3);
      const other = sessionRecord('ws', { expiresAt: Date.now() + 60_000 });
      await server.createSession(other);
      assert.equal((await server.getSession(other.id))?.revokedAt, null);
      await server.revokeSession(other.id, 5);
      assert.equal((await server.getSession(other.id))?.revokedAt, 5);

      // Cached records are frozen, and lists are the caller's own copies.
      const identities = await server.listIdentities('ws');
      identities.pop();
      assert.equal((await server.listIdentities('ws')).length, 2);
      assert.ok(Object.isFrozen(await server.getWorkspace('ws')));
      assert.ok(Object.isFrozen(await server.getSession(other.id)));
    } finally {
      await cli.close();
      await server.close();
    }
  });

  test('audit rows appended in one turn are committed together; a bad row fails alone', async () => {
    const path = join(tempDir(), 'wits.db');
    const store = new SqliteStore({ path });
    try {
      const appends = Array.from({ length: 50 }, (_, i) => store.appendAudit(auditEvent({ time: 1_000 + i, tokenId: `t${i}` })));
      // A row that breaks the STRICT schema (a non-integer time) rejects; the other 50 resolve.
      const bad = store.appendAudit(auditEvent({ time: 'not a time' as unknown as number, tokenId: 'bad' }));
      await Promise.all(appends);
      await assert.rejects(bad);
      assert.deepEqual((await store.listAudit({})).map((r) => r.tokenId), Array.from({ length: 50 }, (_, i) => `t${i}`));
      // close() commits what is still pending before it closes.
      const last = store.appendAudit(auditEvent({ tokenId: 'at-close' }));
      await store.close();
      await last;
    } finally {
      await store.close();
    }
    const reopened = new SqliteStore({ path });
    try {
      assert.equal((await reopened.listAudit({})).at(-1)?.tokenId, 'at-close');
    } finally {
      await reopened.close();
    }
  });

  test('checkpointInBackground: a worker thread moves committed pages into the database file', { timeout: 30_000 }, async () => {
    const path = join(tempDir(), 'wits.db');
    const store = new SqliteStore({ path, checkpointInBackground: true });
    try {
      const before = statSync(path).size;
      for (let batch = 0; batch < 20; batch++) {
        await Promise.all(Array.from({ length: 250 }, (_, i) => store.appendAudit(auditEvent({ time: batch * 1000 + i }))));
      }
      // The server's connection never checkpoints by itself; only the worker makes the file grow.
      const deadline = Date.now() + 10_000;
      while (statSync(path).size <= before + 200_000 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.ok(statSync(path).size > before + 200_000, `database file ${before} -> ${statSync(path).size} bytes`);
      assert.equal((await store.listAudit({ limit: 10_000 })).length, 5_000);
    } finally {
      await store.close();
    }
    const reopened = new SqliteStore({ path });
    try {
      assert.equal((await reopened.listAudit({ limit: 10_000 })).length, 5_000);
    } finally {
      await reopened.close();
    }
  });

  test('refuses a database whose schema is newer than this wits', async () => {
    const path = join(tempDir(), 'wits.db');
    await new SqliteStore({ path }).close();
    const db = new Database(path);
    db.pragma('user_version = 99');
    db.close();
    assert.throws(() => new SqliteStore({ path }), (err: unknown) => err instanceof WitsError && err.code === 'ERR_INVALID_CONFIG' && /newer/.test(err.message));
  });

  test('acknowledged writes survive kill -9 of the writing process', { timeout: 60_000 }, async () => {
    const path = join(tempDir(), 'wits.db');
    const setup = new SqliteStore({ path });
    await setup.createWorkspace(workspaceRecord('ws'), identityRecord('ws'));
    await setup.close();

    const storeModule = fileURLToPath(new URL('../../src/store/sqliteStore.js', import.meta.url));
    const script = `
      const { SqliteStore } = await import(${JSON.stringify(storeModule)});
      const store = new SqliteStore({ path: ${JSON.stringify(path)} });
      await store.createSession({ id: 'crash-session', workspace: 'ws', secretHash: 'ab'.repeat(32), audiences: null,
        labels: { k: 'v' }, createdAt: 1, expiresAt: Date.now() + 3600000, revokedAt: null });
      await store.appendAudit({ time: Date.now(), protocol: 'appservice', outcome: 'issued', workspace: 'ws',
        sessionId: 'crash-session', identity: 'id', audience: 'https://ai.azure.com', code: null, tokenId: 'crash-jti', expiresAt: 1 });
      process.stdout.write('acked\\n');
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('acked')) {
          // SIGKILL at once: no exit handlers, no close(), no checkpoint.
          child.kill('SIGKILL');
          resolve();
        }
      });
      void exited.then(({ code, signal }) => reject(new Error(`child exited before acking (code ${code}, signal ${signal}): ${stderr}`)));
    });
    const { signal } = await exited;
    assert.equal(signal, 'SIGKILL');

    const reopened = new SqliteStore({ path });
    try {
      const session = await reopened.getSession('crash-session');
      assert.ok(session !== undefined, 'the acknowledged session was lost');
      assert.deepEqual(session.labels, { k: 'v' });
      const rows = await reopened.listAudit({});
      assert.deepEqual(rows.map((r) => r.tokenId), ['crash-jti']);
    } finally {
      await reopened.close();
    }
  });
});
