/**
 * Upstream faults in simulated time (issue #5): the real TokenCache and ResilientSource, with their
 * production defaults (4 attempts, 10 s per attempt, 20 s per call, breaker after 5 failed calls,
 * 15 s cooldown doubling up to 5 min), in front of a scripted upstream, driven through 28 healthy
 * minutes, a 10-minute outage (429 storm with Retry-After, 500s, hangs, responses slower than the
 * attempt timeout, a mix with network errors and a Retry-After beyond the budget), then recovery
 * (slow at first). node:test's mock timers drive setTimeout and Date, so the timeouts inside the
 * resilience layer run on the same simulated clock as everything else; 45 simulated minutes take
 * a few seconds.
 *
 * Clients ask for tokens continuously, the way TokenService does (peek, else get). Checked:
 * - every request settles, none later than the call budget (20 s) after it was made;
 * - every token served is valid for at least the cache's minimum (60 s) when served;
 * - tokens cached before the outage are served throughout it while valid (long-lived keys: every
 *   request served); requests that cannot be served get ERR_SOURCE_UNAVAILABLE with Retry-After;
 * - the breaker goes closed -> open -> half-open (probe) -> open ... -> half-open -> closed, and
 *   the upstream is called only by probes while it is open (bounded calls, no hammering);
 * - Retry-After is waited out within a call;
 * - after recovery every key is served again.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { refreshErrorReporter } from '../../src/app.js';
import { TokenCache } from '../../src/cache/tokenCache.js';
import { WitsError } from '../../src/errors.js';
import { DEFAULT_RESILIENCE, ResilientSource, type BreakerState, type ResilienceClock } from '../../src/sources/resilientSource.js';
import type { SourceToken, SourceTokenRequest, TokenSource } from '../../src/sources/tokenSource.js';
import { UpstreamError } from '../../src/sources/upstreamError.js';
import { memoryLogger } from '../support/logger.js';
import { count, recordFigures, scaled, SCALE_NAME } from './support.js';

const MINUTE = 60_000;
const T0 = Date.UTC(2030, 0, 1);
const STEP_MS = 100;
const OUTAGE_START = 28 * MINUTE;
const OUTAGE_MS = 10 * MINUTE;
const OUTAGE_END = OUTAGE_START + OUTAGE_MS;
const END = OUTAGE_END + 12 * MINUTE;
const CLIENTS = scaled(20, 100);
const MIN_REMAINING_MS = 60_000;
const SLACK_MS = 1_000; // the simulation advances in 100 ms steps: each await may add one step

/** The outage, phase by phase (offsets from its start). */
type Phase = 'healthy' | '429-storm' | '500s' | 'hang' | 'slow-beyond-timeout' | 'mixed' | 'recovering-slow';
function phaseAt(t: number): Phase {
  const o = t - OUTAGE_START;
  if (o < 0) return 'healthy';
  if (o < 2 * MINUTE) return '429-storm';
  if (o < 4 * MINUTE) return '500s';
  if (o < 6 * MINUTE) return 'hang';
  if (o < 8 * MINUTE) return 'slow-beyond-timeout';
  if (o < OUTAGE_MS) return 'mixed';
  if (o < OUTAGE_MS + 2 * MINUTE) return 'recovering-slow';
  return 'healthy';
}

/** Deterministic randomness (mulberry32), so a failure can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

interface Key {
  readonly name: string;
  readonly resource: string;
  readonly lifetimeMs: number;
  /** Requested only from this time on (cold keys: first asked for during the outage). */
  readonly from: number;
}

