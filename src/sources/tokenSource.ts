/**
 * The token source contract: where the tokens of a workspace's identities come from.
 * One file per source kind in this folder; `createTokenSource` picks one from a workspace's config.
 */
import type { IdentityRecord, WorkspaceRecord } from '../store/store.js';

export interface SourceTokenRequest {
  readonly workspace: WorkspaceRecord;
  readonly identity: IdentityRecord;
  /** Canonical resource (no `/.default`). */
  readonly resource: string;
}

export interface SourceToken {
  readonly token: string;
  /** `jti`/`uti` of the token when known: what the audit log records instead of the token. */
  readonly tokenId: string | null;
  /** Epoch ms. */
  readonly issuedAt: number;
  readonly notBefore: number;
  readonly expiresAt: number;
  /** When the source suggests refreshing (epoch ms), e.g. from Entra's `refresh_in`. */
  readonly refreshAt?: number;
}

export interface TokenSource {
  readonly kind: string;
  getToken(request: SourceTokenRequest): Promise<SourceToken>;
  close?(): Promise<void>;
}
