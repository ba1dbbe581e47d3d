/**
 * The admin operations, as one interface with two implementations: AdminService (in-process, over
 * the store) and RemoteAdmin (the CLI talking to a running server's admin API). The CLI is written
 * against this interface only, so both paths behave the same.
 */
import type { Cloud } from '../audiences/cloud.js';
import type { AuditOutcome, ProtocolName, SourceConfig } from '../store/store.js';
import type { ErrorCode } from '../errors.js';
import type { SourceHealth } from '../sources/resilientSource.js';

export interface IdentityView {
  readonly kind: 'system' | 'user';
  readonly name: string;
  readonly tenantId: string;
  readonly clientId: string;
  readonly objectId: string;
  readonly resourceId: string;
  readonly createdAt: string;
}

export interface WorkspaceView {
  readonly name: string;
  readonly cloud: Cloud;
  /** Canonical resources; null = any valid audience. */
  readonly allowedAudiences: readonly string[] | null;
  readonly source: SourceConfig;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly identities: readonly IdentityView[];
}

export type SessionStatus = 'active' | 'revoked' | 'expired';

export interface SessionView {
  readonly id: string;
  readonly workspace: string;
  readonly audiences: readonly string[] | null;
  readonly labels: Readonly<Record<string, string>>;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly revokedAt: string | null;
  readonly status: SessionStatus;
}

export interface CreatedSession extends SessionView {
  /** Shown once; wits keeps only its hash. */
  readonly secret: string;
}

export interface AuditView {
  readonly id: number;
  readonly time: string;
  readonly protocol: ProtocolName;
  readonly outcome: AuditOutcome;
  readonly workspace: string | null;
  readonly sessionId: string | null;
  readonly identity: string | null;
  readonly audience: string | null;
  readonly code: ErrorCode | null;
  readonly tokenId: string | null;
  readonly expiresAt: string | null;
}

export interface CreateWorkspaceInput {
  readonly name: string;
  readonly cloud?: Cloud | undefined;
  /** Aliases, URIs or scopes; resolved to canonical resources. Undefined/null = any audience. */
  readonly allowedAudiences?: readonly string[] | null | undefined;
  readonly tenantId?: string | undefined;
  readonly source?: SourceConfig | undefined;
}

export interface UpdateWorkspaceInput {
  readonly cloud?: Cloud | undefined;
  /** null clears the policy (any audience). */
  readonly allowedAudiences?: readonly string[] | null | undefined;
  readonly source?: SourceConfig | undefined;
}

export interface AddIdentityInput {
  readonly name: string;
  readonly clientId?: string | undefined;
  readonly objectId?: string | undefined;
  readonly resourceId?: string | undefined;
  readonly tenantId?: string | undefined;
}

export interface CreateSessionInput {
  readonly workspace: string;
  readonly audiences?: readonly string[] | null | undefined;
  readonly ttlSeconds?: number | undefined;
  readonly labels?: Readonly<Record<string, string>> | undefined;
}

export interface SessionListInput {
  readonly workspace?: string | undefined;
  readonly all?: boolean | undefined;
}

export interface AuditListInput {
  /** Epoch ms. */
  readonly since?: number | undefined;
  readonly workspace?: string | undefined;
  readonly limit?: number | undefined;
}

export interface SourceStatusView {
  readonly workspace: string;
  readonly kind: string;
  /** Tokens cached for this workspace (server mode only). */
  readonly cachedTokens: number | null;
  /** Runtime health; null when no server runs in this process or the source has not been used yet. */
  readonly health: Omit<SourceHealth, 'kind'> | null;
}

export interface StatusView {
  /** `server`: a running service answered; `local`: read from the state directory, no runtime data. */
  readonly mode: 'server' | 'local';
  readonly store: string;
  readonly workspaces: number;
  readonly activeSessions: number;
  /** Cached tokens (server mode only). */
  readonly cachedTokens: number | null;
  readonly sources: readonly SourceStatusView[];
}

export interface AdminOps {
  status(): Promise<StatusView>;
  createWorkspace(input: CreateWorkspaceInput): Promise<WorkspaceView>;
  updateWorkspace(name: string, input: UpdateWorkspaceInput): Promise<WorkspaceView>;
  listWorkspaces(): Promise<WorkspaceView[]>;
  getWorkspace(name: string): Promise<WorkspaceView>;
  addIdentity(workspace: string, input: AddIdentityInput): Promise<IdentityView>;
  createSession(input: CreateSessionInput): Promise<CreatedSession>;
  listSessions(input: SessionListInput): Promise<SessionView[]>;
  revokeSession(id: string): Promise<SessionView>;
  listAudit(input: AuditListInput): Promise<AuditView[]>;
}
