/**
 * Picks the identity a request asks for: `client_id`, `object_id` or `mi_res_id` (msal-node sends
 * `msi_res_id` on IMDS, old clients `principal_id` for the object id), else the system-assigned one.
 */
import { WitsError } from './errors.js';
import type { IdentityRecord } from './store/store.js';

export interface IdentitySelector {
  readonly clientId?: string | undefined;
  readonly objectId?: string | undefined;
  readonly resourceId?: string | undefined;
}

const MAX_SELECTOR_LENGTH = 512;

export function selectIdentity(identities: readonly IdentityRecord[], selector: IdentitySelector, workspace: string): IdentityRecord {
  const given = (['clientId', 'objectId', 'resourceId'] as const).filter((k) => selector[k] !== undefined);
  if (given.length > 1) {
    throw new WitsError('ERR_AMBIGUOUS_IDENTITY', 'Give at most one of client_id, object_id and mi_res_id.');
  }
  const key = given[0];
  if (key === undefined) {
    const system = identities.find((i) => i.kind === 'system');
    if (system === undefined) throw new WitsError('ERR_UNKNOWN_IDENTITY', `Workspace '${workspace}' has no system-assigned identity.`);
    return system;
  }
  const wanted = (selector[key] as string).trim().toLowerCase();
  if (wanted === '' || wanted.length > MAX_SELECTOR_LENGTH) {
    throw new WitsError('ERR_UNKNOWN_IDENTITY', `The ${key} selector is empty or too long.`);
  }
  // GUIDs and ARM resource ids are case-insensitive.
  const found = identities.find((i) => i[key].toLowerCase() === wanted);
  if (found === undefined) {
    const label = { clientId: 'client_id', objectId: 'object_id', resourceId: 'mi_res_id' }[key];
    throw new WitsError('ERR_UNKNOWN_IDENTITY', `Workspace '${workspace}' has no identity with that ${label}.`);
  }
  return found;
}
