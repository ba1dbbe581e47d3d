/**
 * Crash durability under load (issue #5): `wits serve` (child process, its own home) takes load
 * from a separate load-generator process (crashLoad.ts) that creates sessions, asks for tokens over
 * the App Service and native protocols and revokes some sessions, journaling every acknowledged
 * session, revocation and received token line by line. Mid-load the service gets SIGKILL (no exit
 * handler, no close, no checkpoint) and is restarted on the same home; then:
 *
 * - every session whose creation was acknowledged exists and still gets a token (or, when its
 *   revocation was acknowledged, is refused as revoked);
 * - every token response a client received has its audit row: for each (session, jti), the
 *   `issued` rows are at least as many as the responses received;
 * - the database passes SQLite's integrity check at the end.
 *
 * Several kill/restart cycles; the lost count must be 0. Logs (debug level), error bodies, audit
 * rows and the database files are then scanned for every token and secret seen.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { removeDir, tempDir } from '../sources/harness.js';
import type { LoadConfig, LoadSummary } from './crashLoad.js';
import {
  adminCall,
  allAuditRows,
  cleanEnv,
  count,
  databaseFiles,
  http,
  pool,
  recordFigures,
  scaled,
  SCALE_NAME,
  SecretScan,
  sleep,
  startServe,
  tokenId,
  type ServeProcess,
} from './support.js';

const LOADER = fileURLToPath(new URL('./crashLoad.js', import.meta.url));
const CYCLES = scaled(4, 12);
/** Journal lines to wait for before the kill, then a random extra delay up to KILL_JITTER_MS. */
const MIN_LINES_BEFORE_KILL = scaled(300, 1500);
const KILL_JITTER_MS = scaled(1500, 6000);
const WORKERS = scaled(12, 24);
const AUDIENCES = ['Storage', 'Vault', 'CognitiveServices', 'AzureManagement', 'https://ai.azure.com', 'https://database.windows.net/.default', 'api://crash-test-app', 'Graph'];

interface Journal {
  /** id -> {secret, workspace} */
  readonly sessions: Map<string, { secret: string; workspace: string }>;
  readonly revokeSent: Set<string>;
  readonly revoked: Set<string>;
  readonly tokens: Set<string>;
  lines: number;
}

function readJournal(path: string, into: Journal): void {
  const text = readFileSync(path, 'utf8');
  into.lines = 0;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    into.lines++;
    const [kind, a = '', b = '', c = '', d = ''] = line.split('\t');
    if (kind === 'S') into.sessions.set(a, { secret: b, workspace: c });
    else if (kind === 'r') into.revokeSent.add(a);
    else if (kind === 'R') into.revoked.add(a);
    else if (kind === 'T') {
      into.tokens.add(d);
    }
  }
}

/** Received (session, jti) counts; recomputed from the whole journal each time. */
function receivedCounts(path: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.startsWith('T\t')) continue;
    const [, sessionId = '', jti = ''] = line.split('\t');
    count(counts, `${sessionId} ${jti}`);
  }
  return counts;
}

function countLines(path: string): number {
  try {
    const text = readFileSync(path, 'utf8');
    let n = 0;
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
    return n;
  } catch {
    return 0;
  }
}

