/**
 * Audience policy. Fails closed: a resource is allowed only when the workspace allows it (no list =
 * any valid audience, as IMDS does; a list = only those) AND the session's narrower list, if any,
 * holds it. Both lists hold canonical resources, resolved when they were set.
 */
import { WitsError } from './errors.js';
import type { SessionRecord, WorkspaceRecord } from './store/store.js';

export function checkAudiencePolicy(workspace: WorkspaceRecord, session: SessionRecord, resource: string): void {
  if (workspace.allowedAudiences !== null && !workspace.allowedAudiences.includes(resource)) {
    throw new WitsError('ERR_AUDIENCE_NOT_ALLOWED', `Workspace '${workspace.name}' does not allow tokens for '${resource}'.`);
  }
  if (session.audiences !== null && !session.audiences.includes(resource)) {
    throw new WitsError('ERR_AUDIENCE_NOT_ALLOWED', `This session does not allow tokens for '${resource}'.`);
  }
}
