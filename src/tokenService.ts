/**
 * The token hot path, shared by every protocol adapter:
 * authenticate -> resolve audience -> pick identity -> check policy -> cache (single-flight to
 * the source) -> audit -> return. Adapters only translate their wire format to a TokenRequest and
 * the IssuedToken (or the thrown WitsError) back.
 */
import { resolveAudience } from './audiences/resolve.js';
import type { SessionAuthenticator } from './auth/sessionAuthenticator.js';
import type { CachedToken, TokenCache } from './cache/tokenCache.js';
import { asWitsError } from './errors.js';
import { selectIdentity, type IdentitySelector } from './identitySelector.js';
import type { Logger } from './logger.js';
import { checkAudiencePolicy } from './policy.js';
import type { SourceRegistry } from './sources/sourceRegistry.js';
import type { TokenSource } from './sources/tokenSource.js';
import type { AuditEvent, IdentityRecord, ProtocolName, SessionRecord, Store, WorkspaceRecord } from './store/store.js';
import { printable } from './text.js';

export interface TokenRequest {
  readonly protocol: ProtocolName;
  readonly secret: string | undefined;
  readonly audience: string | undefined;
  readonly selector: IdentitySelector;
}

export interface IssuedToken {
  readonly token: string;
  /** `token` as a JSON string literal (quoted, escaped), for writing response bodies. */
  readonly tokenJson: string;
  /** Canonical resource: the token's `aud`. */
  readonly resource: string;
  readonly clientId: string;
  /** Epoch ms. */
  readonly notBefore: number;
  readonly expiresAt: number;
  readonly refreshAt: number;
}

/**
 * An unresolved audience as the audit row records it. Callers do paste credentials into the wrong
 * parameter; a session secret or a token must not end up in the audit log that way (the secret
 * would fit whole in the 128 characters kept), so such input is recorded only by its kind.
 */
function auditedInput(audience: string): string {
  if (/wits\.[A-Za-z0-9_-]{22}\./.test(audience)) return '[redacted: a session secret]';
  if (/witsadm\./.test(audience)) return '[redacted: an admin credential]';
  if (/eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+/.test(audience)) return '[redacted: a token]';
  return printable(audience);
}

/**
 * Token cache key: workspace first (so `workspaceOfCacheKey` can group by it), then updatedAt, so
 * that after a workspace's source or policy changes its old tokens are never served.
 */
function cacheKey(workspace: string, updatedAt: number, clientId: string, resource: string): string {
  return `${workspace}\u0000${updatedAt}\u0000${clientId}\u0000${resource}`;
}

export function workspaceOfCacheKey(key: string): string {
  return key.slice(0, key.indexOf('\u0000'));
}

export class TokenService {
  readonly #store: Store;
  readonly #auth: SessionAuthenticator;
  readonly #cache: TokenCache;
  readonly #sources: SourceRegistry;
  readonly #log: Logger;
  /**
   * The source of each workspace record seen: SourceRegistry.sourceFor keys its map by the
   * serialised config (a JSON.stringify per call); the store hands out the same frozen record until
   * the workspace changes, so this lookup is by identity. A changed workspace is a new record.
   */
  readonly #sourceOf = new WeakMap<WorkspaceRecord, TokenSource>();
  /**
   * JSON.stringify of a ~1 KB token costs several microseconds (a character-by-character scan),
   * as much as the rest of the response; it is done once per cached token instead of per response.
   */
  readonly #tokenJson = new WeakMap<CachedToken, string>();

  constructor(deps: { store: Store; auth: SessionAuthenticator; cache: TokenCache; sources: SourceRegistry; logger: Logger }) {
    this.#store = deps.store;
    this.#auth = deps.auth;
    this.#cache = deps.cache;
    this.#sources = deps.sources;
    this.#log = deps.logger;
  }

  async issue(request: TokenRequest): Promise<IssuedToken> {
    let session: SessionRecord | undefined;
    let identity: IdentityRecord | undefined;
    let resource: string | undefined;
    try {
      session = await this.#auth.authenticate(request.secret);
      const workspace = await this.#store.getWorkspace(session.workspace);
      if (workspace === undefined) throw new Error(`session ${session.id} refers to a missing workspace`);
      resource = resolveAudience(request.audience ?? '', workspace.cloud).resource;
      identity = selectIdentity(await this.#store.listIdentities(workspace.name), request.selector, workspace.name);
      checkAudiencePolicy(workspace, session, resource);

      let source = this.#sourceOf.get(workspace);
      if (source === undefined) {
        source = this.#sources.sourceFor(workspace);
        this.#sourceOf.set(workspace, source);
      }
      const key = cacheKey(workspace.name, workspace.updatedAt, identity.clientId, resource);
      const sourceRequest = { workspace, identity, resource };
      const fetch = () => source.getToken(sourceRequest);
      const token = this.#cache.peek(key, fetch) ?? (await this.#cache.get(key, fetch));

      // Awaited before answering: every token a client receives has its audit row.
      await this.#store.appendAudit({
        time: Date.now(),
        protocol: request.protocol,
        outcome: 'issued',
        workspace: workspace.name,
        sessionId: session.id,
        identity: identity.clientId,
        audience: resource,
        code: null,
        tokenId: token.tokenId,
        expiresAt: token.expiresAt,
      });
      let tokenJson = this.#tokenJson.get(token);
      if (tokenJson === undefined) {
        tokenJson = JSON.stringify(token.token);
        this.#tokenJson.set(token, tokenJson);
      }
      return {
        token: token.token,
        tokenJson,
        resource,
        clientId: identity.clientId,
        notBefore: token.notBefore,
        expiresAt: token.expiresAt,
        refreshAt: token.refreshAt,
      };
    } catch (thrown) {
      const err = asWitsError(thrown);
      await this.#auditRefusal({
        time: Date.now(),
        protocol: request.protocol,
        outcome: 'refused',
        workspace: session?.workspace ?? null,
        sessionId: session?.id ?? null,
        identity: identity?.clientId ?? null,
        audience: resource ?? (request.audience === undefined ? null : auditedInput(request.audience)),
        code: err.code,
        tokenId: null,
        expiresAt: null,
      });
      throw err;
    }
  }

  async #auditRefusal(event: AuditEvent): Promise<void> {
    try {
      await this.#store.appendAudit(event);
    } catch (err) {
      // The refusal still reaches the caller; losing its audit row is logged, not hidden.
      this.#log.error('audit write failed', { code: event.code, reason: (err as Error).message });
    }
  }
}
