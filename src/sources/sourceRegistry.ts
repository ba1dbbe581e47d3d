/**
 * Builds and keeps the token source of each workspace from its SourceConfig.
 * A source is shared by every workspace with the same config, so its cache of upstream clients and
 * its health are shared too.
 */
import { WitsError } from '../errors.js';
import type { LocalIssuer } from '../issuer/localIssuer.js';
import type { SourceConfig, WorkspaceRecord } from '../store/store.js';
import { LocalTokenSource } from './localSource.js';
import type { TokenSource } from './tokenSource.js';

export const SOURCE_KINDS = ['local'] as const;

export interface SourceContext {
  readonly issuer: LocalIssuer;
  readonly tokenLifetimeSeconds: number;
}

/** Checks a source config when it is set (create/update), so a bad one never reaches the hot path. */
export function validateSourceConfig(config: SourceConfig): SourceConfig {
  if (!(SOURCE_KINDS as readonly string[]).includes(config.kind)) {
    throw new WitsError('ERR_INVALID_ARGUMENT', `Unknown token source '${config.kind}' (known: ${SOURCE_KINDS.join(', ')}).`);
  }
  if (config.kind === 'local' && Object.keys(config.options).length > 0) {
    throw new WitsError('ERR_INVALID_ARGUMENT', "The 'local' source takes no options.");
  }
  return config;
}

export class SourceRegistry {
  readonly #context: SourceContext;
  readonly #sources = new Map<string, TokenSource>();

  constructor(context: SourceContext) {
    this.#context = context;
  }

  sourceFor(workspace: WorkspaceRecord): TokenSource {
    const key = JSON.stringify(workspace.source);
    let source = this.#sources.get(key);
    if (source === undefined) {
      source = this.#create(workspace.source);
      this.#sources.set(key, source);
    }
    return source;
  }

  #create(config: SourceConfig): TokenSource {
    switch (config.kind) {
      case 'local':
        return new LocalTokenSource(this.#context.issuer, this.#context.tokenLifetimeSeconds);
      default:
        throw new WitsError('ERR_INTERNAL', `No token source of kind '${config.kind}'.`);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.#sources.values()].map((s) => s.close?.()));
    this.#sources.clear();
  }
}
