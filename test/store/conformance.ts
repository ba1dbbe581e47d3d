/**
 * The Store conformance suite (the contract in src/store/store.ts). Every backend runs it:
 *
 *   runStoreConformance('SqliteStore', () => new SqliteStore({ path: ':memory:' }));
 *
 * `makeStore` must return a new, empty store on each call; the suite closes it after each test.
 */
import { describe, test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { WitsError, type ErrorCode } from '../../src/errors.js';
import type {
  AuditEvent,
  IdentityRecord,
  SessionRecord,
  SigningKeyRecord,
  Store,
  WorkspaceRecord,
} from '../../src/store/store.js';

export function workspaceRecord(name: string, overrides: Partial<WorkspaceRecord> = {}): WorkspaceRecord {
  return {
    name,
    cloud: 'AzureCloud',
    allowedAudiences: null,
    source: { kind: 'local', options: {} },
    createdAt: 1_000,
    updatedAt: 1_000,
    ...overrides,
  };
}

export function identityRecord(workspace: string, name = 'system', overrides: Partial<IdentityRecord> = {}): IdentityRecord {
  return {
    workspace,
    kind: name === 'system' ? 'system' : 'user',
    name,
    tenantId: randomUUID(),
    clientId: randomUUID(),
    objectId: randomUUID(),
    resourceId: `/subscriptions/${randomUUID()}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}-${randomUUID()}`,
    createdAt: 1_000,
    ...overrides,
  };
}

export function sessionRecord(workspace: string, overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    id: randomUUID(),
    workspace,
    secretHash: 'ab'.repeat(32),
    audiences: null,
    labels: {},
    createdAt: 1_000,
    expiresAt: 1_000_000,
    revokedAt: null,
    ...overrides,
  };
}

export function auditEvent(overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    time: 1_000,
    protocol: 'appservice',
    outcome: 'issued',
    workspace: 'default',
    sessionId: 'sess',
    identity: randomUUID(),
    audience: 'https://cognitiveservices.azure.com',
    code: null,
    tokenId: randomUUID(),
    expiresAt: 4_600_000,
    ...overrides,
  };
}

async function assertRejectsWith(promise: Promise<unknown>, code: ErrorCode, what: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof WitsError, `${what}: expected a WitsError, got ${String(err)}`);
    assert.equal(err.code, code, `${what}: ${err.message}`);
    return true;
  });
}