const KEYS: readonly Key[] = [
  ...['storage', 'vault', 'management', 'cognitive'].flatMap((r) =>
    ['system', 'user'].map((id) => ({ name: `${r}/${id}`, resource: `https://${r}.example`, lifetimeMs: 60 * MINUTE, from: 0 })),
  ),
  // Short-lived tokens: the one cached when the outage starts expires in the middle of it.
  { name: 'short-a', resource: 'https://short-a.example', lifetimeMs: 12 * MINUTE, from: 0 },
  { name: 'short-b', resource: 'https://short-b.example', lifetimeMs: 12 * MINUTE, from: 0 },
  // Never cached before the outage.
  { name: 'cold-a', resource: 'https://cold-a.example', lifetimeMs: 60 * MINUTE, from: OUTAGE_START },
  { name: 'cold-b', resource: 'https://cold-b.example', lifetimeMs: 60 * MINUTE, from: OUTAGE_START + 3 * MINUTE },
];

interface UpstreamCall {
  readonly at: number;
  readonly flight: number;
  readonly key: string;
  readonly phase: Phase;
  readonly breaker: BreakerState;
  outcome: string;
  retryAfterSeconds?: number;
}

interface Outcome {
  readonly key: Key;
  readonly at: number;
  readonly settledAt: number;
  readonly served: SourceToken | undefined;
  readonly error: unknown;
}

