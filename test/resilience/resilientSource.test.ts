/** The resilience layer with a fake clock: retries, Retry-After, time bound, circuit breaker. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WitsError } from '../../src/errors.js';
import { ResilientSource, type ResilienceClock } from '../../src/sources/resilientSource.js';
import type { SourceToken, SourceTokenRequest, TokenSource } from '../../src/sources/tokenSource.js';
import { UpstreamError } from '../../src/sources/upstreamError.js';

class FakeClock implements ResilienceClock {
  t = 1_000_000;
  sleeps: number[] = [];
  now = () => this.t;
  random = () => 0.5;
  sleep = async (ms: number) => {
    this.sleeps.push(ms);
    this.t += ms;
  };
}

const request = {} as SourceTokenRequest;
const token: SourceToken = { token: 'upstream-token', tokenId: 'u1', issuedAt: 0, notBefore: 0, expiresAt: 3_600_000 };

/** A source that plays a script of outcomes, one per call. */
function scripted(outcomes: Array<'ok' | UpstreamError | Error>): TokenSource & { calls: number } {
  const source = {
    kind: 'test-upstream',
    calls: 0,
    async getToken(): Promise<SourceToken> {
      const outcome = outcomes[Math.min(source.calls, outcomes.length - 1)];
      source.calls += 1;
      if (outcome === 'ok') return token;
      throw outcome;
    },
  };
  return source;
}

const throttled = (seconds: number) => new UpstreamError('HTTP 429', { retryable: true, status: 429, retryAfterSeconds: seconds });
const serverError = () => new UpstreamError('HTTP 500', { retryable: true, status: 500 });

test('a 429 with Retry-After is waited out exactly, then the call succeeds', async () => {
  const clock = new FakeClock();
  const inner = scripted([throttled(1), 'ok']);
  const source = new ResilientSource(inner, {}, clock);
  assert.deepEqual(await source.getToken(request), token);
  assert.equal(inner.calls, 2);
  assert.deepEqual(clock.sleeps, [1000]);
  assert.equal(source.health().state, 'closed');
});

test('5xx answers are retried with exponential back-off and jitter, bounded in attempts', async () => {
  const clock = new FakeClock();
  const inner = scripted([serverError()]);
  const source = new ResilientSource(inner, { maxAttempts: 4, baseDelayMs: 200, maxDelayMs: 5000 }, clock);
  await assert.rejects(source.getToken(request), (err: unknown) => {
    assert.ok(err instanceof WitsError);
    assert.equal(err.code, 'ERR_SOURCE_UNAVAILABLE');
    assert.equal(err.status, 503);
    assert.ok((err.details.retryAfter ?? 0) >= 1);
    return true;
  });
  assert.equal(inner.calls, 4);
  // Full jitter with random() = 0.5: half of 200, 400, 800.
  assert.deepEqual(clock.sleeps, [100, 200, 400]);
});

test('a Retry-After longer than the time budget fails fast instead of waiting', async () => {
  const clock = new FakeClock();
  const inner = scripted([throttled(60)]);
  const source = new ResilientSource(inner, { totalBudgetMs: 20_000 }, clock);
  const started = clock.t;
  await assert.rejects(source.getToken(request), (err: unknown) => err instanceof WitsError && err.code === 'ERR_SOURCE_UNAVAILABLE' && err.details.retryAfter === 60);
  assert.equal(inner.calls, 1);
  assert.equal(clock.t - started, 0);
});

test('a refusal (4xx) is final: no retry, a 403 ERR_UPSTREAM_REJECTED, breaker stays closed', async () => {
  const clock = new FakeClock();
  const inner = scripted([new UpstreamError('HTTP 400: AADSTS700213 no matching federated identity record', { retryable: false, status: 400 })]);
  const source = new ResilientSource(inner, { breakerThreshold: 1 }, clock);
  await assert.rejects(source.getToken(request), (err: unknown) => err instanceof WitsError && err.code === 'ERR_UPSTREAM_REJECTED' && err.status === 403 && /AADSTS700213/.test(err.message));
  assert.equal(inner.calls, 1);
  assert.equal(source.health().state, 'closed');
  assert.match(source.health().lastError ?? '', /AADSTS700213/);
});

test('a hanging upstream is abandoned after the attempt timeout', async () => {
  const source = new ResilientSource(
    { kind: 'hang', getToken: () => new Promise<SourceToken>(() => {}) },
    { attemptTimeoutMs: 50, totalBudgetMs: 120, maxAttempts: 5, baseDelayMs: 1 },
  );
  const started = Date.now();
  await assert.rejects(source.getToken(request), (err: unknown) => err instanceof WitsError && err.code === 'ERR_SOURCE_UNAVAILABLE');
  const elapsed = Date.now() - started;
  assert.ok(elapsed < 2000, `bounded (took ${elapsed} ms)`);
});

test('the breaker opens after consecutive failed calls, fails fast while open, probes once, then closes', async () => {
  const clock = new FakeClock();
  const outcomes: Array<'ok' | UpstreamError> = [serverError()];
  const inner = scripted(outcomes);
  const source = new ResilientSource(inner, { maxAttempts: 1, breakerThreshold: 3, breakerCooldownMs: 10_000 }, clock);
  for (let i = 0; i < 3; i++) await assert.rejects(source.getToken(request));
  assert.equal(inner.calls, 3);
  assert.equal(source.health().state, 'open');

  // While open: no upstream call, a 503 whose Retry-After is the remaining cooldown.
  clock.t += 4_000;
  await assert.rejects(source.getToken(request), (err: unknown) => err instanceof WitsError && err.code === 'ERR_SOURCE_UNAVAILABLE' && err.details.retryAfter === 6);
  assert.equal(inner.calls, 3);

  // After the cooldown a failing probe reopens for twice as long.
  clock.t += 6_000;
  await assert.rejects(source.getToken(request));
  assert.equal(inner.calls, 4);
  assert.equal(source.health().state, 'open');
  assert.equal(Date.parse(source.health().openUntil ?? '') - clock.t, 20_000);

  // A successful probe closes it.
  outcomes[0] = 'ok';
  clock.t += 20_000;
  assert.deepEqual(await source.getToken(request), token);
  assert.equal(source.health().state, 'closed');
  assert.equal(source.health().consecutiveFailures, 0);
  assert.equal(inner.calls, 5);
});

test('while half-open, concurrent callers fail fast instead of joining the probe', async () => {
  const clock = new FakeClock();
  let release: (t: SourceToken) => void = () => {};
  let calls = 0;
  let fail = true;
  const source = new ResilientSource(
    {
      kind: 'probe',
      getToken: () => {
        calls += 1;
        if (fail) return Promise.reject(serverError());
        return new Promise<SourceToken>((resolve) => (release = resolve));
      },
    },
    { maxAttempts: 1, breakerThreshold: 1, breakerCooldownMs: 1000 },
    clock,
  );
  await assert.rejects(source.getToken(request));
  fail = false;
  clock.t += 1000;
  const probe = source.getToken(request);
  await assert.rejects(source.getToken(request), (err: unknown) => err instanceof WitsError && err.code === 'ERR_SOURCE_UNAVAILABLE');
  release(token);
  assert.deepEqual(await probe, token);
  assert.equal(calls, 2);
});

test("wits' own errors pass through unchanged", async () => {
  const source = new ResilientSource({ kind: 'x', getToken: () => Promise.reject(new WitsError('ERR_UNKNOWN_IDENTITY', 'only the system identity')) });
  await assert.rejects(source.getToken(request), (err: unknown) => err instanceof WitsError && err.code === 'ERR_UNKNOWN_IDENTITY');
});
