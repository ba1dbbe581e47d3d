/**
 * Builds and keeps the token source of each workspace from its (already validated) SourceConfig.
 * Workspaces with the same config and cloud share one source, hence one circuit breaker and one
 * health record. Upstream sources are wrapped in the resilience layer; `local` needs none.
 */
import { AUTHORITY_HOSTS } from '../audiences/cloud.js';
import { WitsError } from '../errors.js';
import type { LocalIssuer } from '../issuer/localIssuer.js';
import type { WorkspaceRecord } from '../store/store.js';
import { EntraCertificateTokenSource } from './entraCertificateSource.js';
import { EntraFederatedTokenSource } from './entraFederatedSource.js';
import { EntraSecretTokenSource } from './entraSecretSource.js';
import { LocalTokenSource } from './localSource.js';
import { ManagedIdentityTokenSource } from './managedIdentitySource.js';
import { ResilientSource, type ResilienceOptions, type SourceHealth } from './resilientSource.js';
import type { TokenSource } from './tokenSource.js';

export { SOURCE_KINDS, validateSourceConfig } from './sourceConfig.js';

export interface SourceContext {
  readonly issuer: LocalIssuer;
  readonly tokenLifetimeSeconds: number;
  readonly resilience?: Partial<ResilienceOptions>;
}

export interface SourceStatus extends SourceHealth {
  readonly workspaces: readonly string[];
}

interface Entry {
  readonly source: TokenSource;
  readonly workspaces: Set<string>;
}

export class SourceRegistry {
  readonly #context: SourceContext;
  readonly #entries = new Map<string, Entry>();

  constructor(context: SourceContext) {
    this.#context = context;
  }

  sourceFor(workspace: WorkspaceRecord): TokenSource {
    const key = `${workspace.cloud}\u0000${JSON.stringify(workspace.source)}`;
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      entry = { source: this.#create(workspace), workspaces: new Set() };
      this.#entries.set(key, entry);
    }
    entry.workspaces.add(workspace.name);
    return entry.source;
  }

  #create(workspace: WorkspaceRecord): TokenSource {
    const o = workspace.source.options as Record<string, string | undefined>;
    const timeout = this.#context.resilience?.attemptTimeoutMs ?? 10_000;
    const authority = o.authority ?? AUTHORITY_HOSTS[workspace.cloud];
    const ids = { tenantId: o.tenantId as string, clientId: o.clientId as string, authority };
    const resilient = (inner: TokenSource) => new ResilientSource(inner, this.#context.resilience);
    switch (workspace.source.kind) {
      case 'local':
        return new LocalTokenSource(this.#context.issuer, this.#context.tokenLifetimeSeconds);
      case 'managed-identity':
        return resilient(
          new ManagedIdentityTokenSource(
            { ...(o.clientId && { clientId: o.clientId }), ...(o.resourceId && { resourceId: o.resourceId }), ...(o.objectId && { objectId: o.objectId }) },
            timeout,
          ),
        );
      case 'entra-federated':
        return resilient(
          new EntraFederatedTokenSource(
            { ...ids, ...(o.subject && { subject: o.subject }), ...(o.assertionFile && { assertionFile: o.assertionFile }) },
            this.#context.issuer,
            timeout,
          ),
        );
      case 'entra-certificate':
        return resilient(new EntraCertificateTokenSource({ ...ids, certificate: { file: o.certificateFile, env: o.certificateEnv } }, timeout));
      case 'entra-secret':
        return resilient(new EntraSecretTokenSource({ ...ids, secret: { file: o.secretFile, env: o.secretEnv } }, timeout));
      default:
        throw new WitsError('ERR_INTERNAL', `No token source of kind '${workspace.source.kind}'.`);
    }
  }

  /** Health of every upstream source built so far (for `wits status`). */
  status(): SourceStatus[] {
    const out: SourceStatus[] = [];
    for (const { source, workspaces } of this.#entries.values()) {
      if (source instanceof ResilientSource) out.push({ ...source.health(), workspaces: [...workspaces].sort() });
    }
    return out;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#entries.values()].map((e) => e.source.close?.()));
    this.#entries.clear();
  }
}
