/**
 * Admin operations over the store: workspaces, identities, sessions, audit. Every input is
 * validated here (the HTTP and CLI layers only parse), so both entry points enforce the same rules.
 */
import { isCloud, type Cloud } from '../audiences/cloud.js';
import { moveAudiencesToCloud } from '../audiences/moveToCloud.js';
import { resolveAudience } from '../audiences/resolve.js';
import { newSessionSecret } from '../auth/sessionSecret.js';
import { WitsError } from '../errors.js';
import { isGuid, newGuid } from '../ids.js';
import { validateSourceConfig, type SourceStatus } from '../sources/sourceRegistry.js';
import type { IdentityRecord, SessionRecord, SourceConfig, StoredAuditEvent, Store, WorkspaceRecord } from '../store/store.js';
import type {
  AddIdentityInput,
  AdminOps,
  AuditListInput,
  AuditView,
  CreatedSession,
  CreateSessionInput,
  CreateWorkspaceInput,
  IdentityView,
  SourceStatusView,
  StatusView,
  SessionListInput,
  SessionView,
  UpdateWorkspaceInput,
  WorkspaceView,
} from './adminOps.js';

export const DEFAULT_WORKSPACE = 'default';
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$/;
const MAX_AUDIENCES = 100;
const MAX_LABELS = 16;
const MAX_LABEL_VALUE = 256;
const META_TENANT = 'tenant_id';
const META_SUBSCRIPTION = 'subscription_id';

/** What only a running server knows: attached by the app, absent in the CLI's local mode. */
export interface RuntimeStatus {
  cachedTokens(): number;
  cachedTokensByWorkspace(): ReadonlyMap<string, number>;
  sources(): readonly SourceStatus[];
}

export interface AdminServiceOptions {
  readonly defaultSessionTtlSeconds: number;
  readonly maxSessionTtlSeconds: number;
  readonly now?: () => number;
}

const iso = (ms: number): string => new Date(ms).toISOString();

function checkName(kind: string, name: unknown): string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new WitsError('ERR_INVALID_ARGUMENT', `Invalid ${kind} name ${JSON.stringify(name)}: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit.`);
  }
  return name;
}

function checkGuid(label: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!isGuid(value)) throw new WitsError('ERR_INVALID_ARGUMENT', `${label} must be a GUID, got ${JSON.stringify(value)}.`);
  return value.toLowerCase();
}

function identityView(i: IdentityRecord): IdentityView {
  return { kind: i.kind, name: i.name, tenantId: i.tenantId, clientId: i.clientId, objectId: i.objectId, resourceId: i.resourceId, createdAt: iso(i.createdAt) };
}

export function sessionStatus(s: SessionRecord, now: number): SessionView['status'] {
  if (s.revokedAt !== null) return 'revoked';
  return s.expiresAt <= now ? 'expired' : 'active';
}

function sessionView(s: SessionRecord, now: number): SessionView {
  return {
    id: s.id,
    workspace: s.workspace,
    audiences: s.audiences,
    labels: s.labels,
    createdAt: iso(s.createdAt),
    expiresAt: iso(s.expiresAt),
    revokedAt: s.revokedAt === null ? null : iso(s.revokedAt),
    status: sessionStatus(s, now),
  };
}

function auditView(e: StoredAuditEvent): AuditView {
  return { ...e, time: iso(e.time), expiresAt: e.expiresAt === null ? null : iso(e.expiresAt) };
}

/** Resolves a list of audiences to canonical resources for a cloud (deduplicated). */
function resolveAudienceList(list: readonly unknown[], cloud: Cloud): string[] {
  if (!Array.isArray(list) || list.length > MAX_AUDIENCES) {
    throw new WitsError('ERR_INVALID_ARGUMENT', `Audiences must be a list of at most ${MAX_AUDIENCES} entries.`);
  }
  const out = new Set<string>();
  for (const entry of list) {
    if (typeof entry !== 'string') throw new WitsError('ERR_INVALID_ARGUMENT', 'Each audience must be a string.');
    out.add(resolveAudience(entry, cloud).resource);
  }
  return [...out];
}

