/** Audiences: the alias table, audience resolution and its helpers (pure, no I/O). */

export { AUTHORITY_HOSTS, CLOUDS, isCloud } from './cloud.js';
export type { Cloud } from './cloud.js';
export { closestName } from './didYouMean.js';
export { ALIAS_LOOKUP_NAMES, ALIAS_NAMES, AUDIENCE_ALIASES, findAlias } from './registry.js';
export type { AudienceAlias } from './registry.js';
export { MAX_AUDIENCE_LENGTH, resolveAudience } from './resolve.js';
export type { AudienceKind, ResolvedAudience } from './resolve.js';
