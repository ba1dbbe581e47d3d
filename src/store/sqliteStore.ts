/**
 * The embedded default store: one SQLite file (better-sqlite3 v12) in the state directory.
 *
 * WAL mode with synchronous=NORMAL: a committed transaction is in the WAL before the call returns,
 * so it survives a crash of the process (kill -9); only an OS crash or power loss can drop the last
 * transactions (set `durability: 'full'` for an fsync per commit). Several processes may open the
 * same file (the CLI and a running server): WAL lets readers and one writer work side by side and
 * busy_timeout makes a second writer wait instead of failing.
 *
 * The token hot path is served from memory where that is safe (issue 5, docs/benchmarks.md):
 * - Reads: sessions, workspaces and identities are cached as frozen records. Our own writes update
 *   or drop them at once; writes by another process on the same file (the CLI revoking a session)
 *   are detected with `PRAGMA data_version`, which changes exactly when another connection has
 *   committed. getSession checks it on every call, so a revocation from another process still takes
 *   effect on the next request; workspace and identity reads rely on the latest check made in the
 *   same event-loop turn (every token request authenticates first), or check themselves.
 * - Audit writes are group-committed: the rows appended in one event-loop turn are inserted in one
 *   transaction after the turn's I/O callbacks, and each appendAudit resolves only once its row is
 *   committed, so a token response still goes out only after its audit row is durable.
 * - With `checkpointInBackground` (the server), WAL checkpoints run on a worker thread
 *   (walCheckpointer.ts) instead of stalling the event loop inside a commit.
 */
import Database from 'better-sqlite3';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { WitsError } from '../errors.js';
import { startWalCheckpointer, type WalCheckpointer } from './walCheckpointer.js';
import type {
  AuditEvent,
  AuditQuery,
  IdentityRecord,
  SessionQuery,
  SessionRecord,
  SigningKeyRecord,
  StoredAuditEvent,
  Store,
  WorkspaceRecord,
} from './store.js';
import type { Cloud } from '../audiences/cloud.js';
import type { ErrorCode } from '../errors.js';

export interface SqliteStoreOptions {
  /** Path of the database file, or `:memory:` for tests. */
  readonly path: string;
  readonly durability?: 'normal' | 'full';
  /**
   * Run WAL checkpoints on a worker thread instead of inside commits (walCheckpointer.ts). For the
   * server, whose event loop must not stall; short-lived CLI processes do without the extra thread.
   */
  readonly checkpointInBackground?: boolean;
}

/** How often the background checkpointer runs (a checkpoint with nothing to copy costs nothing). */
const CHECKPOINT_INTERVAL_MS = 250;

