import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { refreshTimeOf, TokenCache } from '../../src/cache/tokenCache.js';
import type { SourceToken } from '../../src/sources/tokenSource.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

function token(name: string, issuedAt: number, lifetimeMs = HOUR, refreshAt?: number): SourceToken {
  return {
    token: name,
    tokenId: `${name}-id`,
    issuedAt,
    notBefore: issuedAt,
    expiresAt: issuedAt + lifetimeMs,
    ...(refreshAt === undefined ? {} : { refreshAt }),
  };
}

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(err: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets queued promise reactions (a background refresh settling) run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** A fetch that counts calls and answers from a queue of results (a token or an Error to reject with). */
function scriptedFetch(results: Array<SourceToken | Error | Deferred<SourceToken>>) {
  let calls = 0;
  const fetch = (): Promise<SourceToken> => {
    const next = results[calls++];
    if (next === undefined) return Promise.reject(new Error(`unexpected fetch #${calls}`));
    if (next instanceof Error) return Promise.reject(next);
    if ('promise' in next) return next.promise;
    return Promise.resolve(next);
  };
  return { fetch, calls: () => calls };
}

describe('TokenCache', () => {
  test('single flight: 50 concurrent gets on a cold key make exactly one fetch', async () => {
    const cache = new TokenCache({ now: () => 0 });
    const pending = deferred<SourceToken>();
    const source = scriptedFetch([pending]);
    const gets = Array.from({ length: 50 }, () => cache.get('k', source.fetch));
    await settle();
    assert.equal(source.calls(), 1);
    pending.resolve(token('A', 0));
    const results = await Promise.all(gets);
    assert.equal(source.calls(), 1);
    assert.ok(results.every((r) => r.token === 'A'));
    assert.ok(results.every((r) => r === results[0]), 'every caller gets the same cached entry');
    // And the next call is a hit.
    assert.equal((await cache.get('k', source.fetch)).token, 'A');
    assert.equal(source.calls(), 1);
  });

  test('different keys are fetched independently', async () => {
    const cache = new TokenCache({ now: () => 0 });
    const a = scriptedFetch([token('A', 0)]);
    const b = scriptedFetch([token('B', 0)]);
    const [ra, rb] = await Promise.all([cache.get('a', a.fetch), cache.get('b', b.fetch)]);
    assert.equal(ra.token, 'A');
    assert.equal(rb.token, 'B');
    assert.equal(cache.size, 2);
  });

  test('peek on a cold key returns undefined and fetches nothing', () => {
    const cache = new TokenCache({ now: () => 0 });
    const source = scriptedFetch([]);
    assert.equal(cache.peek('k', source.fetch), undefined);
    assert.equal(source.calls(), 0);
  });

  test('refresh ahead: past refreshAt the old token is served, one background fetch replaces it', async () => {
    let now = 0;
    const cache = new TokenCache({ now: () => now });
    const refresh = deferred<SourceToken>();
    const source = scriptedFetch([token('old', 0), refresh]);
    const first = await cache.get('k', source.fetch);
    assert.equal(first.token, 'old');
    assert.equal(first.refreshAt, 30 * MINUTE, 'half of a one-hour lifetime');

    now = 29 * MINUTE;
    assert.equal((await cache.get('k', source.fetch)).token, 'old');
    assert.equal(source.calls(), 1, 'no refresh before refreshAt');

    now = 31 * MINUTE;
    const during = await Promise.all(Array.from({ length: 20 }, () => cache.get('k', source.fetch)));
    assert.ok(during.every((t) => t.token === 'old'), 'callers never wait on a refresh');
    assert.equal(cache.peek('k', source.fetch)?.token, 'old');
    await settle();
    assert.equal(source.calls(), 2, 'exactly one background fetch');

    refresh.resolve(token('new', now));
    await settle();
    const after = await cache.get('k', source.fetch);
    assert.equal(after.token, 'new');
    assert.equal(after.refreshAt, now + 30 * MINUTE);
    assert.equal(source.calls(), 2);
  });

  test('never serves a token within minRemainingMs of its expiry: the caller waits for a fresh one', async () => {
    let now = 0;
    const cache = new TokenCache({ now: () => now, minRemainingMs: MINUTE });
    const source = scriptedFetch([token('old', 0), token('fresh', HOUR - 30_000)]);
    await cache.get('k', source.fetch);
    now = HOUR - 30_000; // 30 s left < 60 s
    assert.equal(cache.peek('k', source.fetch), undefined);
    const served = await cache.get('k', source.fetch);
    assert.equal(served.token, 'fresh');
    assert.equal(source.calls(), 2);
  });

  test('never serves a token within minRemainingMs of expiry, even before its refresh time', async () => {
    let now = 0;
    // A minimum above the five-minute refresh margin: refreshAt (expiry - 5 min) lies inside it.
    const cache = new TokenCache({ now: () => now, minRemainingMs: 10 * MINUTE });
    const source = scriptedFetch([token('old', 0, HOUR, HOUR - MINUTE), token('fresh', 0)]);
    const first = await cache.get('k', source.fetch);
    assert.equal(first.refreshAt, HOUR - 5 * MINUTE);
    now = HOUR - 8 * MINUTE; // before refreshAt, but only 8 minutes left
    const served = await cache.get('k', source.fetch);
    assert.equal(served.token, 'fresh');
  });

  test('property: a cached token is served only with at least minRemainingMs of validity left', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 24 * 60 }), // lifetime, minutes
        fc.option(fc.integer({ min: -60, max: 24 * 60 }), { nil: undefined }), // refresh hint, minutes after issue
        fc.integer({ min: 0, max: 30 * MINUTE }), // minRemainingMs
        fc.array(fc.integer({ min: 0, max: 25 * HOUR }), { minLength: 1, maxLength: 8 }),
        async (lifetimeMin, hintMin, minRemainingMs, times) => {
          let now = 0;
          let fetched = 0;
          const cache = new TokenCache({ now: () => now, minRemainingMs });
          const fetch = async (): Promise<SourceToken> => {
            fetched++;
            return token(`t${fetched}`, now, lifetimeMin * MINUTE, hintMin === undefined ? undefined : now + hintMin * MINUTE);
          };
          await cache.get('k', fetch);
          for (const t of [...times].sort((x, y) => x - y)) {
            now = t;
            const before = fetched;
            const served = cache.peek('k', fetch);
            if (served !== undefined && fetched === before) {
              assert.ok(served.expiresAt - now >= minRemainingMs, `served ${served.token} with ${served.expiresAt - now} ms left`);
            }
            await settle();
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  test('a failed background refresh keeps serving the old token and reports through onRefreshError', async () => {
    let now = 0;
    const errors: Array<{ key: string; err: unknown }> = [];
    const cache = new TokenCache({ now: () => now, onRefreshError: (key, err) => errors.push({ key, err }) });
    const boom = new Error('upstream down');
    const source = scriptedFetch([token('old', 0), boom, token('new', 40 * MINUTE)]);
    await cache.get('k', source.fetch);
    now = 31 * MINUTE;
    assert.equal((await cache.get('k', source.fetch)).token, 'old');
    await settle();
    assert.equal(errors.length, 1);
    assert.equal(errors[0]?.key, 'k');
    assert.equal(errors[0]?.err, boom);
    // Still served, and the next call past refreshAt tries again.
    now = 40 * MINUTE;
    assert.equal((await cache.get('k', source.fetch)).token, 'old');
    await settle();
    assert.equal(source.calls(), 3);
    assert.equal((await cache.get('k', source.fetch)).token, 'new');
    assert.equal(errors.length, 1);
  });

  test('a failed fetch does not poison the key: the next call fetches again', async () => {
    const cache = new TokenCache({ now: () => 0 });
    const source = scriptedFetch([new Error('first fails'), token('ok', 0)]);
    await assert.rejects(cache.get('k', source.fetch), /first fails/);
    assert.equal(cache.size, 0);
    assert.equal((await cache.get('k', source.fetch)).token, 'ok');
    assert.equal(source.calls(), 2);
  });

  test('concurrent callers of a failing fetch all get the error, from one fetch', async () => {
    const cache = new TokenCache({ now: () => 0 });
    const pending = deferred<SourceToken>();
    const source = scriptedFetch([pending, token('ok', 0)]);
    const gets = Array.from({ length: 10 }, () => cache.get('k', source.fetch));
    pending.reject(new Error('nope'));
    const results = await Promise.allSettled(gets);
    assert.ok(results.every((r) => r.status === 'rejected'));
    assert.equal(source.calls(), 1);
    assert.equal((await cache.get('k', source.fetch)).token, 'ok');
  });

  test('a fetch that throws synchronously becomes a rejection, and the key recovers', async () => {
    let now = 0;
    const errors: unknown[] = [];
    const cache = new TokenCache({ now: () => now, onRefreshError: (_key, err) => errors.push(err) });
    let calls = 0;
    const throwing = (): Promise<SourceToken> => {
      calls++;
      throw new Error('sync boom');
    };
    const result = cache.get('k', throwing);
    assert.ok(result instanceof Promise, 'get never throws synchronously');
    await assert.rejects(result, /sync boom/);
    assert.equal((await cache.get('k', async () => token('ok', 0))).token, 'ok');

    // A synchronous throw during a background refresh is reported, the old token still served.
    now = 31 * MINUTE;
    assert.equal(cache.peek('k', throwing)?.token, 'ok');
    await settle();
    assert.equal(errors.length, 1);
    assert.match(String(errors[0]), /sync boom/);
    assert.equal(calls, 2);
  });

  test('maxEntries bounds the cache: the oldest inserted entry goes first', async () => {
    const cache = new TokenCache({ now: () => 0, maxEntries: 3 });
    const counts = new Map<string, number>();
    const fetchFor = (key: string) => async (): Promise<SourceToken> => {
      counts.set(key, (counts.get(key) ?? 0) + 1);
      return token(key, 0);
    };
    for (const key of ['a', 'b', 'c', 'd']) await cache.get(key, fetchFor(key));
    assert.equal(cache.size, 3);
    assert.equal(cache.peek('a', fetchFor('a')), undefined, "'a' was evicted");
    for (const key of ['b', 'c', 'd']) assert.equal(cache.peek(key, fetchFor(key))?.token, key);
    await cache.get('a', fetchFor('a'));
    assert.equal(counts.get('a'), 2);
    assert.equal(cache.size, 3);
    assert.equal(cache.peek('b', fetchFor('b')), undefined, "then 'b'");
  });

  test('clear empties the cache', async () => {
    const cache = new TokenCache({ now: () => 0 });
    await cache.get('k', async () => token('A', 0));
    cache.clear();
    assert.equal(cache.size, 0);
    assert.equal(cache.peek('k', async () => token('B', 0)), undefined);
  });
});

describe('refreshTimeOf', () => {
  test('without a hint: half the lifetime', () => {
    assert.equal(refreshTimeOf(token('t', 1_000, HOUR)), 1_000 + 30 * MINUTE);
    assert.equal(refreshTimeOf(token('t', 0, 24 * HOUR)), 12 * HOUR);
  });

  test('at least five minutes before expiry', () => {
    // 8 minutes: half (4 min) is later than expiry - 5 min (3 min).
    assert.equal(refreshTimeOf(token('t', 0, 8 * MINUTE)), 3 * MINUTE);
    // A hint later than expiry - 5 min is pulled back.
    assert.equal(refreshTimeOf(token('t', 0, HOUR, HOUR - MINUTE)), HOUR - 5 * MINUTE);
  });

  test("the source's hint wins when earlier", () => {
    assert.equal(refreshTimeOf(token('t', 0, HOUR, 10 * MINUTE)), 10 * MINUTE);
    assert.equal(refreshTimeOf(token('t', 0, HOUR, 50 * MINUTE)), 50 * MINUTE);
  });

  test('never before the token was issued', () => {
    assert.equal(refreshTimeOf(token('t', 5_000, 4 * MINUTE)), 5_000, 'lifetime under five minutes');
    assert.equal(refreshTimeOf(token('t', 5_000, HOUR, 0)), 5_000, 'hint in the past');
  });

  test('property: issuedAt <= refreshAt <= max(issuedAt, expiresAt - 5 min), and <= the hint when it is later than issuedAt', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.integer({ min: 1, max: 48 * HOUR }),
        fc.option(fc.integer({ min: -HOUR, max: 49 * HOUR }), { nil: undefined }),
        (issuedAt, lifetime, hintOffset) => {
          const t = token('t', issuedAt, lifetime, hintOffset === undefined ? undefined : issuedAt + hintOffset);
          const r = refreshTimeOf(t);
          assert.ok(r >= issuedAt);
          assert.ok(r <= Math.max(issuedAt, t.expiresAt - 5 * MINUTE));
          if (t.refreshAt !== undefined) assert.ok(r <= Math.max(issuedAt, t.refreshAt));
          else assert.ok(r <= issuedAt + lifetime / 2);
        },
      ),
      { numRuns: 500 },
    );
  });
});
