/**
 * Upstream faults against a real process (issue #5): `wits serve` with a `managed-identity`
 * workspace whose host endpoint is the stand-in of test/sources/standIns.ts, short timeouts
 * (WITS_UPSTREAM_TIMEOUT=2, WITS_BREAKER_COOLDOWN=1), under continuous client load through a 429
 * storm, a 500 outage, a hanging outage and the recovery. Checked, for every response:
 *
 * - cached resources are answered 200 with the cached host token throughout;
 * - anything else is 200 or 503 ERR_SOURCE_UNAVAILABLE with Retry-After (never another 5xx), and
 *   no request waits much past the configured bound;
 * - /admin/status shows the breaker open during the outage and closed after it; the host sees a
 *   bounded number of calls however many requests came;
 * - after the recovery every resource is served again;
 * - no host token, host secret, session secret or admin credential in the logs, error bodies,
 *   audit rows or database files.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { removeDir, tempDir } from '../sources/harness.js';
import { ManagedIdentityHost } from '../sources/standIns.js';
import { adminCall, allAuditRows, count, databaseFiles, http, recordFigures, scaled, SCALE_NAME, SecretScan, sleep, startServe, type ServeProcess } from './support.js';

const UPSTREAM_TIMEOUT_SECONDS = 2;
const PHASE_MS = scaled(4_000, 20_000);
const CLIENTS = scaled(6, 16);
const CACHED = ['https://cognitiveservices.azure.com', 'https://storage.azure.com'];
const UNCACHED = ['https://management.azure.com', 'https://vault.azure.net', 'https://graph.microsoft.com', 'https://database.windows.net', 'https://kusto.kusto.windows.net'];
/** A request may take the bound plus this much on a loaded 2-core machine (bounded, not fast). */
const LOAD_SLACK_MS = 10_000;

type Phase = 'warm' | '429-storm' | '500-outage' | 'hang-outage' | 'recovery';

interface Sample {
  readonly phase: Phase;
  readonly resource: string;
  readonly status: number;
  readonly code: string | undefined;
  readonly retryAfter: string | null;
  readonly ms: number;
  readonly token: string | undefined;
}

