/**
 * The SDK's token cache, per (identity, audience):
 *
 * - Single flight: concurrent callers for one key share one request.
 * - Refresh ahead: past a token's refresh time it is still served while one background request
 *   replaces it (at most one attempt per key every few seconds, backing off after failures).
 * - Never serves a token with less than a minute of validity left: such a caller waits for a fresh
 *   one instead. A fresh token is refused if already expired (transport.ts).
 * - Spellings share entries: `https://storage.azure.com/.default` and `https://Storage.azure.com/`
 *   have one key (`audienceKey`), and once `Storage` turned out to mean `https://storage.azure.com`
 *   both spellings find the same token.
 * - No timers: refreshes start from calls, so the cache never keeps a process alive.
 */
import type { WitsAccessToken } from './transport.js';

/** A cached token with less validity left than this is not served. */
const MIN_REMAINING_MS = 60_000;
/** Least time between two background refresh attempts for one key; doubles after each failure. */
const REFRESH_ATTEMPT_INTERVAL_MS = 5_000;
const MAX_REFRESH_ATTEMPT_INTERVAL_MS = 60_000;
const DEFAULT_MAX_ENTRIES = 1_000;

interface Entry {
  token: WitsAccessToken;
  /** Earliest time of the next background refresh attempt. */
  nextAttempt: number;
  failures: number;
}

/**
 * @internal The cache key of an audience: https URIs and scopes in the form the server canonicalises them to
 * (lower-case scheme and host, one trailing slash and `/.default` removed), aliases and GUIDs
 * lower-cased (the server matches them case-insensitively), anything else as is. Two inputs get
 * one key only if the server resolves them to one resource.
 *
 * @example
 * ```ts
 * audienceKey('https://Vault.azure.net/.default'); // 'https://vault.azure.net'
 * ```
 */
export function audienceKey(audience: string): string {
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)(.*)$/.exec(audience);
  if (match === null) return /^[A-Za-z0-9_-]+$/.test(audience) ? audience.toLowerCase() : audience;
  const scheme = (match[1] as string).toLowerCase();
  let path = match[3] as string;
  if (path.endsWith('/')) path = path.slice(0, -1);
  if (path.toLowerCase().endsWith('/.default')) {
    path = path.slice(0, -'/.default'.length);
    if (path.endsWith('/')) path = path.slice(0, -1);
  }
  // Only https hosts are case-insensitive to the server; api:// URIs keep their case.
  const host = scheme === 'https' ? (match[2] as string).toLowerCase() : (match[2] as string);
  return `${scheme}://${host}${path}`;
}

/**
 * @internal Options of `ClientTokenCache.get`.
 *
 * @example
 * ```ts
 * cache.get(key, identity, fetch, { forceRefresh: true });
 * ```
 */
export interface CacheGetOptions {
  /** Ignore the cached token (a shared in-flight request is still joined). */
  readonly forceRefresh?: boolean;
}

/**
 * @internal The cache of one `WitsClient` (see the module comment for its rules).
 *
 * @example
 * ```ts
 * const cache = new ClientTokenCache();
 * const token = await cache.get(`system\u0000${audienceKey('Storage')}`, 'system', () => fetchToken(endpoint, 'Storage', {}, settings));
 * ```
 */
export class ClientTokenCache {
  readonly #entries = new Map<string, Entry>();
  /** Requested key -> canonical key (identity + the resource the server resolved it to). */
  readonly #links = new Map<string, string>();
  readonly #inflight = new Map<string, Promise<WitsAccessToken>>();
  readonly #maxEntries: number;
  readonly #now: () => number;
  readonly #onRefreshError: (err: unknown) => void;

  constructor(options: { maxEntries?: number; now?: () => number; onRefreshError?: (err: unknown) => void } = {}) {
    this.#maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    this.#now = options.now ?? Date.now;
    this.#onRefreshError = options.onRefreshError ?? (() => {});
  }

  /**
   * Tokens cached.
   *
   * @example
   * ```ts
   * if (cache.size > 100) cache.clear();
   * ```
   */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * A servable token for `key` (`identity` + NUL + `audienceKey(audience)`): the cached one
   * (starting a background refresh when due), or the result of the single in-flight `fetch` for
   * the key. `identity` prefixes the canonical key the token is stored under.
   */
  get(key: string, identity: string, fetch: () => Promise<WitsAccessToken>, options: CacheGetOptions = {}): Promise<WitsAccessToken> {
    const canonical = this.#links.get(key) ?? key;
    const entry = options.forceRefresh ? undefined : this.#entries.get(canonical);
    if (entry !== undefined) {
      const now = this.#now();
      if (now < entry.token.expiresOnTimestamp - MIN_REMAINING_MS) {
        if (now >= entry.token.refreshAfterTimestamp && now >= entry.nextAttempt && !this.#inflight.has(key)) {
          this.#backgroundRefresh(key, identity, entry, fetch, now);
        }
        return Promise.resolve(entry.token);
      }
      this.#entries.delete(canonical);
    }
    return this.#inflight.get(key) ?? this.#flight(key, identity, fetch);
  }

  #backgroundRefresh(key: string, identity: string, entry: Entry, fetch: () => Promise<WitsAccessToken>, now: number): void {
    entry.nextAttempt = now + Math.min(MAX_REFRESH_ATTEMPT_INTERVAL_MS, REFRESH_ATTEMPT_INTERVAL_MS * 2 ** entry.failures);
    this.#flight(key, identity, fetch).catch((err: unknown) => {
      entry.failures += 1;
      this.#onRefreshError(err);
    });
  }

  #flight(key: string, identity: string, fetch: () => Promise<WitsAccessToken>): Promise<WitsAccessToken> {
    // fetch starts in a microtask, after the flight is registered, so even a fetch that throws at
    // once cannot leave a settled promise behind in #inflight.
    const flight: Promise<WitsAccessToken> = Promise.resolve()
      .then(fetch)
      .then((token) => {
        this.#store(key, `${identity}\u0000${audienceKey(token.resource)}`, token);
        return token;
      })
      .finally(() => {
        if (this.#inflight.get(key) === flight) this.#inflight.delete(key);
      });
    this.#inflight.set(key, flight);
    return flight;
  }

  #store(key: string, canonical: string, token: WitsAccessToken): void {
    const now = this.#now();
    this.#links.delete(key);
    this.#links.set(key, canonical);
    this.#entries.delete(canonical);
    this.#entries.set(canonical, {
      token,
      // A token already due for refresh (the server handed out one in its own refresh window, or a
      // short-lived one) is refreshed again only after a pause.
      nextAttempt: token.refreshAfterTimestamp > now ? token.refreshAfterTimestamp : now + REFRESH_ATTEMPT_INTERVAL_MS,
      failures: 0,
    });
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
    while (this.#links.size > this.#maxEntries * 4) {
      const oldest = this.#links.keys().next().value as string;
      this.#links.delete(oldest);
    }
  }

  /**
   * Drops every cached token (in-flight requests complete and are cached).
   *
   * @example
   * ```ts
   * cache.clear();
   * ```
   */
  clear(): void {
    this.#entries.clear();
    this.#links.clear();
  }
}
