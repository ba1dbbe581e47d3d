/**
 * Token cache per (workspace, identity, resource).
 *
 * - Single flight: one fetch at a time per key; concurrent callers share its promise.
 * - Refresh ahead: past a token's refresh time it is still served while one background fetch
 *   replaces it, so callers never wait on a refresh.
 * - Never serves a token with less than `minRemainingMs` of validity left: such a caller waits
 *   for a fresh one instead (clients would treat it as expired anyway).
 */
import type { SourceToken } from '../sources/tokenSource.js';

export interface TokenCacheOptions {
  /** A token with less validity left than this is not served (default 60 s). */
  readonly minRemainingMs?: number;
  /** Entries kept at most; the oldest inserted goes first (default 100,000). */
  readonly maxEntries?: number;
  readonly now?: () => number;
  /** Called when a background refresh fails (the old token keeps being served). */
  readonly onRefreshError?: (key: string, err: unknown) => void;
}

export interface CachedToken extends SourceToken {
  readonly refreshAt: number;
}

const FIVE_MINUTES = 5 * 60_000;

/**
 * When to refresh: the source's hint, else half the lifetime; and at least five minutes before
 * expiry (docs/protocols.md section 4: clients refresh about 5 minutes before expiry).
 */
export function refreshTimeOf(token: SourceToken): number {
  const half = token.issuedAt + (token.expiresAt - token.issuedAt) / 2;
  const hinted = token.refreshAt ?? half;
  return Math.max(token.issuedAt, Math.min(hinted, token.expiresAt - FIVE_MINUTES));
}

export class TokenCache {
  readonly #entries = new Map<string, CachedToken>();
  readonly #inflight = new Map<string, Promise<CachedToken>>();
  readonly #minRemainingMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  readonly #onRefreshError: (key: string, err: unknown) => void;

  constructor(options: TokenCacheOptions = {}) {
    this.#minRemainingMs = options.minRemainingMs ?? 60_000;
    this.#maxEntries = options.maxEntries ?? 100_000;
    this.#now = options.now ?? Date.now;
    this.#onRefreshError = options.onRefreshError ?? (() => {});
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Entries per group (e.g. per workspace), for `wits status`. O(entries): not for the hot path. */
  countBy(group: (key: string) => string): Map<string, number> {
    const counts = new Map<string, number>();
    for (const key of this.#entries.keys()) {
      const g = group(key);
      counts.set(g, (counts.get(g) ?? 0) + 1);
    }
    return counts;
  }

  /**
   * A servable cached token, synchronously (the hot path allocates no promise on a hit), starting a
   * background refresh when it is due. Undefined when the caller must `fetch`.
   */
  peek(key: string, fetch: () => Promise<SourceToken>): CachedToken | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    const now = this.#now();
    // Expiry first: refreshAt may lie inside the minRemainingMs window (a minimum above the
    // five-minute refresh margin), and such a token must not be served even before its refresh time.
    if (now >= entry.expiresAt - this.#minRemainingMs) {
      this.#entries.delete(key);
      return undefined;
    }
    if (now < entry.refreshAt) return entry;
    if (!this.#inflight.has(key)) {
      this.#flight(key, fetch).catch((err: unknown) => this.#onRefreshError(key, err));
    }
    return entry;
  }

  /** A servable token: the cached one, or the result of the single in-flight fetch for the key. */
  get(key: string, fetch: () => Promise<SourceToken>): Promise<CachedToken> {
    const hit = this.peek(key, fetch);
    if (hit !== undefined) return Promise.resolve(hit);
    return this.#inflight.get(key) ?? this.#flight(key, fetch);
  }

  #flight(key: string, fetch: () => Promise<SourceToken>): Promise<CachedToken> {
    // fetch starts in a microtask, after the flight is registered, so even a fetch that throws at
    // once cannot leave a settled promise behind in #inflight.
    const flight: Promise<CachedToken> = Promise.resolve()
      .then(fetch)
      .then((token) => {
        const cached: CachedToken = { ...token, refreshAt: refreshTimeOf(token) };
        this.#store(key, cached);
        return cached;
      })
      .finally(() => {
        if (this.#inflight.get(key) === flight) this.#inflight.delete(key);
      });
    this.#inflight.set(key, flight);
    return flight;
  }

  #store(key: string, token: CachedToken): void {
    this.#entries.delete(key);
    this.#entries.set(key, token);
    if (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }

  clear(): void {
    this.#entries.clear();
  }
}
