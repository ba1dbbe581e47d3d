/**
 * Child-process plumbing for the upstream-source acceptance tests: the real `wits` CLI
 * (dist/src/cli/main.js) run as `wits serve` with a stand-in's environment (msal-node fixes its
 * managed-identity source per process, so every environment gets its own process), CLI commands,
 * `wits exec` workloads, HTTP calls that remember every error body, and the secrets scan.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from '../support/http.js';
import { CLI, cleanEnv, spawnServe, wits, type RunResult } from '../support/witsProcess.js';

export { CLI, cleanEnv, wits, type RunResult };


export const COGNITIVE_SERVICES = 'https://cognitiveservices.azure.com';


export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `wits-sources-${prefix}-`));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}



export async function witsOk(args: readonly string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
  const result = await wits(args, options);
  assert.equal(result.code, 0, `wits ${args.join(' ')} exited ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  return result;
}

export interface WitsServer {
  readonly url: string;
  readonly issuer: string;
  readonly home: string;
  readonly adminToken: string;
  /** Everything the server process wrote (stdout + stderr): its logs. */
  logs(): string;
  stop(): Promise<void>;
}

/**
 * Starts `wits serve --port 0 --json --home HOME --log-level debug` with `env` added to a clean
 * environment, and waits for its start-up facts.
 */
export async function startWits(home: string, env: Record<string, string> = {}, extraArgs: readonly string[] = []): Promise<WitsServer> {
  const child = await spawnServe(['--home', home, '--log-level', 'debug', ...extraArgs], cleanEnv(env), 20_000);
  return {
    url: child.facts.url,
    issuer: child.facts.issuer,
    home,
    adminToken: child.adminToken,
    logs: () => {
      const { stdout, stderr } = child.output();
      return stdout + stderr;
    },
    async stop() {
      await child.kill('SIGTERM');
    },
  };
}

// ---------------------------------------------------------------------------------------------
// HTTP against wits, remembering every error body for the secrets scan

export interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly body: any;
  readonly ms: number;
}

export const errorBodies: string[] = [];

export async function http(url: string, init: RequestInit = {}): Promise<Reply> {
  const started = Date.now();
  const reply = await request(url, { ...init, signal: init.signal ?? AbortSignal.timeout(30_000) });
  if (reply.status >= 400) errorBodies.push(reply.text);
  return { ...reply, ms: Date.now() - started };
}

