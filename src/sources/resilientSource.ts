/**
 * Resilience for upstream token sources: bounded retries with exponential back-off and full
 * jitter, Retry-After honoured, a hard time bound per call, and a circuit breaker per source so a
 * dead upstream is not hammered. Combined with the token cache (single flight, refresh ahead,
 * still-valid tokens served while a refresh fails), callers get either a token or a clear 503 with
 * Retry-After within `totalBudgetMs`, never a hang.
 */
import { WitsError } from '../errors.js';
import type { SourceToken, SourceTokenRequest, TokenSource } from './tokenSource.js';
import { UpstreamError } from './upstreamError.js';

export interface ResilienceOptions {
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** A single attempt is abandoned after this long. */
  readonly attemptTimeoutMs: number;
  /** A call (all attempts and waits) ends within this long. */
  readonly totalBudgetMs: number;
  /** Consecutive failed calls that open the breaker. */
  readonly breakerThreshold: number;
  /** First open period; doubles while probes keep failing, up to maxCooldownMs. */
  readonly breakerCooldownMs: number;
  readonly maxCooldownMs: number;
}

export const DEFAULT_RESILIENCE: ResilienceOptions = Object.freeze({
  maxAttempts: 4,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
  attemptTimeoutMs: 10_000,
  totalBudgetMs: 20_000,
  breakerThreshold: 5,
  breakerCooldownMs: 15_000,
  maxCooldownMs: 300_000,
});

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface SourceHealth {
  readonly kind: string;
  readonly state: BreakerState;
  readonly healthy: boolean;
  readonly consecutiveFailures: number;
  readonly upstreamCalls: number;
  readonly failedCalls: number;
  readonly lastSuccessAt: string | null;
  readonly lastErrorAt: string | null;
  readonly lastError: string | null;
  /** When an open breaker lets the next probe through. */
  readonly openUntil: string | null;
}

export interface ResilienceClock {
  now(): number;
  sleep(ms: number): Promise<void>;
  random(): number;
}