describe('kill -9 under load: acknowledged sessions and audited token responses survive', { timeout: scaled(600_000, 3_600_000) }, () => {
  const home = tempDir('reliability-crash');
  const journalPath = join(home, '..', `${home.split('/').at(-1)}-journal.tsv`);
  const scan = new SecretScan();
  const errorBodies: string[] = [];
  const serverLogs: string[] = [];
  let server: ServeProcess | undefined;

  after(async () => {
    await server?.kill('SIGTERM');
    removeDir(home);
    removeDir(journalPath);
  });

  test('cycles of load, SIGKILL, restart and verification lose nothing', async (t) => {
    writeFileSync(journalPath, '');
    server = await startServe(home);
    const adminToken = server.adminToken;
    scan.adminCredential('admin credential', adminToken);

    // A second workspace, and a user-assigned identity in each.
    assert.equal((await adminCall(server.url, adminToken, 'POST', '/admin/workspaces', { name: 'crash-b' })).status, 201);
    const workspaces: Record<string, string[]> = { default: [], 'crash-b': [] };
    for (const ws of Object.keys(workspaces)) {
      const r = await adminCall(server.url, adminToken, 'POST', `/admin/workspaces/${ws}/identities`, { name: 'crash-user' });
      assert.equal(r.status, 201, r.text);
      workspaces[ws]?.push((r.body as { clientId: string }).clientId);
    }

    const journal: Journal = { sessions: new Map(), revokeSent: new Set(), revoked: new Set(), tokens: new Set(), lines: 0 };
    /** (session, jti) pairs of the verification requests (made by this process, not the loader). */
    const verificationReceived = new Map<string, number>();
    const figures = {
      cycles: 0,
      loadSeconds: 0,
      requestsSent: 0,
      completeResponses: 0,
      /** Requests without a complete response: in flight at the kill, or sent to the dead service. */
      requestsWithoutResponse: 0,
      tokenResponsesReceived: 0,
      sessionsAcknowledged: 0,
      revocationsAcknowledged: 0,
      sessionChecks: 0,
      revokedChecks: 0,
      auditRowsRead: 0,
      receivedPairsChecked: 0,
      tokenResponsesMatchedToAudit: 0,
      restartMs: [] as number[],
      dataLost: 0,
      statuses: {} as Record<string, number>,
      integrityCheck: '',
    };
    const lost: string[] = [];
    let verifiedUpTo = new Set<string>();

    /** Every acknowledged session of `ids` still works (or is refused as revoked when that was acknowledged). */
    async function verifySessions(base: string, ids: readonly string[]): Promise<void> {
      await pool(ids, 8, async (id) => {
        const session = journal.sessions.get(id);
        if (session === undefined) return;
        const q = new URLSearchParams({ 'api-version': '2019-08-01', resource: 'Storage' });
        const reply = await http(`${base}/msi/token?${q}`, { headers: { 'x-identity-header': session.secret } });
        if (reply.status >= 400) errorBodies.push(reply.text);
        if (journal.revoked.has(id)) {
          figures.revokedChecks++;
          if (reply.status !== 401 || reply.body?.code !== 'ERR_SESSION_REVOKED') lost.push(`acknowledged revocation of ${id} lost: ${reply.status} ${reply.text.slice(0, 200)}`);
          return;
        }
        figures.sessionChecks++;
        if (reply.status === 401 && reply.body?.code === 'ERR_SESSION_REVOKED' && journal.revokeSent.has(id)) return; // revocation sent, answer lost: either outcome is right
        if (reply.status !== 200 || typeof reply.body?.access_token !== 'string') {
          lost.push(`acknowledged session ${id} (${session.workspace}) no longer works: ${reply.status} ${reply.text.slice(0, 200)}`);
          return;
        }
        const token = reply.body.access_token as string;
        journal.tokens.add(token);
        count(verificationReceived, `${id} ${tokenId(token)}`);
      });
    }

    /** Every received token response has its issued audit row, per (session, jti). */
    async function verifyAudit(base: string): Promise<void> {
      const { rows, text } = await allAuditRows(base, adminToken);
      figures.auditRowsRead = rows.length;
      // The audit listing itself must hold no secret: scanned at the end (the last listing).
      auditText = text.join('\n');
      const audited = new Map<string, number>();
      for (const row of rows) if (row.outcome === 'issued') count(audited, `${row.sessionId} ${row.tokenId}`);
      const received = receivedCounts(journalPath);
      for (const [key, n] of verificationReceived) count(received, key, n);
      let responses = 0;
      for (const [key, n] of received) {
        responses += n;
        const have = audited.get(key) ?? 0;
        if (have < n) lost.push(`${n} token responses received for (session, jti) ${key}, ${have} audit rows`);
      }
      figures.receivedPairsChecked = received.size;
      figures.tokenResponsesMatchedToAudit = responses;
    }
    let auditText = '';

    for (let cycle = 1; cycle <= CYCLES; cycle++) {
      const config: LoadConfig = {
        url: server.url,
        adminToken,
        journal: journalPath,
        workers: WORKERS,
        tokensPerSession: 3,
        revokeEvery: 5,
        audiences: AUDIENCES,
        workspaces,
      };
      const loader = spawn(process.execPath, [LOADER, JSON.stringify(config)], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
      let loaderOut = '';
      let loaderErr = '';
      loader.stdout.setEncoding('utf8').on('data', (d: string) => (loaderOut += d));
      loader.stderr.setEncoding('utf8').on('data', (d: string) => (loaderErr += d));
      const loaderExit = new Promise<number | null>((resolve) => loader.once('exit', (code) => resolve(code)));
      const startLines = countLines(journalPath);
      const loadStarted = Date.now();

      // Kill mid-load: once enough has been acknowledged, after a random extra delay.
      const deadline = Date.now() + 120_000;
      while (countLines(journalPath) - startLines < MIN_LINES_BEFORE_KILL) {
        assert.ok(Date.now() < deadline, `the load produced too little (${countLines(journalPath) - startLines} lines); loader stderr: ${loaderErr.slice(-1000)}`);
        assert.equal(loader.exitCode, null, `the loader died: ${loaderErr.slice(-2000)}`);
        await sleep(50);
      }
      await sleep(Math.floor(Math.random() * KILL_JITTER_MS));
      const killed: { signal: NodeJS.Signals | null } = await server.kill('SIGKILL');
      assert.equal(killed.signal, 'SIGKILL');
      figures.loadSeconds += (Date.now() - loadStarted) / 1000;
      serverLogs.push(server.logs());

      // The loader's in-flight requests fail (connection refused/reset); then it stops and reports.
      await sleep(300);
      loader.kill('SIGTERM');
      const code = await loaderExit;
      assert.equal(code, 0, `loader exit ${code}: ${loaderErr.slice(-2000)}`);
      const summary = JSON.parse(loaderOut.trim().split('\n').at(-1) ?? '{}') as LoadSummary;
      assert.deepEqual(summary.unexpected, [], 'the service answered valid load requests as expected');
      figures.requestsSent += summary.requests;
      figures.requestsWithoutResponse += summary.failed;
      figures.completeResponses += summary.requests - summary.failed;
      figures.tokenResponsesReceived += summary.tokensReceived;
      for (const [status, n] of Object.entries(summary.statuses)) figures.statuses[status] = (figures.statuses[status] ?? 0) + n;

      // Restart on the same home (a new port) and check what was acknowledged.
      const restartStarted = Date.now();
      server = await startServe(home);
      figures.restartMs.push(Date.now() - restartStarted);
      readJournal(journalPath, journal);
      const newIds = [...journal.sessions.keys()].filter((id) => !verifiedUpTo.has(id));
      await verifySessions(server.url, newIds);
      verifiedUpTo = new Set(journal.sessions.keys());
      await verifyAudit(server.url);
      figures.cycles = cycle;
      t.diagnostic(
        `cycle ${cycle}: ${summary.requests} requests (${summary.failed} without a response: in flight at the kill or sent after it), ${summary.sessionsAcknowledged} sessions and ${summary.tokensReceived} tokens acknowledged; ` +
          `restart ${figures.restartMs.at(-1)} ms; ${newIds.length} new sessions verified; lost so far: ${lost.length}`,
      );
      assert.deepEqual(lost.slice(0, 20), [], `data lost after cycle ${cycle}`);
    }

    // Final pass: every session acknowledged in any cycle, and the whole audit once more.
    const allIds = [...journal.sessions.keys()];
    await verifySessions(server.url, allIds);
    await verifyAudit(server.url);
    assert.deepEqual(lost.slice(0, 20), [], 'data lost');
    figures.sessionsAcknowledged = journal.sessions.size;

    // Control: the checks do see a loss. A session nobody created and a token response nobody
    // audited must both be reported (then they are taken out again).
    const checked = { pairs: figures.receivedPairsChecked, responses: figures.tokenResponsesMatchedToAudit, rows: figures.auditRowsRead, sessions: figures.sessionChecks };
    const fakeId = 'AAAAAAAAAAAAAAAAAAAAAA';
    journal.sessions.set(fakeId, { secret: `wits.${fakeId}.${'B'.repeat(43)}`, workspace: 'default' });
    count(verificationReceived, `${fakeId} not-a-real-jti`);
    await verifySessions(server.url, [fakeId]);
    await verifyAudit(server.url);
    assert.equal(lost.length, 2, `the checker reports both planted losses: ${lost.join('; ')}`);
    journal.sessions.delete(fakeId);
    verificationReceived.delete(`${fakeId} not-a-real-jti`);
    lost.length = 0;
    figures.receivedPairsChecked = checked.pairs;
    figures.tokenResponsesMatchedToAudit = checked.responses;
    figures.auditRowsRead = checked.rows;
    figures.sessionChecks = checked.sessions;
    figures.revocationsAcknowledged = journal.revoked.size;
    figures.dataLost = lost.length;

    // A clean stop, then SQLite's own check of the file that was killed under load so many times.
    serverLogs.push(server.logs());
    await server.kill('SIGTERM');
    serverLogs[serverLogs.length - 1] = server.logs();
    const db = new Database(join(home, 'wits.db'), { readonly: true });
    try {
      figures.integrityCheck = String(db.pragma('integrity_check', { simple: true }));
    } finally {
      db.close();
    }
    assert.equal(figures.integrityCheck, 'ok');

    // Secrets: every token and session secret seen, in every log, error body, audit listing and database file.
    for (const [id, s] of journal.sessions) scan.sessionSecret(`session secret ${id}`, s.secret);
    let n = 0;
    for (const token of journal.tokens) scan.token(`token ${n++}`, token);
    serverLogs.forEach((log, i) => scan.haystack(`wits serve log, run ${i + 1}`, log));
    scan.haystack('error bodies', errorBodies.join('\n'));
    scan.haystack('audit listing (GET /admin/audit)', auditText);
    for (const f of databaseFiles(home)) scan.haystack(f.where, f.data);
    const result = scan.scan();
    t.diagnostic(`secrets scan: ${result.needles} needles in ${result.haystacks} haystacks (${result.bytes} bytes): ${result.hits.length} hits`);
    assert.deepEqual(result.hits.slice(0, 20), []);

    const totalSeconds = figures.loadSeconds;
    t.diagnostic(
      `figures: ${figures.cycles} kill -9 cycles, ${figures.requestsSent} requests in ${totalSeconds.toFixed(1)} s of load ` +
        `(${Math.round(figures.completeResponses / totalSeconds)} complete responses/s), ${figures.sessionsAcknowledged} sessions acknowledged, ` +
        `${figures.tokenResponsesReceived} token responses received, ${figures.sessionChecks + figures.revokedChecks} session checks, ${figures.auditRowsRead} audit rows read, data lost ${figures.dataLost}`,
    );
    recordFigures('crash', {
      scale: SCALE_NAME,
      ...figures,
      completeResponsesPerSecond: Math.round(figures.completeResponses / totalSeconds),
      secretScan: { needles: result.needles, haystacks: result.haystacks, bytes: result.bytes, hits: result.hits.length },
    });
  });
});