describe('a 10-minute upstream outage in simulated time (TokenCache + ResilientSource, production defaults)', () => {
  test('cached tokens are served, the rest fails within the bound, the breaker opens and closes, the upstream is not hammered', { timeout: 600_000 }, async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: T0 });
    const random = prng(0x5eed);
    const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
    const clock: ResilienceClock = { now: () => Date.now(), sleep, random };
    const calls: UpstreamCall[] = [];
    let issued = 0;
    let lateResponses = 0;
    const faults = new Map<string, number>();

    const upstream: TokenSource = {
      kind: 'scripted-upstream',
      getToken(request: SourceTokenRequest): Promise<SourceToken> {
        const req = request as SourceTokenRequest & { key: Key; flight: number };
        const now = Date.now();
        let phase = phaseAt(now - T0);
        const call: UpstreamCall = { at: now, flight: req.flight, key: req.key.name, phase, breaker: source.health().state, outcome: '' };
        calls.push(call);
        const token = (): SourceToken => {
          const at = Date.now();
          issued++;
          return { token: `token-${issued}`, tokenId: `jti-${issued}`, issuedAt: at, notBefore: at, expiresAt: at + req.key.lifetimeMs };
        };
        const fail = (afterMs: number, err: UpstreamError): Promise<SourceToken> => sleep(afterMs).then(() => Promise.reject(err));
        let mixed: string | undefined;
        if (phase === 'mixed') mixed = ['429-long', '500', 'hang', 'network', 'slow'][Math.floor(random() * 5)];
        const what = mixed ?? phase;
        call.outcome = what;
        if (phase !== 'healthy' && phase !== 'recovering-slow') count(faults, what);
        switch (what) {
          case 'healthy':
            return sleep(50 + random() * 250).then(token);
          case 'recovering-slow':
            return sleep(3_000 + random() * 2_000).then(token);
          case '429-storm':
            call.retryAfterSeconds = 5;
            return fail(20, new UpstreamError('HTTP 429: throttled', { retryable: true, status: 429, retryAfterSeconds: 5 }));
          case '429-long':
            call.retryAfterSeconds = 60;
            return fail(20, new UpstreamError('HTTP 429: throttled', { retryable: true, status: 429, retryAfterSeconds: 60 }));
          case '500s':
          case '500':
            return fail(30 + random() * 100, new UpstreamError('HTTP 500: server error', { retryable: true, status: 500 }));
          case 'network':
            return fail(5, new UpstreamError('no answer (ECONNREFUSED)', { retryable: true }));
          case 'hang':
            return new Promise<SourceToken>(() => {});
          case 'slow-beyond-timeout':
          case 'slow':
            // Answers, but after 15 s: later than the 10 s attempt timeout.
            return sleep(15_000).then(() => {
              lateResponses++;
              return token();
            });
          default:
            phase = 'healthy';
            throw new Error(`unknown outcome ${what}`);
        }
      },
    };
    const source = new ResilientSource(upstream, {}, clock);
    let refreshErrors = 0;
    // The service's own reporter (src/app.ts), on a memory log: one warning per workspace per minute at most.
    const log = memoryLogger('debug');
    const report = refreshErrorReporter(log, () => Date.now());
    const cache = new TokenCache({
      now: () => Date.now(),
      minRemainingMs: MIN_REMAINING_MS,
      onRefreshError: (key, err) => {
        refreshErrors++;
        report(`simulated\u0000${key}`, err);
      },
    });
    let flights = 0;

    /** What TokenService does: a synchronous cache hit, else the single flight to the source. */
    function ask(key: Key): Promise<Outcome> {
      const at = Date.now();
      const fetch = () => source.getToken({ key, flight: ++flights } as unknown as SourceTokenRequest);
      const hit = cache.peek(key.name, fetch);
      const pending = hit !== undefined ? Promise.resolve(hit) : cache.get(key.name, fetch);
      return pending.then(
        (served) => ({ key, at, settledAt: Date.now(), served, error: undefined }),
        (error: unknown) => ({ key, at, settledAt: Date.now(), served: undefined, error }),
      );
    }

    // Drive the simulation.
    const outcomes: Outcome[] = [];
    const pending = new Set<Promise<void>>();
    const nextRequest = Array.from({ length: CLIENTS }, () => T0 + random() * 2_000);
    const breakerSeen: Array<{ at: number; state: BreakerState }> = [{ at: T0, state: 'closed' }];
    const noteBreaker = (state: BreakerState): void => {
      if (breakerSeen.at(-1)?.state !== state) breakerSeen.push({ at: Date.now(), state });
    };
    for (let now = T0; now < T0 + END; now += STEP_MS) {
      for (let c = 0; c < CLIENTS; c++) {
        if ((nextRequest[c] as number) > now) continue;
        nextRequest[c] = now + 1_000 + random() * 2_000;
        const eligible = KEYS.filter((k) => now - T0 >= k.from);
        const key = eligible[Math.floor(random() * eligible.length)] as Key;
        const p = ask(key).then((o) => {
          outcomes.push(o);
          pending.delete(p);
        });
        pending.add(p);
      }
      t.mock.timers.tick(STEP_MS);
      await new Promise((resolve) => setImmediate(resolve));
      // The half-open state lasts exactly one probe: the upstream records it at each call too.
      noteBreaker(source.health().state);
    }
    // Let what is still in flight finish (nothing may be left hanging).
    for (let i = 0; i < 600 && pending.size > 0; i++) {
      t.mock.timers.tick(STEP_MS);
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal(pending.size, 0, `${pending.size} requests never settled`);

    // ---- every request settled within the bound, and was either served a valid token or refused with 503 + Retry-After
    const budget = DEFAULT_RESILIENCE.totalBudgetMs;
    let maxLatency = 0;
    const refusals = new Map<string, number>();
    for (const o of outcomes) {
      const latency = o.settledAt - o.at;
      maxLatency = Math.max(maxLatency, latency);
      assert.ok(latency <= budget + SLACK_MS, `a request for ${o.key.name} at +${(o.at - T0) / 1000} s took ${latency} ms`);
      if (o.served !== undefined) {
        assert.ok(o.served.expiresAt - o.settledAt >= MIN_REMAINING_MS, `a token with ${o.served.expiresAt - o.settledAt} ms left was served`);
      } else {
        assert.ok(o.error instanceof WitsError, `not a WitsError: ${String(o.error)}`);
        assert.equal(o.error.code, 'ERR_SOURCE_UNAVAILABLE');
        assert.equal(o.error.status, 503);
        assert.ok((o.error.details.retryAfter ?? 0) >= 1, 'Retry-After on every 503');
        count(refusals, phaseAt(o.at - T0));
      }
    }

    // ---- before the outage everything is served; during it, every long-lived cached key is served
    const during = outcomes.filter((o) => o.at - T0 >= OUTAGE_START && o.at - T0 < OUTAGE_END);
    const before = outcomes.filter((o) => o.at - T0 < OUTAGE_START);
    assert.ok(before.every((o) => o.served !== undefined), 'all served before the outage');
    const longCached = during.filter((o) => o.key.from === 0 && o.key.lifetimeMs === 60 * MINUTE);
    const longServed = longCached.filter((o) => o.served !== undefined).length;
    assert.equal(longServed, longCached.length, `cached long-lived tokens served throughout the outage (${longServed}/${longCached.length})`);
    // Short-lived keys: served while their cached token was valid, then 503 until the upstream is back.
    const short = during.filter((o) => o.key.lifetimeMs < 60 * MINUTE);
    const shortServed = short.filter((o) => o.served !== undefined);
    const shortRefused = short.filter((o) => o.served === undefined);
    assert.ok(shortServed.length > 0 && shortRefused.length > 0, `short-lived keys: ${shortServed.length} served, ${shortRefused.length} refused during the outage`);
    const lastShortServed = Math.max(...shortServed.map((o) => o.at));
    const firstShortRefused = Math.min(...shortRefused.map((o) => o.at));
    assert.ok(lastShortServed < firstShortRefused + MINUTE, 'served first, refused once expired');
    // Cold keys: nothing to serve during the outage.
    const cold = during.filter((o) => o.key.from > 0);
    assert.ok(cold.length > 0 && cold.every((o) => o.served === undefined), 'cold keys are refused during the outage');

    // ---- the breaker: the states sampled after each step, merged with the state each upstream call saw
    // (a probe that fails at once is half-open for less than a step)
    const timeline: Array<{ at: number; state: BreakerState }> = [];
    for (const e of [...breakerSeen.map((b, i) => ({ ...b, order: 1, i })), ...calls.map((c, i) => ({ at: c.at, state: c.breaker, order: 0, i }))].sort(
      (a, b) => a.at - b.at || a.order - b.order || a.i - b.i,
    )) {
      if (timeline.at(-1)?.state !== e.state) timeline.push({ at: e.at, state: e.state });
    }
    breakerSeen.length = 0;
    breakerSeen.push(...timeline);
    const probeAttempts = calls.filter((c) => c.breaker === 'half-open');
    const probes = [...new Set(probeAttempts.map((c) => c.flight))];
    const transitions = breakerSeen.map((b) => b.state);
    const opened = breakerSeen.filter((b) => b.state === 'open');
    assert.ok(opened.length >= 2, `the breaker opened (and reopened after failed probes): ${transitions.join(' -> ')}`);
    assert.ok(opened[0] !== undefined && opened[0].at - T0 >= OUTAGE_START && opened[0].at - T0 < OUTAGE_START + 2 * MINUTE, `opened within two minutes of the outage (at +${((opened[0]?.at ?? T0) - T0 - OUTAGE_START) / 1000} s)`);
    assert.ok(probes.length >= 3, `probes went through while half-open (${probes.length})`);
    const closedAgain = breakerSeen.find((b) => b.state === 'closed' && b.at - T0 >= OUTAGE_END);
    assert.ok(closedAgain !== undefined, `the breaker closed after the recovery: ${transitions.join(' -> ')}`);
    const closedAfterMs = closedAgain.at - T0 - OUTAGE_END;
    assert.ok(closedAfterMs <= DEFAULT_RESILIENCE.maxCooldownMs + budget + SLACK_MS, `closed ${closedAfterMs} ms after the upstream recovered`);
    assert.equal(source.health().state, 'closed');

    // ---- no hammering: while open, only in-flight calls finish their attempts; new calls are probes
    const outageCalls = calls.filter((c) => c.at - T0 >= OUTAGE_START && c.at - T0 < OUTAGE_END);
    const whileOpen = calls.filter((c) => c.breaker === 'open');
    const flightsWhileOpen = new Set(whileOpen.map((c) => c.flight));
    const flightStartedOpen = [...flightsWhileOpen].filter((f) => calls.find((c) => c.flight === f)?.breaker === 'open');
    assert.deepEqual(flightStartedOpen, [], 'no call starts while the breaker is open');
    const outageRequests = during.length;
    // Each key's first failing call, then only probes: a bound independent of how many requests came.
    assert.ok(outageCalls.length <= DEFAULT_RESILIENCE.maxAttempts * (KEYS.length + probes.length), `upstream calls during the outage: ${outageCalls.length}`);
    const attemptsPerFlight = new Map<number, number>();
    for (const c of calls) count(attemptsPerFlight, c.flight);
    assert.ok(Math.max(...attemptsPerFlight.values()) <= DEFAULT_RESILIENCE.maxAttempts, 'at most 4 attempts per call');

    // ---- Retry-After is waited out within a call
    const byFlight = new Map<number, UpstreamCall[]>();
    for (const c of calls) byFlight.set(c.flight, [...(byFlight.get(c.flight) ?? []), c]);
    let retryAfterWaits = 0;
    for (const list of byFlight.values()) {
      for (let i = 1; i < list.length; i++) {
        const prev = list[i - 1] as UpstreamCall;
        if (prev.retryAfterSeconds === undefined) continue;
        retryAfterWaits++;
        assert.ok((list[i] as UpstreamCall).at - prev.at >= prev.retryAfterSeconds * 1000, 'Retry-After waited out');
      }
    }
    assert.ok(retryAfterWaits > 0, 'the 429 storm was retried after Retry-After');

    // ---- the log stays readable: failed background refreshes are reported once a minute, not per request
    const warnings = log.entries().filter((e) => e.msg === 'background token refresh failed');
    assert.ok(refreshErrors > 100, `background refreshes failed during the outage (${refreshErrors})`);
    assert.ok(warnings.length <= END / MINUTE + 1, `${warnings.length} warnings for ${refreshErrors} failed background refreshes`);
    assert.equal(warnings.reduce((n, w) => n + (w.failures as number), 0) <= refreshErrors, true);

    // ---- after recovery (and the breaker closed) every key is served again
    const settled = outcomes.filter((o) => o.at > closedAgain.at + budget);
    assert.ok(settled.length > 0 && settled.every((o) => o.served !== undefined), 'every key is served after the recovery');

    const figures = {
      simulatedMinutes: END / MINUTE,
      outageMinutes: OUTAGE_MS / MINUTE,
      clients: CLIENTS,
      requests: outcomes.length,
      requestsDuringOutage: outageRequests,
      servedDuringOutage: during.filter((o) => o.served !== undefined).length,
      refusedDuringOutage: during.filter((o) => o.served === undefined).length,
      longLivedCachedServedDuringOutage: `${longServed}/${longCached.length}`,
      maxLatencyMs: maxLatency,
      boundMs: budget,
      upstreamCalls: calls.length,
      upstreamCallsDuringOutage: outageCalls.length,
      faultsInjected: Object.fromEntries(faults),
      faultsInjectedTotal: [...faults.values()].reduce((a, b) => a + b, 0),
      lateResponsesIgnored: lateResponses,
      callsInFlightWhenTheBreakerOpened: whileOpen.length,
      breakerOpenings: opened.length,
      probes: probes.length,
      probeAttempts: probeAttempts.length,
      breakerTransitions: breakerSeen.map((b) => `${b.state}@${((b.at - T0) / 1000).toFixed(1)}s`),
      breakerClosedAfterRecoveryMs: closedAfterMs,
      backgroundRefreshFailures: refreshErrors,
      backgroundRefreshWarningsLogged: warnings.length,
      refusalsByPhase: Object.fromEntries(refusals),
    };
    t.diagnostic(
      `${figures.requests} requests over ${figures.simulatedMinutes} simulated minutes (${figures.requestsDuringOutage} during the outage: ${figures.servedDuringOutage} served from cache, ${figures.refusedDuringOutage} refused with 503); ` +
        `max latency ${maxLatency} ms (bound ${budget} ms); ${figures.faultsInjectedTotal} faults injected ${JSON.stringify(figures.faultsInjected)}; ` +
        `${outageCalls.length} upstream calls during the outage; breaker: ${opened.length} openings, ${probes.length} probes, closed ${closedAfterMs / 1000} s after recovery`,
    );
    t.diagnostic(`breaker: ${figures.breakerTransitions.join(' -> ')}`);
    t.diagnostic(`background refresh failures: ${refreshErrors}, logged as ${warnings.length} warnings`);
    t.mock.timers.reset(); // real time again, for the figures' time stamp
    recordFigures('upstream-simulated', { scale: SCALE_NAME, ...figures });
  });

  test('a flapping upstream (faults on 45% of attempts, every kind) for 30 minutes: retries absorb them, within the bound', { timeout: 600_000 }, async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: T0 });
    const random = prng(0xf1a9);
    const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
    const source = new ResilientSource(
      {
        kind: 'flapping-upstream',
        getToken(): Promise<SourceToken> {
          attempts++;
          const r = random();
          const token = (): SourceToken => {
            const at = Date.now();
            return { token: `t${attempts}`, tokenId: `j${attempts}`, issuedAt: at, notBefore: at, expiresAt: at + 6 * MINUTE };
          };
          const fault = (name: string, afterMs: number, err: UpstreamError) => {
            count(faults, name);
            return sleep(afterMs).then(() => Promise.reject(err));
          };
          if (r < 0.1) return fault('429', 20, new UpstreamError('HTTP 429', { retryable: true, status: 429, retryAfterSeconds: 1 + Math.floor(random() * 3) }));
          if (r < 0.2) return fault('500', 50, new UpstreamError('HTTP 500', { retryable: true, status: 500 }));
          if (r < 0.25) return fault('network', 5, new UpstreamError('no answer (ECONNRESET)', { retryable: true }));
          if (r < 0.3) {
            count(faults, 'hang');
            return new Promise<SourceToken>(() => {});
          }
          if (r < 0.35) {
            count(faults, 'slow-beyond-timeout');
            return sleep(12_000).then(token);
          }
          if (r < 0.45) {
            count(faults, 'slow-within-timeout');
            return sleep(3_000 + random() * 5_000).then(token);
          }
          return sleep(50 + random() * 200).then(token);
        },
      },
      {},
      { now: () => Date.now(), sleep, random },
    );
    let attempts = 0;
    const faults = new Map<string, number>();
    const cache = new TokenCache({ now: () => Date.now(), minRemainingMs: MIN_REMAINING_MS });
    const keys = Array.from({ length: 12 }, (_, i) => `key-${i}`);
    let served = 0;
    let refused = 0;
    let maxLatency = 0;
    let open = 0;
    const pending = new Set<Promise<void>>();
    const nextRequest = Array.from({ length: CLIENTS }, () => T0 + random() * 2_000);
    const duration = 30 * MINUTE;
    let wasOpen = false;
    for (let now = T0; now < T0 + duration; now += STEP_MS) {
      for (let c = 0; c < CLIENTS; c++) {
        if ((nextRequest[c] as number) > now) continue;
        nextRequest[c] = now + 1_000 + random() * 2_000;
        const key = keys[Math.floor(random() * keys.length)] as string;
        const at = Date.now();
        const fetch = () => source.getToken({} as SourceTokenRequest);
        const hit = cache.peek(key, fetch);
        const p = (hit !== undefined ? Promise.resolve(hit) : cache.get(key, fetch)).then(
          (token) => {
            served++;
            assert.ok(token.expiresAt - Date.now() >= MIN_REMAINING_MS);
          },
          (err: unknown) => {
            refused++;
            assert.ok(err instanceof WitsError && err.code === 'ERR_SOURCE_UNAVAILABLE' && (err.details.retryAfter ?? 0) >= 1, String(err));
          },
        ).finally(() => {
          maxLatency = Math.max(maxLatency, Date.now() - at);
          pending.delete(p);
        });
        pending.add(p);
      }
      t.mock.timers.tick(STEP_MS);
      await new Promise((resolve) => setImmediate(resolve));
      const isOpen = source.health().state === 'open';
      if (isOpen && !wasOpen) open++;
      wasOpen = isOpen;
    }
    for (let i = 0; i < 600 && pending.size > 0; i++) {
      t.mock.timers.tick(STEP_MS);
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal(pending.size, 0, 'every request settled');
    assert.ok(maxLatency <= DEFAULT_RESILIENCE.totalBudgetMs + SLACK_MS, `max latency ${maxLatency} ms`);
    const total = served + refused;
    const faultTotal = [...faults.values()].reduce((a, b) => a + b, 0);
    assert.ok(faultTotal >= 50, `faults injected: ${faultTotal}`);
    assert.ok(served / total >= 0.97, `served ${served} of ${total}`);
    t.diagnostic(`${total} requests over 30 simulated minutes: ${served} served, ${refused} refused (503); ${attempts} upstream attempts, ${faultTotal} faults ${JSON.stringify(Object.fromEntries(faults))}; max latency ${maxLatency} ms; breaker opened ${open} times`);
    t.mock.timers.reset();
    recordFigures('upstream-flapping', {
      scale: SCALE_NAME,
      simulatedMinutes: 30,
      requests: total,
      served,
      refused,
      upstreamAttempts: attempts,
      faultsInjected: Object.fromEntries(faults),
      faultsInjectedTotal: faultTotal,
      maxLatencyMs: maxLatency,
      boundMs: DEFAULT_RESILIENCE.totalBudgetMs,
      breakerOpenings: open,
    });
  });

  test('regression: a half-open probe that ends in a wits error (not an upstream answer) does not wedge the breaker', async () => {
    let now = 1_000_000;
    const clock: ResilienceClock = { now: () => now, sleep: async (ms) => void (now += ms), random: () => 0.5 };
    const outcomes: Array<'fail' | 'wits' | 'ok'> = ['fail', 'wits', 'ok'];
    let calls = 0;
    const source = new ResilientSource(
      {
        kind: 'test',
        getToken: async () => {
          calls++;
          const next = outcomes[0] as 'fail' | 'wits' | 'ok';
          if (next === 'fail') throw new UpstreamError('HTTP 500', { retryable: true, status: 500 });
          if (next === 'wits') throw new WitsError('ERR_UNKNOWN_IDENTITY', 'the source serves only the system identity');
          return { token: 't', tokenId: 'j', issuedAt: now, notBefore: now, expiresAt: now + 3_600_000 };
        },
      },
      { maxAttempts: 1, breakerThreshold: 1, breakerCooldownMs: 1_000 },
      clock,
    );
    await assert.rejects(source.getToken({} as SourceTokenRequest), (e: unknown) => e instanceof WitsError && e.code === 'ERR_SOURCE_UNAVAILABLE');
    assert.equal(source.health().state, 'open');
    now += 1_000;
    outcomes.shift();
    // The probe fails with wits' own error (e.g. a user-assigned identity in an entra-secret workspace).
    await assert.rejects(source.getToken({} as SourceTokenRequest), (e: unknown) => e instanceof WitsError && e.code === 'ERR_UNKNOWN_IDENTITY');
    outcomes.shift();
    // The next call must reach the upstream (a new probe), not fail fast for ever.
    const token = await source.getToken({} as SourceTokenRequest);
    assert.equal(token.token, 't');
    assert.equal(calls, 3);
    assert.equal(source.health().state, 'closed');
  });
});