const realClock: ResilienceClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
};

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new UpstreamError(`no answer within ${ms} ms`, { retryable: true })), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export class ResilientSource implements TokenSource {
  readonly kind: string;
  readonly #inner: TokenSource;
  readonly #options: ResilienceOptions;
  readonly #clock: ResilienceClock;
  #state: BreakerState = 'closed';
  #consecutiveFailures = 0;
  #cooldownMs: number;
  #openUntil = 0;
  #upstreamCalls = 0;
  #failedCalls = 0;
  #lastSuccessAt: number | null = null;
  #lastErrorAt: number | null = null;
  #lastError: string | null = null;

  constructor(inner: TokenSource, options: Partial<ResilienceOptions> = {}, clock: ResilienceClock = realClock) {
    this.kind = inner.kind;
    this.#inner = inner;
    this.#options = { ...DEFAULT_RESILIENCE, ...options };
    this.#clock = clock;
    this.#cooldownMs = this.#options.breakerCooldownMs;
  }

  health(): SourceHealth {
    const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
    return {
      kind: this.kind,
      state: this.#state,
      // Fix: a source whose last call was refused (ERR_UPSTREAM_REJECTED: the breaker stays closed
      // and the failure count is reset) showed healthy: true in `wits status`; the last outcome counts.
      healthy:
        this.#state === 'closed' &&
        this.#consecutiveFailures === 0 &&
        (this.#lastErrorAt === null || (this.#lastSuccessAt !== null && this.#lastSuccessAt >= this.#lastErrorAt)),
      consecutiveFailures: this.#consecutiveFailures,
      upstreamCalls: this.#upstreamCalls,
      failedCalls: this.#failedCalls,
      lastSuccessAt: iso(this.#lastSuccessAt),
      lastErrorAt: iso(this.#lastErrorAt),
      lastError: this.#lastError,
      openUntil: this.#state === 'open' ? iso(this.#openUntil) : null,
    };
  }

  async getToken(request: SourceTokenRequest): Promise<SourceToken> {
    this.#admit();
    const started = this.#clock.now();
    const deadline = started + this.#options.totalBudgetMs;
    let last: UpstreamError | undefined;
    for (let attempt = 1; attempt <= this.#options.maxAttempts; attempt++) {
      const remaining = deadline - this.#clock.now();
      if (remaining <= 0) break;
      this.#upstreamCalls += 1;
      try {
        const token = await withTimeout(this.#inner.getToken(request), Math.min(this.#options.attemptTimeoutMs, remaining));
        this.#succeeded();
        return token;
      } catch (err) {
        // wits' own errors (a missing certificate file, an identity the source cannot serve) are final.
        if (err instanceof WitsError) {
          this.#record(undefined, err.message);
          // Fix (found by test/reliability/upstreamSimulated.test.ts): such an error says nothing
          // about the upstream, but when it ended the one half-open probe the breaker stayed
          // half-open for good, and #admit then failed every later call fast: a permanent outage
          // of the source until restart. Give the probe slot back (open, cooldown already over).
          if (this.#state === 'half-open') this.#state = 'open';
          throw err;
        }
        last = err instanceof UpstreamError ? err : new UpstreamError((err as Error).message, { retryable: false, cause: err });
        if (!last.retryable) {
          // The upstream answered and refused: a configuration problem, not an outage, so the
          // breaker closes (the upstream is up) and the caller gets a clear 403 at once.
          this.#record(last);
          this.#state = 'closed';
          this.#consecutiveFailures = 0;
          throw new WitsError('ERR_UPSTREAM_REJECTED', `The ${this.kind} token source refused: ${last.message}`, {}, { cause: last });
        }
        if (attempt === this.#options.maxAttempts) break;
        const backoff = Math.min(this.#options.maxDelayMs, this.#options.baseDelayMs * 2 ** (attempt - 1));
        const wait = last.retryAfterSeconds !== undefined ? last.retryAfterSeconds * 1000 : this.#clock.random() * backoff;
        if (this.#clock.now() + wait >= deadline) break;
        await this.#clock.sleep(wait);
      }
    }
    this.#failed(last);
    const retryAfter = Math.max(1, Math.ceil(Math.max(last?.retryAfterSeconds ?? 0, this.#state === 'open' ? (this.#openUntil - this.#clock.now()) / 1000 : 1)));
    throw new WitsError(
      'ERR_SOURCE_UNAVAILABLE',
      `The ${this.kind} token source is unavailable (${last?.message ?? 'no attempt fitted in the time budget'}); retry later.`,
      { retryAfter },
      { cause: last },
    );
  }

  /** Fails fast while the breaker is open; lets exactly one probe through when its time is up. */
  #admit(): void {
    if (this.#state === 'closed') return;
    const now = this.#clock.now();
    if (this.#state === 'open' && now >= this.#openUntil) {
      this.#state = 'half-open';
      return;
    }
    const retryAfter = Math.max(1, Math.ceil((this.#openUntil - now) / 1000));
    throw new WitsError('ERR_SOURCE_UNAVAILABLE', `The ${this.kind} token source is failing (circuit open: ${this.#lastError ?? 'upstream errors'}); retry later.`, { retryAfter });
  }

  #succeeded(): void {
    this.#state = 'closed';
    this.#consecutiveFailures = 0;
    this.#cooldownMs = this.#options.breakerCooldownMs;
    this.#lastSuccessAt = this.#clock.now();
  }

  #record(err: UpstreamError | undefined, message?: string): void {
    this.#failedCalls += 1;
    this.#lastErrorAt = this.#clock.now();
    this.#lastError = message ?? err?.message ?? 'time budget exhausted';
  }

  #failed(err: UpstreamError | undefined): void {
    this.#record(err);
    this.#consecutiveFailures += 1;
    if (this.#state === 'half-open') {
      // The probe failed: stay away longer.
      this.#cooldownMs = Math.min(this.#options.maxCooldownMs, this.#cooldownMs * 2);
      this.#open();
    } else if (this.#consecutiveFailures >= this.#options.breakerThreshold) {
      this.#open();
    }
  }

  #open(): void {
    this.#state = 'open';
    this.#openUntil = this.#clock.now() + this.#cooldownMs;
  }

  async close(): Promise<void> {
    await this.#inner.close?.();
  }
}
