import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { AdminService } from '../../src/admin/adminService.js';
import { SessionAuthenticator } from '../../src/auth/sessionAuthenticator.js';
import { newSessionSecret } from '../../src/auth/sessionSecret.js';
import { WitsError, type ErrorCode } from '../../src/errors.js';
import { SqliteStore } from '../../src/store/sqliteStore.js';

async function refusal(promise: Promise<unknown>): Promise<WitsError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof WitsError, String(err));
    return err;
  }
  assert.fail('expected a refusal');
}

async function refusedWith(promise: Promise<unknown>, code: ErrorCode): Promise<WitsError> {
  const err = await refusal(promise);
  assert.equal(err.code, code, err.message);
  assert.equal(err.status, 401);
  return err;
}

describe('SessionAuthenticator', () => {
  let store: SqliteStore;
  let admin: AdminService;
  let auth: SessionAuthenticator;

  before(async () => {
    store = new SqliteStore({ path: ':memory:' });
    admin = new AdminService(store, { defaultSessionTtlSeconds: 3600, maxSessionTtlSeconds: 86_400 });
    await admin.bootstrap();
    auth = new SessionAuthenticator(store);
  });

  after(async () => {
    await store.close();
  });

  test('a valid secret gives its session', async () => {
    const created = await admin.createSession({ workspace: 'default', labels: { who: 'test' } });
    const session = await auth.authenticate(created.secret);
    assert.equal(session.id, created.id);
    assert.equal(session.workspace, 'default');
    assert.deepEqual(session.labels, { who: 'test' });
  });

  test('missing, wrong, unknown and garbage secrets all give the same ERR_UNAUTHENTICATED', async () => {
    const created = await admin.createSession({ workspace: 'default' });
    const [, id, part] = created.secret.split('.') as [string, string, string];
    const missing = await refusedWith(auth.authenticate(undefined), 'ERR_UNAUTHENTICATED');
    await refusedWith(auth.authenticate(''), 'ERR_UNAUTHENTICATED');
    assert.match(missing.message, /Missing/);

    const flipped = part.slice(0, -1) + (part.endsWith('A') ? 'B' : 'A');
    const wrong = await refusedWith(auth.authenticate(`wits.${id}.${flipped}`), 'ERR_UNAUTHENTICATED');
    const unknown = await refusedWith(auth.authenticate(newSessionSecret().secret), 'ERR_UNAUTHENTICATED');
    const garbage = await refusedWith(auth.authenticate('definitely not a secret'), 'ERR_UNAUTHENTICATED');
    const otherSession = await admin.createSession({ workspace: 'default' });
    const swapped = await refusedWith(auth.authenticate(`wits.${id}.${otherSession.secret.split('.')[2]}`), 'ERR_UNAUTHENTICATED');
    // Nothing in the answer tells which session ids exist.
    for (const err of [unknown, garbage, swapped]) assert.equal(err.message, wrong.message);
    assert.ok(!wrong.message.includes(id));
  });

  test('a revoked session: ERR_SESSION_REVOKED, but only for the right secret', async () => {
    const created = await admin.createSession({ workspace: 'default' });
    await admin.revokeSession(created.id);
    await refusedWith(auth.authenticate(created.secret), 'ERR_SESSION_REVOKED');
    const [, id] = created.secret.split('.') as [string, string];
    await refusedWith(auth.authenticate(`wits.${id}.${'A'.repeat(43)}`), 'ERR_UNAUTHENTICATED');
  });

  test('an expired session: ERR_SESSION_EXPIRED at and after its expiry time', async () => {
    const created = await admin.createSession({ workspace: 'default', ttlSeconds: 60 });
    const expiresAt = Date.parse(created.expiresAt);
    assert.equal((await auth.authenticate(created.secret, expiresAt - 1)).id, created.id);
    await refusedWith(auth.authenticate(created.secret, expiresAt), 'ERR_SESSION_EXPIRED');
    await refusedWith(auth.authenticate(created.secret, expiresAt + 86_400_000), 'ERR_SESSION_EXPIRED');
    const [, id] = created.secret.split('.') as [string, string];
    await refusedWith(auth.authenticate(`wits.${id}.${'A'.repeat(43)}`, expiresAt + 1), 'ERR_UNAUTHENTICATED');
  });

  test('revoked wins over expired', async () => {
    const created = await admin.createSession({ workspace: 'default', ttlSeconds: 60 });
    await admin.revokeSession(created.id);
    await refusedWith(auth.authenticate(created.secret, Date.parse(created.expiresAt) + 1), 'ERR_SESSION_REVOKED');
  });
});