export function runStoreConformance(name: string, makeStore: () => Store | Promise<Store>): void {
  describe(`Store conformance: ${name}`, () => {
    let store: Store;

    beforeEach(async () => {
      store = await makeStore();
    });

    afterEach(async () => {
      await store.close();
    });

    test('has a description', () => {
      assert.equal(typeof store.description, 'string');
      assert.ok(store.description.length > 0);
    });

    describe('workspaces', () => {
      test('createWorkspace stores the workspace and its system identity', async () => {
        const ws = workspaceRecord('ws1', {
          allowedAudiences: ['https://cognitiveservices.azure.com', 'https://ai.azure.com'],
          source: { kind: 'local', options: { nested: { a: [1, 'two'] } } },
          createdAt: 1234,
          updatedAt: 5678,
        });
        const system = identityRecord('ws1');
        await store.createWorkspace(ws, system);
        assert.deepEqual(await store.getWorkspace('ws1'), ws);
        assert.deepEqual(await store.listIdentities('ws1'), [system]);
      });

      test('allowedAudiences null and empty list are kept apart', async () => {
        await store.createWorkspace(workspaceRecord('any'), identityRecord('any'));
        await store.createWorkspace(workspaceRecord('none', { allowedAudiences: [] }), identityRecord('none'));
        assert.equal((await store.getWorkspace('any'))?.allowedAudiences, null);
        assert.deepEqual((await store.getWorkspace('none'))?.allowedAudiences, []);
      });

      test('getWorkspace of an unknown name is undefined', async () => {
        assert.equal(await store.getWorkspace('nope'), undefined);
      });

      test('an existing name throws ERR_CONFLICT and changes nothing', async () => {
        const first = identityRecord('ws');
        await store.createWorkspace(workspaceRecord('ws', { cloud: 'AzureCloud' }), first);
        await assertRejectsWith(
          store.createWorkspace(workspaceRecord('ws', { cloud: 'AzureChinaCloud' }), identityRecord('ws')),
          'ERR_CONFLICT',
          'duplicate workspace',
        );
        assert.equal((await store.getWorkspace('ws'))?.cloud, 'AzureCloud');
        assert.deepEqual(await store.listIdentities('ws'), [first]);
        assert.equal((await store.listWorkspaces()).length, 1);
      });

      test('creation is atomic: a failing system identity leaves no workspace behind', async () => {
        const a = identityRecord('a');
        await store.createWorkspace(workspaceRecord('a'), a);
        // The identity of 'b' collides with a's system identity (same workspace and name).
        await assertRejectsWith(
          store.createWorkspace(workspaceRecord('b'), { ...a, clientId: randomUUID() }),
          'ERR_CONFLICT',
          'workspace with a conflicting identity',
        );
        assert.equal(await store.getWorkspace('b'), undefined);
        assert.deepEqual((await store.listWorkspaces()).map((w) => w.name), ['a']);
        assert.deepEqual(await store.listIdentities('a'), [a]);
      });

      test('listWorkspaces returns them oldest first', async () => {
        await store.createWorkspace(workspaceRecord('zeta', { createdAt: 1, updatedAt: 1 }), identityRecord('zeta'));
        await store.createWorkspace(workspaceRecord('alpha', { createdAt: 3, updatedAt: 3 }), identityRecord('alpha'));
        await store.createWorkspace(workspaceRecord('mid', { createdAt: 2, updatedAt: 2 }), identityRecord('mid'));
        assert.deepEqual((await store.listWorkspaces()).map((w) => w.name), ['zeta', 'mid', 'alpha']);
      });

      test('updateWorkspace replaces cloud, audiences, source and updatedAt, keeping createdAt', async () => {
        await store.createWorkspace(workspaceRecord('ws', { createdAt: 10, updatedAt: 10 }), identityRecord('ws'));
        const updated = workspaceRecord('ws', {
          cloud: 'AzureUSGovernment',
          allowedAudiences: ['https://vault.usgovcloudapi.net'],
          source: { kind: 'local', options: { x: 1 } },
          createdAt: 10,
          updatedAt: 20,
        });
        await store.updateWorkspace(updated);
        assert.deepEqual(await store.getWorkspace('ws'), updated);
        await store.updateWorkspace({ ...updated, allowedAudiences: null, updatedAt: 30 });
        assert.equal((await store.getWorkspace('ws'))?.allowedAudiences, null);
        assert.equal((await store.getWorkspace('ws'))?.createdAt, 10);
      });

      test('updateWorkspace of an unknown workspace throws a WitsError', async () => {
        await assert.rejects(store.updateWorkspace(workspaceRecord('ghost')), WitsError);
        assert.equal(await store.getWorkspace('ghost'), undefined);
      });
    });

    describe('identities', () => {
      beforeEach(async () => {
        await store.createWorkspace(workspaceRecord('ws'), identityRecord('ws', 'system', { createdAt: 5 }));
        await store.createWorkspace(workspaceRecord('other'), identityRecord('other'));
      });

      test('addIdentity adds user identities; the system identity lists first, then oldest first', async () => {
        const late = identityRecord('ws', 'late', { createdAt: 300 });
        const early = identityRecord('ws', 'early', { createdAt: 200 });
        await store.addIdentity(late);
        await store.addIdentity(early);
        const list = await store.listIdentities('ws');
        assert.deepEqual(list.map((i) => i.name), ['system', 'early', 'late']);
        assert.deepEqual(list[1], early);
        assert.deepEqual(list[2], late);
        assert.equal((await store.listIdentities('other')).length, 1);
      });

      test('listIdentities of an unknown workspace is empty', async () => {
        assert.deepEqual(await store.listIdentities('nope'), []);
      });

      for (const field of ['name', 'clientId', 'objectId', 'resourceId'] as const) {
        test(`a duplicate ${field} within a workspace throws ERR_CONFLICT`, async () => {
          const first = identityRecord('ws', 'first');
          await store.addIdentity(first);
          const second = identityRecord('ws', 'second', { [field]: first[field] });
          await assertRejectsWith(store.addIdentity(second), 'ERR_CONFLICT', `duplicate ${field}`);
          assert.deepEqual((await store.listIdentities('ws')).map((i) => i.name), ['system', 'first']);
        });

        test(`the same ${field} in another workspace is fine`, async () => {
          const first = identityRecord('ws', 'shared');
          await store.addIdentity(first);
          await store.addIdentity({ ...identityRecord('other', 'shared2'), [field]: first[field], workspace: 'other' });
          assert.equal((await store.listIdentities('other')).length, 2);
        });
      }
    });

    describe('sessions', () => {
      beforeEach(async () => {
        await store.createWorkspace(workspaceRecord('ws'), identityRecord('ws'));
        await store.createWorkspace(workspaceRecord('other'), identityRecord('other'));
      });

      test('createSession / getSession round-trip every field', async () => {
        const plain = sessionRecord('ws');
        const narrowed = sessionRecord('ws', {
          audiences: ['https://cognitiveservices.azure.com'],
          labels: { user: 'ana', 'team/x': 'ünïcode ✓' },
          createdAt: 1_500,
          expiresAt: 9_000,
        });
        await store.createSession(plain);
        await store.createSession(narrowed);
        assert.deepEqual(await store.getSession(plain.id), plain);
        assert.deepEqual(await store.getSession(narrowed.id), narrowed);
      });

      test('getSession of an unknown id is undefined', async () => {
        assert.equal(await store.getSession('nope'), undefined);
      });

      test('a duplicate session id throws ERR_CONFLICT and keeps the first', async () => {
        const first = sessionRecord('ws');
        await store.createSession(first);
        await assertRejectsWith(store.createSession({ ...first, secretHash: 'cd'.repeat(32) }), 'ERR_CONFLICT', 'duplicate session');
        assert.equal((await store.getSession(first.id))?.secretHash, first.secretHash);
      });

      test('listSessions: active ones at `now` by default, every one with all', async () => {
        const now = 50_000;
        const active = sessionRecord('ws', { createdAt: 1, expiresAt: now + 1 });
        const expired = sessionRecord('ws', { createdAt: 2, expiresAt: now - 1 });
        const expiringNow = sessionRecord('ws', { createdAt: 3, expiresAt: now });
        const revoked = sessionRecord('ws', { createdAt: 4, expiresAt: now + 10_000, revokedAt: 10 });
        const otherActive = sessionRecord('other', { createdAt: 5, expiresAt: now + 10_000 });
        for (const s of [otherActive, revoked, expiringNow, expired, active]) await store.createSession(s);

        assert.deepEqual((await store.listSessions({ now })).map((s) => s.id), [active.id, otherActive.id]);
        assert.deepEqual((await store.listSessions({ now, workspace: 'ws' })).map((s) => s.id), [active.id]);
        assert.deepEqual(
          (await store.listSessions({ now, all: true })).map((s) => s.id),
          [active.id, expired.id, expiringNow.id, revoked.id, otherActive.id],
        );
        assert.deepEqual(
          (await store.listSessions({ now, all: true, workspace: 'ws' })).map((s) => s.id),
          [active.id, expired.id, expiringNow.id, revoked.id],
        );
        assert.deepEqual(await store.listSessions({ now, workspace: 'nope' }), []);
      });

      test('listSessions defaults `now` to the current time', async () => {
        const live = sessionRecord('ws', { createdAt: 1, expiresAt: Date.now() + 3_600_000 });
        const old = sessionRecord('ws', { createdAt: 2, expiresAt: Date.now() - 1_000 });
        await store.createSession(live);
        await store.createSession(old);
        assert.deepEqual((await store.listSessions({})).map((s) => s.id), [live.id]);
      });

      test('revokeSession sets revokedAt once; again keeps the first time; unknown id -> false', async () => {
        const s = sessionRecord('ws');
        await store.createSession(s);
        assert.equal(await store.revokeSession(s.id, 2_000), true);
        assert.equal((await store.getSession(s.id))?.revokedAt, 2_000);
        await store.revokeSession(s.id, 3_000);
        assert.equal((await store.getSession(s.id))?.revokedAt, 2_000);
        assert.equal(await store.revokeSession('nope', 2_000), false);
        assert.deepEqual(await store.listSessions({ now: 1_500 }), []);
      });
    });

    describe('audit', () => {
      test('appendAudit / listAudit round-trip every field, oldest first, with increasing ids', async () => {
        const issued = auditEvent({ time: 1_000 });
        const refused = auditEvent({
          time: 2_000,
          protocol: 'native',
          outcome: 'refused',
          workspace: null,
          sessionId: null,
          identity: null,
          audience: null,
          code: 'ERR_UNAUTHENTICATED',
          tokenId: null,
          expiresAt: null,
        });
        const imds = auditEvent({ time: 1_500, protocol: 'imds' });
        await store.appendAudit(issued);
        await store.appendAudit(refused);
        await store.appendAudit(imds);
        const rows = await store.listAudit({});
        assert.equal(rows.length, 3);
        // Append order, not time order: the id is the order of record.
        const stripped = rows.map(({ id: _id, ...rest }) => rest);
        assert.deepEqual(stripped, [issued, refused, imds]);
        const ids = rows.map((r) => r.id);
        assert.ok(ids.every((id, i) => Number.isInteger(id) && (i === 0 || id > (ids[i - 1] as number))), `ids ${ids}`);
      });

      test('listAudit filters by since (inclusive) and workspace, and limits to the oldest rows', async () => {
        for (let i = 0; i < 10; i++) {
          await store.appendAudit(auditEvent({ time: 1_000 + i * 100, workspace: i % 2 === 0 ? 'even' : 'odd', tokenId: `t${i}` }));
        }
        const tokens = (rows: Array<{ tokenId: string | null }>) => rows.map((r) => r.tokenId);
        assert.deepEqual(tokens(await store.listAudit({ since: 1_500 })), ['t5', 't6', 't7', 't8', 't9']);
        assert.deepEqual(tokens(await store.listAudit({ since: 1_501 })), ['t6', 't7', 't8', 't9']);
        assert.deepEqual(tokens(await store.listAudit({ workspace: 'odd' })), ['t1', 't3', 't5', 't7', 't9']);
        assert.deepEqual(tokens(await store.listAudit({ workspace: 'even', since: 1_300 })), ['t4', 't6', 't8']);
        assert.deepEqual(tokens(await store.listAudit({ limit: 3 })), ['t0', 't1', 't2']);
        assert.deepEqual(tokens(await store.listAudit({ since: 1_400, workspace: 'even', limit: 2 })), ['t4', 't6']);
        assert.deepEqual(await store.listAudit({ since: 99_999 }), []);
        assert.deepEqual(await store.listAudit({ workspace: 'nope' }), []);
      });
    });

    describe('signing keys', () => {
      test('start empty; added keys list oldest first with every field', async () => {
        assert.deepEqual(await store.listSigningKeys(), []);
        const key = (kid: string, createdAt: number, alg = 'RS256'): SigningKeyRecord => ({
          kid,
          alg,
          privateJwk: JSON.stringify({ kty: 'RSA', d: `private-${kid}` }),
          publicJwk: JSON.stringify({ kty: 'RSA', n: `public-${kid}` }),
          createdAt,
        });
        const later = key('b-kid', 200, 'ES256');
        const earlier = key('a-kid', 100);
        await store.addSigningKey(later);
        await store.addSigningKey(earlier);
        assert.deepEqual(await store.listSigningKeys(), [earlier, later]);
      });
    });

    describe('meta', () => {
      test('get of an unknown key is undefined; set, overwrite, get', async () => {
        assert.equal(await store.getMeta('tenant_id'), undefined);
        await store.setMeta('tenant_id', 'one');
        await store.setMeta('other', 'x');
        assert.equal(await store.getMeta('tenant_id'), 'one');
        await store.setMeta('tenant_id', 'two');
        assert.equal(await store.getMeta('tenant_id'), 'two');
        assert.equal(await store.getMeta('other'), 'x');
      });
    });
  });
}
