/**
 * Wires the service together from a validated config: store -> bootstrap -> issuer -> sources ->
 * cache -> token and admin services. Used by `wits serve`, `wits exec` (in-process server) and the
 * CLI's local admin commands.
 */
import { join } from 'node:path';
import { AdminService } from './admin/adminService.js';
import { AdminCredential, ensureAdminToken } from './auth/adminCredential.js';
import { SessionAuthenticator } from './auth/sessionAuthenticator.js';
import { TokenCache } from './cache/tokenCache.js';
import type { WitsConfig } from './config.js';
import { LocalIssuer } from './issuer/localIssuer.js';
import { loadSigningKeys } from './issuer/signingKeys.js';
import type { Logger } from './logger.js';
import { SourceRegistry } from './sources/sourceRegistry.js';
import { SqliteStore } from './store/sqliteStore.js';
import type { Store } from './store/store.js';
import { TokenService, workspaceOfCacheKey } from './tokenService.js';

export const DATABASE_FILE = 'wits.db';

export interface WitsApp {
  readonly config: WitsConfig;
  readonly store: Store;
  readonly admin: AdminService;
  readonly adminCredential: AdminCredential;
  readonly issuer: LocalIssuer;
  readonly tokens: TokenService;
  readonly cache: TokenCache;
  readonly logger: Logger;
  close(): Promise<void>;
}

/** @param server the store of a serving process: WAL checkpoints off the event loop (sqliteStore.ts). */
export function openStore(config: WitsConfig, server = false): Store {
  return new SqliteStore({ path: join(config.home, DATABASE_FILE), durability: config.durability, checkpointInBackground: server });
}

/**
 * Logs failed background refreshes, at most one warning per workspace per minute, with the number
 * of failures it stands for.
 *
 * Fix (found by test/reliability/upstreamSimulated.test.ts): during an upstream outage every
 * request served from the cache past its token's refresh time starts a background refresh, which
 * fails at once while the breaker is open; one warning per failure meant one warning per request
 * (5,229 in a simulated 10-minute outage at 10 requests/s), a flood that buries the log.
 */
export function refreshErrorReporter(logger: Logger, now: () => number = Date.now, everyMs = 60_000): (key: string, err: unknown) => void {
  const last = new Map<string, { at: number; suppressed: number }>();
  return (key, err) => {
    const workspace = workspaceOfCacheKey(key);
    const t = now();
    const seen = last.get(workspace);
    if (seen !== undefined && t - seen.at < everyMs) {
      seen.suppressed += 1;
      return;
    }
    logger.warn('background token refresh failed', { workspace, reason: (err as Error).message, failures: 1 + (seen?.suppressed ?? 0) });
    last.set(workspace, { at: t, suppressed: 0 });
  };
}

/** Opens the store and runs first-start bootstrap; enough for admin commands (no issuer needed). */
export async function openAdmin(config: WitsConfig, server = false): Promise<{ store: Store; admin: AdminService }> {
  const store = openStore(config, server);
  const admin = new AdminService(store, {
    defaultSessionTtlSeconds: config.sessionTtlSeconds,
    maxSessionTtlSeconds: config.maxSessionTtlSeconds,
  });
  await admin.bootstrap();
  return { store, admin };
}

/** @param baseUrl the URL the service is reachable at (the issuer defaults to it). */
export async function openWits(config: WitsConfig, baseUrl: string, logger: Logger): Promise<WitsApp> {
  const { store, admin } = await openAdmin(config, true);
  const adminCredential = new AdminCredential(ensureAdminToken(config.home));
  const keys = await loadSigningKeys(store, config.signingAlg);
  const issuer = new LocalIssuer(config.issuer ?? config.publicUrl ?? baseUrl, keys);
  const budgetMs = config.upstreamTimeoutSeconds * 1000;
  const sources = new SourceRegistry({
    issuer,
    tokenLifetimeSeconds: config.tokenLifetimeSeconds,
    resilience: {
      totalBudgetMs: budgetMs,
      attemptTimeoutMs: Math.min(10_000, budgetMs),
      breakerCooldownMs: config.breakerCooldownSeconds * 1000,
    },
  });
  const cache = new TokenCache({ onRefreshError: refreshErrorReporter(logger) });
  admin.attachRuntime({
    cachedTokens: () => cache.size,
    cachedTokensByWorkspace: () => cache.countBy(workspaceOfCacheKey),
    sources: () => sources.status(),
  });
  const tokens = new TokenService({ store, auth: new SessionAuthenticator(store), cache, sources, logger });
  return {
    config,
    store,
    admin,
    adminCredential,
    issuer,
    tokens,
    cache,
    logger,
    async close() {
      await sources.close();
      await store.close();
    },
  };
}