/** Each entry migrates the schema from version i to i+1. Never edit a released entry: append. */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
  CREATE TABLE workspaces (
    name TEXT PRIMARY KEY,
    cloud TEXT NOT NULL,
    allowed_audiences TEXT,
    source TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  ) STRICT;
  CREATE TABLE identities (
    workspace TEXT NOT NULL REFERENCES workspaces(name),
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    object_id TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (workspace, name),
    UNIQUE (workspace, client_id),
    UNIQUE (workspace, object_id),
    UNIQUE (workspace, resource_id)
  ) STRICT;
  CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    workspace TEXT NOT NULL REFERENCES workspaces(name),
    secret_hash TEXT NOT NULL,
    audiences TEXT,
    labels TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
  ) STRICT;
  CREATE INDEX sessions_workspace ON sessions(workspace, expires_at);
  CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time INTEGER NOT NULL,
    protocol TEXT NOT NULL,
    outcome TEXT NOT NULL,
    workspace TEXT,
    session_id TEXT,
    identity TEXT,
    audience TEXT,
    code TEXT,
    token_id TEXT,
    expires_at INTEGER
  ) STRICT;
  CREATE INDEX audit_time ON audit(time);
  CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    alg TEXT NOT NULL,
    private_jwk TEXT NOT NULL,
    public_jwk TEXT NOT NULL,
    created_at INTEGER NOT NULL
  ) STRICT;
  `,
];

interface WorkspaceRow { name: string; cloud: string; allowed_audiences: string | null; source: string; created_at: number; updated_at: number }
interface IdentityRow { workspace: string; kind: string; name: string; tenant_id: string; client_id: string; object_id: string; resource_id: string; created_at: number }
interface SessionRow { id: string; workspace: string; secret_hash: string; audiences: string | null; labels: string; created_at: number; expires_at: number; revoked_at: number | null }
interface AuditRow { id: number; time: number; protocol: string; outcome: string; workspace: string | null; session_id: string | null; identity: string | null; audience: string | null; code: string | null; token_id: string | null; expires_at: number | null }
interface KeyRow { kid: string; alg: string; private_jwk: string; public_jwk: string; created_at: number }

function toWorkspace(row: WorkspaceRow): WorkspaceRecord {
  return {
    name: row.name,
    cloud: row.cloud as Cloud,
    allowedAudiences: row.allowed_audiences === null ? null : (JSON.parse(row.allowed_audiences) as string[]),
    source: JSON.parse(row.source) as WorkspaceRecord['source'],
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toIdentity(row: IdentityRow): IdentityRecord {
  return {
    workspace: row.workspace,
    kind: row.kind as IdentityRecord['kind'],
    name: row.name,
    tenantId: row.tenant_id,
    clientId: row.client_id,
    objectId: row.object_id,
    resourceId: row.resource_id,
    createdAt: row.created_at,
  };
}

function toSession(row: SessionRow): SessionRecord {
  return {
    id: row.id,
    workspace: row.workspace,
    secretHash: row.secret_hash,
    audiences: row.audiences === null ? null : (JSON.parse(row.audiences) as string[]),
    labels: JSON.parse(row.labels) as Record<string, string>,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
  };
}

function toAudit(row: AuditRow): StoredAuditEvent {
  return {
    id: row.id,
    time: row.time,
    protocol: row.protocol as StoredAuditEvent['protocol'],
    outcome: row.outcome as StoredAuditEvent['outcome'],
    workspace: row.workspace,
    sessionId: row.session_id,
    identity: row.identity,
    audience: row.audience,
    code: row.code as ErrorCode | null,
    tokenId: row.token_id,
    expiresAt: row.expires_at,
  };
}

function isConstraintError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && String((err as { code?: unknown }).code).startsWith('SQLITE_CONSTRAINT');
}

/** Creates the file owner-only before SQLite opens it: it holds the issuer's private keys. */
function createPrivateFile(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  closeSync(openSync(path, 'a', 0o600));
}

/** Sessions kept in memory at most (oldest cached first out); beyond this, reads go to SQLite. */
const MAX_CACHED_SESSIONS = 20_000;

interface PendingAudit {
  readonly event: AuditEvent;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

function freezeWorkspace(w: WorkspaceRecord): WorkspaceRecord {
  if (w.allowedAudiences !== null) Object.freeze(w.allowedAudiences);
  Object.freeze(w.source.options);
  Object.freeze(w.source);
  return Object.freeze(w);
}

function freezeSession(s: SessionRecord): SessionRecord {
  if (s.audiences !== null) Object.freeze(s.audiences);
  Object.freeze(s.labels);
  return Object.freeze(s);
}

export class SqliteStore implements Store {
  readonly description: string;
  readonly #db: Database.Database;
  readonly #stmt;
  /** `PRAGMA data_version` as last seen; the caches below are valid for this version. */
  #dataVersion = -1;
  /** A check was made in the current event-loop turn (reset by #endTurn). */
  #checkedThisTurn = false;
  readonly #endTurn = () => {
    this.#checkedThisTurn = false;
  };
  readonly #workspaces = new Map<string, WorkspaceRecord>();
  readonly #identities = new Map<string, readonly IdentityRecord[]>();
  readonly #sessions = new Map<string, SessionRecord>();
  #pendingAudit: PendingAudit[] = [];
  readonly #insertAuditBatch: (batch: readonly PendingAudit[]) => void;
  #checkpointer: WalCheckpointer | undefined;

  constructor(options: SqliteStoreOptions) {
    if (options.path !== ':memory:') createPrivateFile(options.path);
    this.description = `sqlite:${options.path}`;
    const db = new Database(options.path);
    db.pragma('journal_mode = WAL');
    const synchronous = options.durability === 'full' ? 'FULL' : 'NORMAL';
    db.pragma(`synchronous = ${synchronous}`);
    db.pragma('busy_timeout = 5000');
    db.pragma('foreign_keys = ON');
    migrate(db);
    this.#db = db;
    if (options.checkpointInBackground === true && options.path !== ':memory:') {
      db.pragma('wal_autocheckpoint = 0');
      this.#checkpointer = startWalCheckpointer(options.path, synchronous, CHECKPOINT_INTERVAL_MS, () => {
        this.#checkpointer = undefined;
        if (db.open) db.pragma('wal_autocheckpoint = 1000');
      });
    }
    this.#stmt = {
      insertWorkspace: db.prepare(
        'INSERT INTO workspaces (name, cloud, allowed_audiences, source, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      getWorkspace: db.prepare<[string], WorkspaceRow>('SELECT * FROM workspaces WHERE name = ?'),
      listWorkspaces: db.prepare<[], WorkspaceRow>('SELECT * FROM workspaces ORDER BY created_at, name'),
      updateWorkspace: db.prepare(
        'UPDATE workspaces SET cloud = ?, allowed_audiences = ?, source = ?, updated_at = ? WHERE name = ?',
      ),
      insertIdentity: db.prepare(
        'INSERT INTO identities (workspace, kind, name, tenant_id, client_id, object_id, resource_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      updateIdentity: db.prepare(
        'UPDATE identities SET tenant_id = ?, client_id = ?, object_id = ?, resource_id = ? WHERE workspace = ? AND name = ?',
      ),
      listIdentities: db.prepare<[string], IdentityRow>(
        "SELECT * FROM identities WHERE workspace = ? ORDER BY kind = 'user', created_at, name",
      ),
      insertSession: db.prepare(
        'INSERT INTO sessions (id, workspace, secret_hash, audiences, labels, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      getSession: db.prepare<[string], SessionRow>('SELECT * FROM sessions WHERE id = ?'),
      listActiveSessions: db.prepare<[number], SessionRow>(
        'SELECT * FROM sessions WHERE revoked_at IS NULL AND expires_at > ? ORDER BY created_at, id',
      ),
      listActiveSessionsOf: db.prepare<[string, number], SessionRow>(
        'SELECT * FROM sessions WHERE workspace = ? AND revoked_at IS NULL AND expires_at > ? ORDER BY created_at, id',
      ),
      listAllSessions: db.prepare<[], SessionRow>('SELECT * FROM sessions ORDER BY created_at, id'),
      listAllSessionsOf: db.prepare<[string], SessionRow>('SELECT * FROM sessions WHERE workspace = ? ORDER BY created_at, id'),
      revokeSession: db.prepare('UPDATE sessions SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?'),
      insertAudit: db.prepare(
        'INSERT INTO audit (time, protocol, outcome, workspace, session_id, identity, audience, code, token_id, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      listAudit: db.prepare<[number, number], AuditRow>('SELECT * FROM audit WHERE time >= ? ORDER BY id LIMIT ?'),
      listAuditOf: db.prepare<[number, string, number], AuditRow>(
        'SELECT * FROM audit WHERE time >= ? AND workspace = ? ORDER BY id LIMIT ?',
      ),
      listKeys: db.prepare<[], KeyRow>('SELECT * FROM signing_keys ORDER BY created_at, kid'),
      insertKey: db.prepare('INSERT INTO signing_keys (kid, alg, private_jwk, public_jwk, created_at) VALUES (?, ?, ?, ?, ?)'),
      getMeta: db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?'),
      setMeta: db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
      dataVersion: db.prepare<[], number>('PRAGMA data_version').pluck(),
    };
    this.#insertAuditBatch = db.transaction((batch: readonly PendingAudit[]) => {
      for (const { event } of batch) this.#insertAudit(event);
    });
  }

  async close(): Promise<void> {
    if (!this.#db.open) return;
    this.#flushAudit();
    await this.#checkpointer?.stop();
    // Closed last, this connection checkpoints the WAL into the database file and removes it.
    if (this.#db.open) this.#db.close();
  }

  /**
   * Drops the read caches when another connection has committed since the last check. One
   * prepared-statement step (no row decoding): cheaper than the reads it saves.
   */
  #checkOtherWriters(): void {
    const version = this.#stmt.dataVersion.get() as number;
    if (version !== this.#dataVersion) {
      this.#dataVersion = version;
      this.#forget();
    }
    if (!this.#checkedThisTurn) {
      this.#checkedThisTurn = true;
      setImmediate(this.#endTurn);
    }
  }

  /** Called by every write of this connection (which data_version does not report). */
  #forget(): void {
    this.#workspaces.clear();
    this.#identities.clear();
    this.#sessions.clear();
  }

  async createWorkspace(workspace: WorkspaceRecord, systemIdentity: IdentityRecord): Promise<void> {
    const tx = this.#db.transaction(() => {
      this.#stmt.insertWorkspace.run(
        workspace.name,
        workspace.cloud,
        workspace.allowedAudiences === null ? null : JSON.stringify(workspace.allowedAudiences),
        JSON.stringify(workspace.source),
        workspace.createdAt,
        workspace.updatedAt,
      );
      this.#insertIdentity(systemIdentity);
    });
    try {
      tx();
    } catch (err) {
      if (isConstraintError(err)) throw new WitsError('ERR_CONFLICT', `Workspace '${workspace.name}' already exists.`);
      throw err;
    } finally {
      this.#forget();
    }
  }

  async getWorkspace(name: string): Promise<WorkspaceRecord | undefined> {
    if (!this.#checkedThisTurn) this.#checkOtherWriters();
    const cached = this.#workspaces.get(name);
    if (cached !== undefined) return cached;
    const row = this.#stmt.getWorkspace.get(name);
    if (row === undefined) return undefined;
    const workspace = freezeWorkspace(toWorkspace(row));
    this.#workspaces.set(name, workspace);
    return workspace;
  }

  async listWorkspaces(): Promise<WorkspaceRecord[]> {
    return this.#stmt.listWorkspaces.all().map(toWorkspace);
  }

  async updateWorkspace(workspace: WorkspaceRecord): Promise<void> {
    this.#forget();
    const result = this.#stmt.updateWorkspace.run(
      workspace.cloud,
      workspace.allowedAudiences === null ? null : JSON.stringify(workspace.allowedAudiences),
      JSON.stringify(workspace.source),
      workspace.updatedAt,
      workspace.name,
    );
    if (result.changes === 0) throw new WitsError('ERR_UNKNOWN_WORKSPACE', `No workspace named '${workspace.name}'.`);
  }

  async addIdentity(identity: IdentityRecord): Promise<void> {
    this.#forget();
    try {
      this.#insertIdentity(identity);
    } catch (err) {
      if (isConstraintError(err)) {
        throw new WitsError(
          'ERR_CONFLICT',
          `Workspace '${identity.workspace}' already has an identity with this name, client id, object id or resource id.`,
        );
      }
      throw err;
    }
  }

  async updateIdentity(identity: IdentityRecord): Promise<void> {
    this.#forget();
    let changes: number;
    try {
      changes = this.#stmt.updateIdentity.run(identity.tenantId, identity.clientId, identity.objectId, identity.resourceId, identity.workspace, identity.name).changes;
    } catch (err) {
      if (isConstraintError(err)) throw new WitsError('ERR_CONFLICT', `Workspace '${identity.workspace}' already has an identity with these ids.`);
      throw err;
    }
    if (changes === 0) throw new WitsError('ERR_UNKNOWN_IDENTITY', `Workspace '${identity.workspace}' has no identity '${identity.name}'.`);
  }

  #insertIdentity(identity: IdentityRecord): void {
    this.#stmt.insertIdentity.run(
      identity.workspace,
      identity.kind,
      identity.name,
      identity.tenantId,
      identity.clientId,
      identity.objectId,
      identity.resourceId,
      identity.createdAt,
    );
  }

  async listIdentities(workspace: string): Promise<IdentityRecord[]> {
    if (!this.#checkedThisTurn) this.#checkOtherWriters();
    let identities = this.#identities.get(workspace);
    if (identities === undefined) {
      identities = Object.freeze(this.#stmt.listIdentities.all(workspace).map((row) => Object.freeze(toIdentity(row))));
      this.#identities.set(workspace, identities);
    }
    // A copy of the cached list: callers own the array they get (the records are frozen).
    return identities.slice();
  }

  async createSession(session: SessionRecord): Promise<void> {
    try {
      this.#stmt.insertSession.run(
        session.id,
        session.workspace,
        session.secretHash,
        session.audiences === null ? null : JSON.stringify(session.audiences),
        JSON.stringify(session.labels),
        session.createdAt,
        session.expiresAt,
        session.revokedAt,
      );
    } catch (err) {
      if (isConstraintError(err)) throw new WitsError('ERR_CONFLICT', 'Session id collision or unknown workspace.');
      throw err;
    }
  }

  async getSession(id: string): Promise<SessionRecord | undefined> {
    // Checked on every call, not once per turn: revocation by another process is immediate.
    this.#checkOtherWriters();
    const cached = this.#sessions.get(id);
    if (cached !== undefined) return cached;
    const row = this.#stmt.getSession.get(id);
    // Unknown ids are not remembered: a session created by another process works at once.
    if (row === undefined) return undefined;
    const session = freezeSession(toSession(row));
    if (this.#sessions.size >= MAX_CACHED_SESSIONS) this.#sessions.delete(this.#sessions.keys().next().value as string);
    this.#sessions.set(id, session);
    return session;
  }

  async listSessions(query: SessionQuery): Promise<SessionRecord[]> {
    const now = query.now ?? Date.now();
    const rows = query.all
      ? query.workspace === undefined
        ? this.#stmt.listAllSessions.all()
        : this.#stmt.listAllSessionsOf.all(query.workspace)
      : query.workspace === undefined
        ? this.#stmt.listActiveSessions.all(now)
        : this.#stmt.listActiveSessionsOf.all(query.workspace, now);
    return rows.map(toSession);
  }

  async revokeSession(id: string, at: number): Promise<boolean> {
    this.#sessions.delete(id);
    return this.#stmt.revokeSession.run(at, id).changes > 0;
  }

  /**
   * Group commit: resolves once the row is committed, together with every row appended in the same
   * event-loop turn (one transaction instead of one per row; the rows' WAL pages are written once).
   * The flush runs in the turn's check phase, after all of the turn's I/O callbacks.
   */
  appendAudit(event: AuditEvent): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.#pendingAudit.push({ event, resolve, reject }) === 1) setImmediate(() => this.#flushAudit());
    });
  }

  #flushAudit(): void {
    const batch = this.#pendingAudit;
    if (batch.length === 0) return;
    this.#pendingAudit = [];
    try {
      // A lone row is inserted in autocommit mode: same durability, without BEGIN and COMMIT steps.
      if (batch.length === 1) this.#insertAudit((batch[0] as PendingAudit).event);
      else this.#insertAuditBatch(batch);
    } catch {
      // One failing row must not fail the others: insert one by one, each with its own outcome.
      for (const pending of batch) {
        try {
          this.#insertAudit(pending.event);
        } catch (err) {
          pending.reject(err);
          continue;
        }
        pending.resolve();
      }
      return;
    }
    for (const pending of batch) pending.resolve();
  }

  #insertAudit(event: AuditEvent): void {
    this.#stmt.insertAudit.run(
      event.time,
      event.protocol,
      event.outcome,
      event.workspace,
      event.sessionId,
      event.identity,
      event.audience,
      event.code,
      event.tokenId,
      event.expiresAt,
    );
  }

  async listAudit(query: AuditQuery): Promise<StoredAuditEvent[]> {
    const since = query.since ?? 0;
    const limit = query.limit ?? 1000;
    const rows =
      query.workspace === undefined
        ? this.#stmt.listAudit.all(since, limit)
        : this.#stmt.listAuditOf.all(since, query.workspace, limit);
    return rows.map(toAudit);
  }

  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    return this.#stmt.listKeys.all().map((row) => ({
      kid: row.kid,
      alg: row.alg,
      privateJwk: row.private_jwk,
      publicJwk: row.public_jwk,
      createdAt: row.created_at,
    }));
  }

  async addSigningKey(key: SigningKeyRecord): Promise<void> {
    this.#stmt.insertKey.run(key.kid, key.alg, key.privateJwk, key.publicJwk, key.createdAt);
  }

  async getMeta(key: string): Promise<string | undefined> {
    return this.#stmt.getMeta.get(key)?.value;
  }

  async setMeta(key: string, value: string): Promise<void> {
    this.#stmt.setMeta.run(key, value);
  }
}

function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new WitsError(
      'ERR_INVALID_CONFIG',
      `The database schema (version ${current}) is newer than this wits (version ${MIGRATIONS.length}); upgrade wits.`,
    );
  }
  for (let version = current; version < MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version] as string);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
}