describe('upstream faults against a real wits serve (managed-identity stand-in)', () => {
  let host: ManagedIdentityHost;
  let server: ServeProcess;
  let home: string;
  let secret: string;
  const scan = new SecretScan();
  const errorBodies: string[] = [];

  before(async () => {
    host = await ManagedIdentityHost.start();
    home = tempDir('reliability-upstream');
    server = await startServe(home, { ...host.appServiceEnv(), WITS_UPSTREAM_TIMEOUT: String(UPSTREAM_TIMEOUT_SECONDS), WITS_BREAKER_COOLDOWN: '1' });
    const ws = await adminCall(server.url, server.adminToken, 'POST', '/admin/workspaces', { name: 'mi', source: { kind: 'managed-identity', options: {} } });
    assert.equal(ws.status, 201, ws.text);
    const session = await adminCall(server.url, server.adminToken, 'POST', '/admin/sessions', { workspace: 'mi', ttlSeconds: 86_400 });
    assert.equal(session.status, 201, session.text);
    secret = session.body.secret as string;
  });

  after(async () => {
    await server?.kill('SIGTERM');
    await host?.close();
    if (home !== undefined) removeDir(home);
  });

  test('cached tokens are served through a 429 storm, 500s and hangs; the rest fails within the bound; the breaker opens and closes', { timeout: scaled(300_000, 900_000) }, async (t) => {
    const ask = async (phase: Phase, resource: string): Promise<Sample> => {
      const q = new URLSearchParams({ 'api-version': '2019-08-01', resource });
      const r = await http(`${server.url}/msi/token?${q}`, { headers: { 'x-identity-header': secret } });
      if (r.status >= 400) errorBodies.push(r.text);
      return { phase, resource, status: r.status, code: r.body?.code, retryAfter: r.headers.get('retry-after'), ms: r.ms, token: r.body?.access_token };
    };

    // Warm the cache.
    const cachedTokens = new Map<string, string>();
    for (const resource of CACHED) {
      const s = await ask('warm', resource);
      assert.equal(s.status, 200, `warm-up ${resource}: ${s.status}`);
      cachedTokens.set(resource, s.token as string);
    }

    let phase: Phase = 'warm';
    let stopping = false;
    const samples: Sample[] = [];
    const pick = <T>(list: readonly T[]): T => list[Math.floor(Math.random() * list.length)] as T;
    const clients = Array.from({ length: CLIENTS }, async () => {
      while (!stopping) {
        samples.push(await ask(phase, Math.random() < 0.6 ? pick(CACHED) : pick(UNCACHED)));
        await sleep(20);
      }
    });
    const breaker: Array<{ at: number; state: string }> = [];
    const watcher = (async () => {
      while (!stopping) {
        const r = await adminCall(server.url, server.adminToken, 'GET', '/admin/status');
        const state = (r.body?.sources as Array<{ workspace: string; health: { state: string } | null }> | undefined)?.find((s) => s.workspace === 'mi')?.health?.state ?? 'unknown';
        if (breaker.at(-1)?.state !== state) breaker.push({ at: Date.now(), state });
        await sleep(100);
      }
    })();

    const callsAt = new Map<Phase, number>();
    const enter = (next: Phase): void => {
      phase = next;
      callsAt.set(next, host.calls.length);
    };
    const outageStarted = Date.now();
    enter('429-storm');
    host.setOutage({ status: 429, retryAfter: 1 });
    await sleep(PHASE_MS);
    enter('500-outage');
    host.setOutage({ status: 500 });
    await sleep(PHASE_MS);
    enter('hang-outage');
    host.setOutage({ hang: true });
    await sleep(PHASE_MS);
    const outageEnded = Date.now();
    const callsDuringOutage = host.calls.length - (callsAt.get('429-storm') ?? 0);
    host.setOutage(null);
    enter('recovery');
    // Recovery: wait until every uncached resource has been served once. The breaker's cooldown
    // doubles while probes fail: after a 60 s outage it is at most 64 s (1 + 2 + ... + 32 < 64).
    const deadline = Date.now() + 150_000;
    while (!UNCACHED.every((r) => samples.some((s) => s.phase === 'recovery' && s.resource === r && s.status === 200))) {
      if (Date.now() >= deadline) {
        stopping = true;
        const recent = samples.filter((s) => s.phase === 'recovery').slice(-10).map((s) => `${s.resource} ${s.status} ${s.code ?? ''} ${s.ms}ms`);
        const calls = host.calls.slice(-10).map((c) => `${new Date(c.time).toISOString()} ${c.resource} ${c.status}`);
        const status = await adminCall(server.url, server.adminToken, 'GET', '/admin/status');
        await Promise.allSettled([...clients, watcher]);
        assert.fail(`not every resource was served again within 150 s of the recovery\nbreaker: ${breaker.map((b) => `${b.state}@+${((b.at - outageStarted) / 1000).toFixed(1)}s`).join(' -> ')}\nrecent: ${recent.join('; ')}\nhost calls: ${calls.join('; ')}\nstatus: ${status.text}\nlog tail: ${server.logs().slice(-3000)}`);
      }
      await sleep(200);
    }
    await sleep(1_000);
    stopping = true;
    await Promise.all([...clients, watcher]);

    // ---- every response
    const boundMs = UPSTREAM_TIMEOUT_SECONDS * 1000 + LOAD_SLACK_MS;
    const statuses = new Map<string, number>();
    let maxMs = 0;
    for (const s of samples) {
      count(statuses, `${s.status}${s.code === undefined ? '' : ` ${s.code}`}`);
      maxMs = Math.max(maxMs, s.ms);
      assert.ok(s.ms <= boundMs, `${s.resource} in ${s.phase} took ${s.ms} ms (bound ${boundMs} ms)`);
      if (CACHED.includes(s.resource)) {
        assert.equal(s.status, 200, `a cached resource was refused in ${s.phase}: ${s.status} ${s.code}`);
        assert.equal(s.token, cachedTokens.get(s.resource), 'the cached host token is served');
        continue;
      }
      if (s.status === 200) continue;
      assert.equal(s.status, 503, `${s.resource} in ${s.phase}: ${s.status} ${s.code}`);
      assert.equal(s.code, 'ERR_SOURCE_UNAVAILABLE');
      assert.match(s.retryAfter ?? '', /^[1-9]\d*$/, 'Retry-After on every 503');
    }
    const during = samples.filter((s) => s.phase !== 'warm' && s.phase !== 'recovery');
    assert.ok(during.some((s) => s.status === 503), 'uncached requests were refused during the outage');

    // ---- the breaker and the upstream calls
    const states = breaker.map((b) => b.state);
    assert.ok(states.includes('open'), `the breaker opened: ${states.join(' -> ')}`);
    assert.equal(states.at(-1), 'closed', `the breaker closed again: ${states.join(' -> ')}`);
    const outageSeconds = (outageEnded - outageStarted) / 1000;
    // Each uncached resource's first failing call (4 attempts), then at most one probe per cooldown.
    const callBound = 4 * (UNCACHED.length + Math.ceil(outageSeconds) + 2);
    assert.ok(callsDuringOutage <= callBound, `host calls during the outage: ${callsDuringOutage} (bound ${callBound}) for ${during.length} requests`);

    // ---- secrets
    for (const issued of host.signer.issued) scan.token('host token', issued.token);
    scan.needle('host IDENTITY_HEADER', host.identityHeader);
    scan.sessionSecret('session secret', secret);
    scan.adminCredential('admin credential', server.adminToken);
    const audit = await allAuditRows(server.url, server.adminToken);
    await server.kill('SIGTERM');
    scan.haystack('wits serve log', server.logs());
    scan.haystack('error bodies', errorBodies.join('\n'));
    scan.haystack('audit listing', audit.text.join('\n'));
    for (const f of databaseFiles(home)) scan.haystack(f.where, f.data);
    const result = scan.scan();
    assert.deepEqual(result.hits, []);
    const refreshWarnings = (server.logs().match(/background token refresh failed/g) ?? []).length;

    const figures = {
      phaseSeconds: PHASE_MS / 1000,
      clients: CLIENTS,
      requests: samples.length,
      requestsDuringOutage: during.length,
      cachedServedDuringOutage: during.filter((s) => CACHED.includes(s.resource)).length,
      refusedDuringOutage: during.filter((s) => s.status === 503).length,
      statuses: Object.fromEntries(statuses),
      maxResponseMs: maxMs,
      boundMs,
      hostCallsDuringOutage: callsDuringOutage,
      hostCallBound: callBound,
      faultsInjected: host.calls.filter((c) => c.status !== 200).length,
      breakerStates: breaker.map((b) => `${b.state}@+${((b.at - outageStarted) / 1000).toFixed(1)}s`),
      backgroundRefreshWarnings: refreshWarnings,
      auditRows: audit.rows.length,
      secretScan: { needles: result.needles, haystacks: result.haystacks, bytes: result.bytes, hits: result.hits.length },
    };
    t.diagnostic(
      `${samples.length} requests (${during.length} during ${outageSeconds.toFixed(1)} s of faults: ${figures.cachedServedDuringOutage} cached served, ${figures.refusedDuringOutage} refused with 503); ` +
        `max ${maxMs} ms; ${callsDuringOutage} host calls during the faults (bound ${callBound}); ${figures.faultsInjected} faults answered by the host; breaker ${figures.breakerStates.join(' -> ')}`,
    );
    t.diagnostic(`statuses: ${JSON.stringify(figures.statuses)}; secrets scan: ${result.needles} needles, ${result.haystacks} haystacks, ${result.hits.length} hits`);
    recordFigures('upstream-process', { scale: SCALE_NAME, ...figures });
  });
});
