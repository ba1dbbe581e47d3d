/**
 * The storage contract. Every backend (SQLite, the embedded default; PostgreSQL for several
 * replicas) implements it and passes the shared conformance suite in test/store/conformance.ts.
 *
 * Contract, for backend authors:
 * - A method resolves only once its write is durable against a crash of the process (kill -9):
 *   wits acknowledges sessions and token responses after these calls, and promises not to lose them.
 * - Times are epoch milliseconds. Lists are returned oldest first unless stated.
 * - Nothing secret is passed in: sessions carry only the SHA-256 of their secret, audit events never
 *   carry a token. Signing keys are the one exception (see SigningKeyRecord).
 * - Conflicts (an existing workspace name, a duplicate identity id) throw WitsError('ERR_CONFLICT').
 */
import type { Cloud } from '../audiences/cloud.js';
import type { ErrorCode } from '../errors.js';

export interface SourceConfig {
  /** Token source kind: `local` (the embedded issuer) or an upstream kind (see src/sources/). */
  readonly kind: string;
  /** Kind-specific options, validated by the source when set. Never a secret value, only where to read it. */
  readonly options: Readonly<Record<string, unknown>>;
}

export interface WorkspaceRecord {
  readonly name: string;
  readonly cloud: Cloud;
  /** Canonical resources the workspace may request; `null` means any valid audience (as IMDS does). */
  readonly allowedAudiences: readonly string[] | null;
  readonly source: SourceConfig;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export type IdentityKind = 'system' | 'user';

export interface IdentityRecord {
  readonly workspace: string;
  readonly kind: IdentityKind;
  /** `system` for the system-assigned identity, a unique label for user-assigned ones. */
  readonly name: string;
  readonly tenantId: string;
  readonly clientId: string;
  readonly objectId: string;
  readonly resourceId: string;
  readonly createdAt: number;
}

export interface SessionRecord {
  readonly id: string;
  readonly workspace: string;
  /** SHA-256 of the secret part, hex. The secret itself is never stored. */
  readonly secretHash: string;
  /** Canonical resources this session may request (narrower than the workspace's); `null` = no narrowing. */
  readonly audiences: readonly string[] | null;
  readonly labels: Readonly<Record<string, string>>;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly revokedAt: number | null;
}

export type AuditOutcome = 'issued' | 'refused';
export type ProtocolName = 'appservice' | 'imds' | 'native';

export interface AuditEvent {
  readonly time: number;
  readonly protocol: ProtocolName;
  readonly outcome: AuditOutcome;
  readonly workspace: string | null;
  readonly sessionId: string | null;
  /** Client id of the identity the token was (or would have been) issued for. */
  readonly identity: string | null;
  /** Canonical resource, or the sanitised, truncated input when it could not be resolved. */
  readonly audience: string | null;
  /** Error code of a refusal. */
  readonly code: ErrorCode | null;
  /** The token's `jti` (or upstream token id), never the token. */
  readonly tokenId: string | null;
  readonly expiresAt: number | null;
}

export interface StoredAuditEvent extends AuditEvent {
  readonly id: number;
}

export interface AuditQuery {
  readonly since?: number;
  readonly workspace?: string;
  readonly limit?: number;
}

export interface SessionQuery {
  readonly workspace?: string;
  /** Include revoked and expired sessions (default: only active ones at `now`). */
  readonly all?: boolean;
  readonly now?: number;
}

/**
 * A signing key of the local issuer. The private JWK is stored so that every replica sharing a
 * store signs with the same keys; the store's file or database must be protected accordingly
 * (the SQLite file is created with mode 0600).
 */
export interface SigningKeyRecord {
  readonly kid: string;
  readonly alg: string;
  readonly privateJwk: string;
  readonly publicJwk: string;
  readonly createdAt: number;
}

export interface Store {
  /** A short name for logs and `wits status`, e.g. `sqlite:/path/wits.db`. */
  readonly description: string;
  close(): Promise<void>;

  /** Creates a workspace with its system-assigned identity, atomically. */
  createWorkspace(workspace: WorkspaceRecord, systemIdentity: IdentityRecord): Promise<void>;
  getWorkspace(name: string): Promise<WorkspaceRecord | undefined>;
  listWorkspaces(): Promise<WorkspaceRecord[]>;
  updateWorkspace(workspace: WorkspaceRecord): Promise<void>;

  addIdentity(identity: IdentityRecord): Promise<void>;
  /** Replaces the ids of an existing identity (matched by workspace and name). */
  updateIdentity(identity: IdentityRecord): Promise<void>;
  listIdentities(workspace: string): Promise<IdentityRecord[]>;

  createSession(session: SessionRecord): Promise<void>;
  getSession(id: string): Promise<SessionRecord | undefined>;
  listSessions(query: SessionQuery): Promise<SessionRecord[]>;
  /** Marks a session revoked; false when no such session exists. Revoking twice keeps the first time. */
  revokeSession(id: string, at: number): Promise<boolean>;

  appendAudit(event: AuditEvent): Promise<void>;
  listAudit(query: AuditQuery): Promise<StoredAuditEvent[]>;

  listSigningKeys(): Promise<SigningKeyRecord[]>;
  addSigningKey(key: SigningKeyRecord): Promise<void>;

  /** Small installation facts (e.g. the installation's tenant id). */
  getMeta(key: string): Promise<string | undefined>;
  setMeta(key: string, value: string): Promise<void>;
}
