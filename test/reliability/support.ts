/**
 * Shared plumbing of the reliability suite (issue #5): the scale switch, the figures each file
 * records for docs/reliability.md, and the secrets scan.
 *
 * Scale: the default run is sized for CI (`npm test` runs these files too); set
 * WITS_RELIABILITY_SCALE=full for the documented run (more load, cycles, cases and a longer outage).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI, cleanEnv, spawnServe } from '../support/witsProcess.js';
import { request } from '../support/http.js';

export { CLI, cleanEnv };

export const FULL = process.env.WITS_RELIABILITY_SCALE === 'full';
export const SCALE_NAME = FULL ? 'full' : 'default';

/** `small` in the default run, `large` with WITS_RELIABILITY_SCALE=full. */
export function scaled<T>(small: T, large: T): T {
  return FULL ? large : small;
}

// ---------------------------------------------------------------------------------------------
// Figures

/** Where each file leaves its figures (JSON), next to the compiled tests unless overridden. */
export function figuresDir(): string {
  return process.env.WITS_RELIABILITY_FIGURES ?? fileURLToPath(new URL('./figures/', import.meta.url));
}

/** Records (replaces) the figures of one part of the suite. */
export function recordFigures(part: string, figures: Record<string, unknown>): void {
  const dir = figuresDir();
  mkdirSync(dir, { recursive: true });
  // Written aside, then renamed: a reader (zz-summary, possibly running at the same time in
  // `npm test`) never sees half a file.
  const file = join(dir, `${part}.json`);
  writeFileSync(`${file}.${process.pid}.tmp`, JSON.stringify({ part, scale: SCALE_NAME, at: new Date().toISOString(), ...figures }, null, 2) + '\n');
  renameSync(`${file}.${process.pid}.tmp`, file);
}

export function readAllFigures(): Array<Record<string, unknown>> {
  const dir = figuresDir();
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Record<string, unknown>);
}

// ---------------------------------------------------------------------------------------------
// Secrets scan

/** Shapes that must never appear in a log, error body, audit row or database file. */
export const JWT_SHAPE = /eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/;
export const SESSION_SECRET_SHAPE = /wits\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{16,}/;
export const ADMIN_CREDENTIAL_SHAPE = /witsadm\.[A-Za-z0-9_-]{16,}/;

const WINDOW = 16;
const RUN = /[A-Za-z0-9_-]{16,}/g;

export interface ScanResult {
  readonly needles: number;
  readonly haystacks: number;
  readonly bytes: number;
  readonly hits: string[];
}

/**
 * Collects what must stay secret (tokens, session secrets, admin credentials: whole, and their
 * random parts) and every place that must not hold them, then searches one in the other. The
 * search indexes each needle by its first 16 characters, so it stays linear in the size of the
 * haystacks however many tokens the load produced; a piece of 16 characters or more of a needle's
 * start counts as a hit too.
 * Each haystack is also searched for anything shaped like a JWT, a session secret or an admin
 * credential, known or not.
 */
export class SecretScan {
  readonly #needles = new Map<string, string>();
  readonly #haystacks: Array<{ where: string; data: string }> = [];

  get needleCount(): number {
    return this.#needles.size;
  }

