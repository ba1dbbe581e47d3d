/**
 * The admin API (Authorization: Bearer <admin credential>), a thin binding of AdminOps:
 *
 *   GET    /admin/workspaces                       list
 *   POST   /admin/workspaces                       create  {name, cloud?, allowedAudiences?, tenantId?, source?}
 *   GET    /admin/workspaces/{name}                show
 *   PATCH  /admin/workspaces/{name}                update  {cloud?, allowedAudiences?, source?}
 *   POST   /admin/workspaces/{name}/identities     add a user-assigned identity
 *   GET    /admin/sessions?workspace=&all=true     list
 *   POST   /admin/sessions                         create  {workspace, audiences?, ttlSeconds?, labels?}
 *   POST   /admin/sessions/{id}/revoke             revoke (DELETE /admin/sessions/{id} too)
 *   GET    /admin/audit?since=&workspace=&limit=   audit rows, oldest first
 *   GET    /admin/status                           sources' health, cache size, counts
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AdminOps } from '../admin/adminOps.js';
import type { AdminCredential } from '../auth/adminCredential.js';
import { WitsError } from '../errors.js';
import { sendJson } from '../http/respond.js';
import { bearer, parseJsonObject, readBody, single } from '../http/request.js';

export const ADMIN_PREFIX = '/admin/';

type Body = Record<string, unknown>;

function str(body: Body, key: string): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new WitsError('ERR_INVALID_ARGUMENT', `'${key}' must be a string.`);
  return v;
}

function list(body: Body, key: string): string[] | null | undefined {
  const v = body[key];
  if (v === undefined) return undefined;
  if (v === null) return null;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new WitsError('ERR_INVALID_ARGUMENT', `'${key}' must be a list of strings or null.`);
  return v as string[];
}

function int(value: unknown, key: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const n = typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new WitsError('ERR_INVALID_ARGUMENT', `'${key}' must be an integer.`);
  return n;
}

function sourceOf(body: Body): { kind: string; options: Record<string, unknown> } | undefined {
  const v = body.source;
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null || Array.isArray(v) || typeof (v as Body).kind !== 'string') {
    throw new WitsError('ERR_INVALID_ARGUMENT', "'source' must be an object {kind, options}.");
  }
  const options = (v as Body).options ?? {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new WitsError('ERR_INVALID_ARGUMENT', "'source.options' must be an object.");
  return { kind: (v as Body).kind as string, options: options as Record<string, unknown> };
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new WitsError('ERR_INVALID_REQUEST', 'Malformed percent-encoding in the path.');
  }
}

function methodNotAllowed(allowed: string): never {
  throw new WitsError('ERR_METHOD_NOT_ALLOWED', `Use ${allowed} on this endpoint.`);
}

export async function handleAdmin(
  admin: AdminOps,
  credential: AdminCredential,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  params: URLSearchParams,
): Promise<void> {
  const presented = bearer(req);
  if (presented === undefined || presented === '' || !credential.matches(presented)) {
    throw new WitsError('ERR_ADMIN_UNAUTHENTICATED', 'Missing or wrong admin credential (Authorization: Bearer <contents of <home>/admin-token>).');
  }
  const parts = path.slice(ADMIN_PREFIX.length).split('/').map(decodeSegment);
  const method = req.method ?? 'GET';
  const body = async (): Promise<Body> => parseJsonObject(await readBody(req));
  const [collection, id, action, extra] = parts;
  if (extra !== undefined) throw new WitsError('ERR_NOT_FOUND', 'No admin endpoint at this path.');

  if (collection === 'workspaces') {
    if (id === undefined || id === '') {
      if (method === 'GET') return sendJson(res, 200, await admin.listWorkspaces());
      if (method === 'POST') {
        const b = await body();
        const view = await admin.createWorkspace({
          name: str(b, 'name') as string,
          cloud: str(b, 'cloud') as never,
          allowedAudiences: list(b, 'allowedAudiences'),
          tenantId: str(b, 'tenantId'),
          source: sourceOf(b),
        });
        return sendJson(res, 201, view);
      }
      return methodNotAllowed('GET or POST');
    }
    if (action === undefined) {
      if (method === 'GET') return sendJson(res, 200, await admin.getWorkspace(id));
      if (method === 'PATCH') {
        const b = await body();
        return sendJson(res, 200, await admin.updateWorkspace(id, { cloud: str(b, 'cloud') as never, allowedAudiences: list(b, 'allowedAudiences'), source: sourceOf(b) }));
      }
      return methodNotAllowed('GET or PATCH');
    }
    if (action === 'identities') {
      if (method !== 'POST') return methodNotAllowed('POST');
      const b = await body();
      const view = await admin.addIdentity(id, {
        name: str(b, 'name') as string,
        clientId: str(b, 'clientId'),
        objectId: str(b, 'objectId'),
        resourceId: str(b, 'resourceId'),
        tenantId: str(b, 'tenantId'),
      });
      return sendJson(res, 201, view);
    }
  }

  if (collection === 'sessions') {
    if (id === undefined || id === '') {
      if (method === 'GET') {
        return sendJson(res, 200, await admin.listSessions({ workspace: single(params, 'workspace'), all: single(params, 'all') === 'true' }));
      }
      if (method === 'POST') {
        const b = await body();
        const labels = b.labels;
        const created = await admin.createSession({
          workspace: str(b, 'workspace') ?? 'default',
          audiences: list(b, 'audiences'),
          ttlSeconds: int(b.ttlSeconds, 'ttlSeconds'),
          labels: labels === undefined ? undefined : (labels as Record<string, string>),
        });
        return sendJson(res, 201, created);
      }
      return methodNotAllowed('GET or POST');
    }
    if ((action === 'revoke' && method === 'POST') || (action === undefined && method === 'DELETE')) {
      return sendJson(res, 200, await admin.revokeSession(id));
    }
    return methodNotAllowed(action === 'revoke' ? 'POST' : 'DELETE');
  }

  if (collection === 'status' && id === undefined) {
    if (method !== 'GET') return methodNotAllowed('GET');
    return sendJson(res, 200, await admin.status());
  }

  if (collection === 'audit' && id === undefined) {
    if (method !== 'GET') return methodNotAllowed('GET');
    return sendJson(res, 200, await admin.listAudit({
      since: int(single(params, 'since'), 'since'),
      workspace: single(params, 'workspace'),
      limit: int(single(params, 'limit'), 'limit'),
    }));
  }
  throw new WitsError('ERR_NOT_FOUND', 'No admin endpoint at this path.');
}
