/**
 * Moving a workspace's allowed audiences to another cloud. They are stored as canonical resources
 * of the workspace's cloud (`https://vault.azure.net`), so after a change of cloud they would name
 * the old cloud's services and the policy would refuse the new cloud's tokens for them. Each
 * resource that is a known service's resource in the old cloud becomes that service's resource in
 * the new one; any other resource (`api://...`, an application id) does not depend on the cloud and
 * stays as it is.
 */
import { WitsError } from '../errors.js';
import type { Cloud } from './cloud.js';
import { AUDIENCE_ALIASES, type AudienceAlias } from './registry.js';

/** @param aliases the alias table (tests pass their own). */
export function moveAudiencesToCloud(resources: readonly string[], from: Cloud, to: Cloud, aliases: readonly AudienceAlias[] = AUDIENCE_ALIASES): string[] {
  const out = new Set<string>();
  for (const resource of resources) {
    const services = aliases.filter((a) => a.resources[from] === resource);
    if (services.length === 0) {
      out.add(resource);
      continue;
    }
    const targets = new Set(services.map((a) => a.resources[to]));
    const [target] = targets;
    if (targets.size > 1 || target === undefined) {
      const names = services.map((a) => a.name).join(', ');
      throw new WitsError(
        targets.size > 1 ? 'ERR_INVALID_ARGUMENT' : 'ERR_AUDIENCE_UNAVAILABLE_IN_CLOUD',
        `The allowed audience ${resource} (${names}) has ${targets.size > 1 ? 'more than one' : 'no'} counterpart in ${to}; pass the allowed audiences again with the new cloud.`,
      );
    }
    out.add(target);
  }
  return [...out];
}