  /**
   * A secret value. Values with characters outside base64url (the dots of a JWT or a session
   * secret) are searched for by each of their base64url runs of 16 characters or more: finding
   * the whole value means finding every such run.
   */
  needle(what: string, value: string): void {
    const runs = value.match(RUN) ?? [];
    if (runs.length === 0) throw new Error(`needle ${what} has nothing long enough to scan for`);
    for (const run of runs) if (!this.#needles.has(run)) this.#needles.set(run, what);
  }

  /** A JWT: the whole token, its payload and its signature (the header is common to many tokens). */
  token(what: string, token: string): void {
    const [, payload = '', signature = ''] = token.split('.');
    // The header is shared by every token of a signing key: its run is not a secret.
    this.needle(`${what} (payload)`, payload);
    this.needle(`${what} (signature)`, signature);
  }

  /** `wits.<id>.<random>`: the whole secret and its random part. */
  sessionSecret(what: string, secret: string): void {
    // The session id (the middle part) is not secret: audit rows and listings carry it.
    this.needle(`${what} (random part)`, secret.split('.')[2] ?? '');
  }

  /** `witsadm.<random>`: the whole credential and its random part. */
  adminCredential(what: string, credential: string): void {
    this.needle(`${what} (random part)`, credential.split('.')[1] ?? credential);
  }

  /** Text or bytes (database files are read as latin1: base64url survives byte for byte). */
  haystack(where: string, data: string | Buffer): void {
    this.#haystacks.push({ where, data: typeof data === 'string' ? data : data.toString('latin1') });
  }

  scan(): ScanResult {
    const byWindow = new Map<string, string[]>();
    for (const value of this.#needles.keys()) {
      const key = value.slice(0, WINDOW);
      const list = byWindow.get(key);
      if (list === undefined) byWindow.set(key, [value]);
      else list.push(value);
    }
    const hits: string[] = [];
    let bytes = 0;
    for (const { where, data } of this.#haystacks) {
      bytes += data.length;
      // Needle -> longest prefix of it found here (16 characters of a 256-bit secret already leak).
      const found = new Map<string, number>();
      for (const match of data.matchAll(RUN)) {
        const run = match[0];
        for (let i = 0; i + WINDOW <= run.length; i++) {
          const candidates = byWindow.get(run.slice(i, i + WINDOW));
          if (candidates === undefined) continue;
          for (const value of candidates) {
            let n = WINDOW;
            while (n < value.length && i + n < run.length && run[i + n] === value[n]) n++;
            found.set(value, Math.max(found.get(value) ?? 0, n));
          }
        }
      }
      for (const [value, n] of found) {
        hits.push(`${this.#needles.get(value)} found in ${where}${n < value.length ? ` (its first ${n} of ${value.length} characters)` : ''}`);
      }
      for (const [shape, re] of [
        ['JWT-shaped text', JWT_SHAPE],
        ['session-secret-shaped text', SESSION_SECRET_SHAPE],
        ['admin-credential-shaped text', ADMIN_CREDENTIAL_SHAPE],
      ] as const) {
        const m = re.exec(data);
        if (m !== null) hits.push(`${shape} in ${where}: ${JSON.stringify(m[0].slice(0, 24))}...`);
      }
    }
    return { needles: this.#needles.size, haystacks: this.#haystacks.length, bytes, hits };
  }
}

/** The database files of a wits home (main file, WAL, shared memory), as they are on disk now. */
export function databaseFiles(home: string): Array<{ where: string; data: Buffer }> {
  return ['wits.db', 'wits.db-wal', 'wits.db-shm', 'wits.db-journal']
    .map((f) => join(home, f))
    .filter((p) => existsSync(p))
    .map((p) => ({ where: p, data: readFileSync(p) }));
}

// ---------------------------------------------------------------------------------------------
// Small helpers

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The `jti` (or `uti`) claim of a JWT, without verifying it. */
export function tokenId(token: string): string | undefined {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { jti?: unknown; uti?: unknown };
    return typeof payload.jti === 'string' ? payload.jti : typeof payload.uti === 'string' ? payload.uti : undefined;
  } catch {
    return undefined;
  }
}

export function count<K>(map: Map<K, number>, key: K, by = 1): void {
  map.set(key, (map.get(key) ?? 0) + by);
}

// ---------------------------------------------------------------------------------------------
// `wits serve` in a child process that can be killed with any signal

export interface ServeProcess {
  readonly url: string;
  readonly port: number;
  readonly home: string;
  readonly adminToken: string;
  readonly pid: number;
  /** Everything the process wrote so far (start-up facts on stdout, JSON log lines on stderr). */
  logs(): string;
  /** Sends the signal and waits for the exit; SIGTERM escalates to SIGKILL after 10 s. */
  kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts `wits serve --port 0 --json --home HOME --log-level debug` (the compiled CLI, a clean
 * environment plus `env`) and waits for its start-up facts.
 */
export async function startServe(home: string, env: Record<string, string> = {}, timeoutMs = 60_000): Promise<ServeProcess> {
  const child = await spawnServe(['--home', home, '--log-level', 'debug'], cleanEnv(env), timeoutMs);
  return {
    url: child.facts.url,
    port: Number(new URL(child.facts.url).port),
    home,
    adminToken: child.adminToken,
    pid: child.pid,
    logs: () => {
      const { stdout, stderr } = child.output();
      return stdout + stderr;
    },
    kill: (signal) => child.kill(signal, 10_000),
  };
}

// ---------------------------------------------------------------------------------------------
// HTTP

export interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly body: any;
  readonly ms: number;
}

/** fetch with a generous timeout; the body as text and, when it is JSON, parsed. */
export async function http(url: string, init: RequestInit = {}): Promise<Reply> {
  const started = Date.now();
  const reply = await request(url, { ...init, signal: init.signal ?? AbortSignal.timeout(60_000) });
  return { ...reply, ms: Date.now() - started };
}

export function adminCall(base: string, adminToken: string, method: string, path: string, body?: unknown): Promise<Reply> {
  return http(base + path, {
    method,
    headers: { authorization: `Bearer ${adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

export interface AuditRow {
  readonly id: number;
  readonly time: string;
  readonly protocol: string;
  readonly outcome: 'issued' | 'refused';
  readonly workspace: string | null;
  readonly sessionId: string | null;
  readonly identity: string | null;
  readonly audience: string | null;
  readonly code: string | null;
  readonly tokenId: string | null;
}

/** Every audit row, through GET /admin/audit (paged by time, deduplicated by id). */
export async function allAuditRows(base: string, adminToken: string): Promise<{ rows: AuditRow[]; text: string[] }> {
  const byId = new Map<number, AuditRow>();
  const texts: string[] = [];
  let since = 0;
  for (;;) {
    const reply = await adminCall(base, adminToken, 'GET', `/admin/audit?limit=100000&since=${since}`);
    if (reply.status !== 200) throw new Error(`GET /admin/audit: ${reply.status} ${reply.text.slice(0, 300)}`);
    texts.push(reply.text);
    const page = reply.body as AuditRow[];
    let added = 0;
    for (const row of page) {
      if (!byId.has(row.id)) {
        byId.set(row.id, row);
        added++;
      }
    }
    if (page.length < 100_000 || added === 0) break;
    since = Date.parse((page.at(-1) as AuditRow).time);
  }
  return { rows: [...byId.values()].sort((a, b) => a.id - b.id), text: texts };
}

/** Runs `tasks` with at most `limit` in flight. */
export async function pool<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const item = items[next++] as T;
        await task(item);
      }
    }),
  );
}
