/** AdminOps over a running server's admin API (the CLI's `--server` / WITS_URL mode). */
import type {
  AddIdentityInput,
  AdminOps,
  AuditListInput,
  AuditView,
  CreatedSession,
  CreateSessionInput,
  CreateWorkspaceInput,
  IdentityView,
  SessionListInput,
  SessionView,
  StatusView,
  UpdateWorkspaceInput,
  WorkspaceView,
} from '../admin/adminOps.js';
import { ERROR_CODES, WitsError, type ErrorCode } from '../errors.js';

export class RemoteAdmin implements AdminOps {
  readonly #base: string;
  readonly #token: string;

  constructor(serverUrl: string, adminToken: string) {
    this.#base = serverUrl.replace(/\/+$/, '');
    this.#token = adminToken;
  }

  async #call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(this.#base + path, {
        method,
        headers: { authorization: `Bearer ${this.#token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? null : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (err) {
      throw new WitsError('ERR_SOURCE_UNAVAILABLE', `Cannot reach the wits server at ${this.#base}: ${(err as Error).message}`);
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!response.ok) {
      const e = (parsed ?? {}) as { code?: string; message?: string; suggestion?: string };
      const code = (e.code !== undefined && e.code in ERROR_CODES ? e.code : 'ERR_INTERNAL') as ErrorCode;
      const message = e.message ?? `The server answered HTTP ${response.status}.`;
      throw new WitsError(code, message, e.suggestion === undefined ? {} : { suggestion: e.suggestion });
    }
    return parsed as T;
  }

  status(): Promise<StatusView> {
    return this.#call('GET', '/admin/status');
  }
  createWorkspace(input: CreateWorkspaceInput): Promise<WorkspaceView> {
    return this.#call('POST', '/admin/workspaces', input);
  }
  updateWorkspace(name: string, input: UpdateWorkspaceInput): Promise<WorkspaceView> {
    return this.#call('PATCH', `/admin/workspaces/${encodeURIComponent(name)}`, input);
  }
  listWorkspaces(): Promise<WorkspaceView[]> {
    return this.#call('GET', '/admin/workspaces');
  }
  getWorkspace(name: string): Promise<WorkspaceView> {
    return this.#call('GET', `/admin/workspaces/${encodeURIComponent(name)}`);
  }
  addIdentity(workspace: string, input: AddIdentityInput): Promise<IdentityView> {
    return this.#call('POST', `/admin/workspaces/${encodeURIComponent(workspace)}/identities`, input);
  }
  createSession(input: CreateSessionInput): Promise<CreatedSession> {
    return this.#call('POST', '/admin/sessions', input);
  }
  listSessions(input: SessionListInput): Promise<SessionView[]> {
    const q = new URLSearchParams();
    if (input.workspace !== undefined) q.set('workspace', input.workspace);
    if (input.all) q.set('all', 'true');
    return this.#call('GET', `/admin/sessions?${q}`);
  }
  revokeSession(id: string): Promise<SessionView> {
    return this.#call('POST', `/admin/sessions/${encodeURIComponent(id)}/revoke`);
  }
  listAudit(input: AuditListInput): Promise<AuditView[]> {
    const q = new URLSearchParams();
    if (input.since !== undefined) q.set('since', String(input.since));
    if (input.workspace !== undefined) q.set('workspace', input.workspace);
    if (input.limit !== undefined) q.set('limit', String(input.limit));
    return this.#call('GET', `/admin/audit?${q}`);
  }
}