export function adminCall(server: WitsServer, method: string, path: string, body?: unknown): Promise<Reply> {
  return http(server.url + path, {
    method,
    headers: { authorization: `Bearer ${server.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

export async function createSession(server: WitsServer, workspace: string): Promise<string> {
  const r = await adminCall(server, 'POST', '/admin/sessions', { workspace });
  assert.equal(r.status, 201, r.text);
  return (r.body as { secret: string }).secret;
}

/** GET /msi/token (App Service protocol of wits) with a session secret. */
export function msiToken(server: WitsServer, secret: string, resource: string): Promise<Reply> {
  const q = new URLSearchParams({ 'api-version': '2019-08-01', resource });
  return http(`${server.url}/msi/token?${q}`, { headers: { 'X-IDENTITY-HEADER': secret } });
}

export interface SourceHealthView {
  workspace: string;
  kind: string;
  cachedTokens: number | null;
  health: null | {
    state: 'closed' | 'open' | 'half-open';
    healthy: boolean;
    consecutiveFailures: number;
    upstreamCalls: number;
    failedCalls: number;
    lastSuccessAt: string | null;
    lastErrorAt: string | null;
    lastError: string | null;
    openUntil: string | null;
  };
}

export interface StatusBody {
  mode: string;
  cachedTokens: number | null;
  sources: SourceHealthView[];
}

export async function adminStatus(server: WitsServer): Promise<StatusBody> {
  const r = await adminCall(server, 'GET', '/admin/status');
  assert.equal(r.status, 200, r.text);
  return r.body as StatusBody;
}

export function sourceOf(status: StatusBody, workspace: string): SourceHealthView {
  const s = status.sources.find((x) => x.workspace === workspace);
  assert.ok(s !== undefined, `no status row for ${workspace}: ${JSON.stringify(status)}`);
  return s;
}

/** Asserts wits' JSON error shape (protocols.md section 5) with the expected status and code. */
export function assertWitsError(reply: Reply, status: number, code: string): void {
  assert.equal(reply.status, status, `expected ${status} ${code}, got ${reply.status}: ${reply.text.slice(0, 400)}`);
  assert.match(reply.headers.get('content-type') ?? '', /^application\/json/);
  const body = reply.body as Record<string, unknown> | undefined;
  assert.ok(body !== undefined && typeof body === 'object', `not JSON: ${reply.text.slice(0, 200)}`);
  assert.equal(body.code, code, reply.text.slice(0, 400));
  for (const k of ['error', 'error_description', 'message']) assert.equal(typeof body[k], 'string', `${k} missing: ${reply.text}`);
}

// ---------------------------------------------------------------------------------------------
// Workloads under `wits exec`

/**
 * A workload program: reads IDENTITY_ENDPOINT / IDENTITY_HEADER as an Azure SDK would, asks for
 * `resource`, prints one JSON line {status, body, endpointHost}.
 */
export function workloadScript(resource: string): string {
  return `
const endpoint = new URL(process.env.IDENTITY_ENDPOINT);
endpoint.searchParams.set('api-version', '2019-08-01');
endpoint.searchParams.set('resource', ${JSON.stringify(resource)});
const r = await fetch(endpoint, { headers: { 'X-IDENTITY-HEADER': process.env.IDENTITY_HEADER } });
const text = await r.text();
let body; try { body = JSON.parse(text); } catch { body = text; }
console.log(JSON.stringify({ status: r.status, body, endpoint: process.env.IDENTITY_ENDPOINT }));
`;
}

export interface WorkloadResult {
  readonly status: number;
  readonly body: any;
  readonly endpoint: string;
  readonly run: RunResult;
}

/** `wits exec --server URL --home HOME --workspace W -- node --input-type=module -e <workload>`. */
export async function execWorkload(server: WitsServer, workspace: string, resource: string): Promise<WorkloadResult> {
  const run = await wits(['exec', '--server', server.url, '--home', server.home, '--workspace', workspace, '--', process.execPath, '--input-type=module', '-e', workloadScript(resource)]);
  assert.equal(run.code, 0, `wits exec exited ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  const line = run.stdout.split('\n').filter((l) => l.trim() !== '').at(-1) ?? '';
  const parsed = JSON.parse(line) as { status: number; body: any; endpoint: string };
  if (parsed.status >= 400) errorBodies.push(JSON.stringify(parsed.body));
  return { ...parsed, run };
}

// ---------------------------------------------------------------------------------------------
// Secrets scan

export interface Needle {
  readonly what: string;
  readonly value: string;
}

export interface Haystack {
  readonly where: string;
  readonly data: string | Buffer;
}

/** The files of a SQLite database: main file, WAL and shared memory, as raw bytes. */
export function databaseHaystacks(home: string): Haystack[] {
  return ['wits.db', 'wits.db-wal', 'wits.db-shm', 'wits.db-journal']
    .map((f) => join(home, f))
    .filter((p) => existsSync(p))
    .map((p) => ({ where: p, data: readFileSync(p) }));
}

/** Every place where one of the needles occurs (empty: nothing leaked). */
export function findLeaks(haystacks: readonly Haystack[], needles: readonly Needle[]): string[] {
  const hits: string[] = [];
  for (const needle of needles) {
    assert.ok(needle.value.length >= 16, `needle ${needle.what} is too short to scan for`);
    const bytes = Buffer.from(needle.value, 'utf8');
    for (const h of haystacks) {
      const found = typeof h.data === 'string' ? h.data.includes(needle.value) : h.data.indexOf(bytes) !== -1;
      if (found) hits.push(`${needle.what} found in ${h.where}`);
    }
  }
  return hits;
}

/** A token and its signature part: either would be a leak. */
export function tokenNeedles(what: string, token: string): Needle[] {
  const signature = token.split('.')[2] ?? '';
  return [{ what, value: token }, ...(signature.length >= 16 ? [{ what: `${what} (signature)`, value: signature }] : [])];
}

export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