function checkLabels(labels: unknown): Record<string, string> {
  if (labels === undefined) return {};
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) {
    throw new WitsError('ERR_INVALID_ARGUMENT', 'Labels must be an object of strings.');
  }
  const entries = Object.entries(labels);
  if (entries.length > MAX_LABELS) throw new WitsError('ERR_INVALID_ARGUMENT', `At most ${MAX_LABELS} labels.`);
  for (const [key, value] of entries) {
    if (!LABEL_KEY.test(key)) throw new WitsError('ERR_INVALID_ARGUMENT', `Invalid label key ${JSON.stringify(key.slice(0, 80))}.`);
    // eslint-disable-next-line no-control-regex
    if (typeof value !== 'string' || value.length > MAX_LABEL_VALUE || /[\u0000-\u001f\u007f]/.test(value)) {
      throw new WitsError('ERR_INVALID_ARGUMENT', `Label '${key}' must be a single-line string of at most ${MAX_LABEL_VALUE} characters.`);
    }
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

/** The system identity carries the ids of the upstream identity a source names, where it names them. */
function withSourceIds(identity: IdentityRecord, source: SourceConfig): IdentityRecord {
  const o = source.options as Record<string, string | undefined>;
  const ids = {
    ...(o.tenantId !== undefined && { tenantId: o.tenantId }),
    ...(o.clientId !== undefined && { clientId: o.clientId }),
    ...(o.objectId !== undefined && { objectId: o.objectId }),
    ...(o.resourceId !== undefined && { resourceId: o.resourceId }),
  };
  return Object.keys(ids).length === 0 ? identity : { ...identity, ...ids };
}

function withoutKindAndWorkspaces({ kind: _kind, workspaces: _workspaces, ...health }: SourceStatus): SourceStatusView['health'] {
  return health;
}

export class AdminService implements AdminOps {
  readonly #store: Store;
  readonly #options: AdminServiceOptions;
  readonly #now: () => number;
  #runtime: RuntimeStatus | undefined;

  constructor(store: Store, options: AdminServiceOptions) {
    this.#store = store;
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  attachRuntime(runtime: RuntimeStatus): void {
    this.#runtime = runtime;
  }

  async status(): Promise<StatusView> {
    const workspaces = await this.#store.listWorkspaces();
    const sessions = await this.#store.listSessions({ now: this.#now() });
    const health = this.#runtime?.sources() ?? [];
    const cached = this.#runtime?.cachedTokensByWorkspace();
    const sources: SourceStatusView[] = workspaces.map((w) => {
      const h = health.find((s) => s.workspaces.includes(w.name));
      return {
        workspace: w.name,
        kind: w.source.kind,
        cachedTokens: cached === undefined ? null : (cached.get(w.name) ?? 0),
        health: h === undefined ? null : withoutKindAndWorkspaces(h),
      };
    });
    return {
      mode: this.#runtime === undefined ? 'local' : 'server',
      store: this.#store.description,
      workspaces: workspaces.length,
      activeSessions: sessions.length,
      cachedTokens: this.#runtime?.cachedTokens() ?? null,
      sources,
    };
  }

  /** First start: installation ids and the `default` workspace with its system-assigned identity. */
  async bootstrap(): Promise<void> {
    if ((await this.#store.getMeta(META_TENANT)) === undefined) await this.#store.setMeta(META_TENANT, newGuid());
    if ((await this.#store.getMeta(META_SUBSCRIPTION)) === undefined) await this.#store.setMeta(META_SUBSCRIPTION, newGuid());
    if ((await this.#store.getWorkspace(DEFAULT_WORKSPACE)) === undefined) {
      try {
        await this.createWorkspace({ name: DEFAULT_WORKSPACE });
      } catch (err) {
        // Another process bootstrapping the same store at the same moment won the race: fine.
        if (!(err instanceof WitsError && err.code === 'ERR_CONFLICT')) throw err;
      }
    }
  }

  async #installationIds(): Promise<{ tenantId: string; subscriptionId: string }> {
    const tenantId = (await this.#store.getMeta(META_TENANT)) ?? newGuid();
    const subscriptionId = (await this.#store.getMeta(META_SUBSCRIPTION)) ?? newGuid();
    return { tenantId, subscriptionId };
  }

  async #workspaceRecord(name: string): Promise<WorkspaceRecord> {
    const workspace = typeof name === 'string' ? await this.#store.getWorkspace(name) : undefined;
    if (workspace === undefined) {
      throw new WitsError('ERR_UNKNOWN_WORKSPACE', `No workspace named ${JSON.stringify(String(name).slice(0, 80))}. See \`wits workspace list\`.`);
    }
    return workspace;
  }

  async #view(workspace: WorkspaceRecord): Promise<WorkspaceView> {
    const identities = await this.#store.listIdentities(workspace.name);
    return {
      name: workspace.name,
      cloud: workspace.cloud,
      allowedAudiences: workspace.allowedAudiences,
      source: workspace.source,
      createdAt: iso(workspace.createdAt),
      updatedAt: iso(workspace.updatedAt),
      identities: identities.map(identityView),
    };
  }

  async createWorkspace(input: CreateWorkspaceInput): Promise<WorkspaceView> {
    const name = checkName('workspace', input.name);
    const cloud = input.cloud ?? 'AzureCloud';
    if (!isCloud(cloud)) throw new WitsError('ERR_INVALID_ARGUMENT', `Unknown cloud ${JSON.stringify(cloud)} (AzureCloud, AzureUSGovernment, AzureChinaCloud).`);
    const allowedAudiences = input.allowedAudiences == null ? null : resolveAudienceList(input.allowedAudiences, cloud);
    const source = validateSourceConfig(input.source ?? { kind: 'local', options: {} });
    const ids = await this.#installationIds();
    const now = this.#now();
    const workspace: WorkspaceRecord = { name, cloud, allowedAudiences, source, createdAt: now, updatedAt: now };
    const generated: IdentityRecord = {
      workspace: name,
      kind: 'system',
      name: 'system',
      tenantId: checkGuid('tenantId', input.tenantId) ?? ids.tenantId,
      clientId: newGuid(),
      objectId: newGuid(),
      resourceId: `/subscriptions/${ids.subscriptionId}/resourceGroups/wits/providers/Microsoft.Wits/workspaces/${name}`,
      createdAt: now,
    };
    const system = withSourceIds(generated, source);
    await this.#store.createWorkspace(workspace, system);
    return this.#view(workspace);
  }

  async updateWorkspace(name: string, input: UpdateWorkspaceInput): Promise<WorkspaceView> {
    const current = await this.#workspaceRecord(name);
    const cloud = input.cloud ?? current.cloud;
    if (!isCloud(cloud)) throw new WitsError('ERR_INVALID_ARGUMENT', `Unknown cloud ${JSON.stringify(cloud)}.`);
    const allowedAudiences =
      input.allowedAudiences === undefined
        ? current.allowedAudiences === null || cloud === current.cloud
          ? current.allowedAudiences
          : moveAudiencesToCloud(current.allowedAudiences, current.cloud, cloud)
        : input.allowedAudiences === null
          ? null
          : resolveAudienceList(input.allowedAudiences, cloud);
    const source = input.source === undefined ? current.source : validateSourceConfig(input.source);
    const updated: WorkspaceRecord = { ...current, cloud, allowedAudiences, source, updatedAt: this.#now() };
    await this.#store.updateWorkspace(updated);
    if (input.source !== undefined) {
      // The system identity shows the upstream identity's ids (client_id in token responses).
      const system = (await this.#store.listIdentities(name)).find((i) => i.kind === 'system');
      if (system !== undefined) {
        const next = withSourceIds(system, source);
        if (next !== system) await this.#store.updateIdentity(next);
      }
    }
    return this.#view(updated);
  }

  async listWorkspaces(): Promise<WorkspaceView[]> {
    return Promise.all((await this.#store.listWorkspaces()).map((w) => this.#view(w)));
  }

  async getWorkspace(name: string): Promise<WorkspaceView> {
    return this.#view(await this.#workspaceRecord(name));
  }

  async addIdentity(workspaceName: string, input: AddIdentityInput): Promise<IdentityView> {
    const workspace = await this.#workspaceRecord(workspaceName);
    const name = checkName('identity', input.name);
    if (name === 'system') throw new WitsError('ERR_INVALID_ARGUMENT', "The name 'system' is reserved for the system-assigned identity.");
    const ids = await this.#installationIds();
    const system = (await this.#store.listIdentities(workspace.name)).find((i) => i.kind === 'system');
    if (input.resourceId !== undefined && !/^\/subscriptions\/[^/\s]+\/resourceGroups\/[^/\s]+\/providers\/[^\s]+$/i.test(input.resourceId)) {
      throw new WitsError('ERR_INVALID_ARGUMENT', 'resourceId must be an ARM id: /subscriptions/<id>/resourceGroups/<rg>/providers/...');
    }
    const identity: IdentityRecord = {
      workspace: workspace.name,
      kind: 'user',
      name,
      tenantId: checkGuid('tenantId', input.tenantId) ?? system?.tenantId ?? ids.tenantId,
      clientId: checkGuid('clientId', input.clientId) ?? newGuid(),
      objectId: checkGuid('objectId', input.objectId) ?? newGuid(),
      resourceId:
        input.resourceId ??
        // The workspace names the resource group: ids must not repeat across workspaces, or a
        // mi_res_id copied from one workspace would select a same-named identity in another.
        `/subscriptions/${ids.subscriptionId}/resourceGroups/wits-${workspace.name}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`,
      createdAt: this.#now(),
    };
    await this.#store.addIdentity(identity);
    return identityView(identity);
  }

  async createSession(input: CreateSessionInput): Promise<CreatedSession> {
    const workspace = await this.#workspaceRecord(input.workspace);
    const ttl = input.ttlSeconds ?? this.#options.defaultSessionTtlSeconds;
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > this.#options.maxSessionTtlSeconds) {
      throw new WitsError('ERR_INVALID_ARGUMENT', `Session TTL must be from 1 to ${this.#options.maxSessionTtlSeconds} seconds.`);
    }
    let audiences: string[] | null = null;
    if (input.audiences != null && input.audiences.length > 0) {
      audiences = resolveAudienceList(input.audiences, workspace.cloud);
      const outside = workspace.allowedAudiences === null ? [] : audiences.filter((a) => !workspace.allowedAudiences?.includes(a));
      if (outside.length > 0) {
        throw new WitsError('ERR_AUDIENCE_NOT_ALLOWED', `Workspace '${workspace.name}' does not allow: ${outside.join(', ')}.`);
      }
    }
    const labels = checkLabels(input.labels);
    const { sessionId, secret, secretHash } = newSessionSecret();
    const now = this.#now();
    const record: SessionRecord = {
      id: sessionId,
      workspace: workspace.name,
      secretHash,
      audiences,
      labels,
      createdAt: now,
      expiresAt: now + ttl * 1000,
      revokedAt: null,
    };
    await this.#store.createSession(record);
    return { ...sessionView(record, now), secret };
  }

  async listSessions(input: SessionListInput): Promise<SessionView[]> {
    if (input.workspace !== undefined) await this.#workspaceRecord(input.workspace);
    const now = this.#now();
    const sessions = await this.#store.listSessions({ workspace: input.workspace, all: input.all === true, now });
    return sessions.map((s) => sessionView(s, now));
  }

  async revokeSession(id: string): Promise<SessionView> {
    const now = this.#now();
    if (typeof id !== 'string' || !(await this.#store.revokeSession(id, now))) {
      throw new WitsError('ERR_UNKNOWN_SESSION', `No session with id ${JSON.stringify(String(id).slice(0, 80))}.`);
    }
    return sessionView((await this.#store.getSession(id)) as SessionRecord, now);
  }

  async listAudit(input: AuditListInput): Promise<AuditView[]> {
    const limit = input.limit ?? 1000;
    if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) {
      throw new WitsError('ERR_INVALID_ARGUMENT', 'limit must be from 1 to 100000.');
    }
    if (input.since !== undefined && !Number.isFinite(input.since)) {
      throw new WitsError('ERR_INVALID_ARGUMENT', 'since must be a time.');
    }
    return (await this.#store.listAudit({ since: input.since, workspace: input.workspace, limit })).map(auditView);
  }
}
