/** Starting wits (the real CLI, `wits serve`) and talking to it, for the benchmarks. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { child, startChild, WITS_MAIN, type Child } from './proc.js';

export const APP_SERVICE = '/msi/token?api-version=2019-08-01&resource=';

export function newHome(label: string): string {
  return mkdtempSync(join(tmpdir(), `wits-bench-${label}-`));
}

export interface WitsOptions {
  readonly port?: number;
  readonly logLevel?: 'info' | 'warn';
  readonly env?: NodeJS.ProcessEnv;
  readonly nodeFlags?: readonly string[];
  /** Another build's dist/src/cli/main.js (bench/compare.ts); default this build's. */
  readonly main?: string;
}

export function witsArgs(home: string, options: WitsOptions = {}): string[] {
  return ['serve', '--port', String(options.port ?? 0), '--json', '--log-level', options.logLevel ?? 'warn', '--home', home];
}

/** `wits serve --port 0 --json --log-level warn --home <home>`; resolves once it printed its facts. */
export async function startWits(name: string, home: string, options: WitsOptions = {}): Promise<Child> {
  return startChild(name, options.main ?? WITS_MAIN, witsArgs(home, options), {
    env: { WITS_HOME: '', ...options.env },
    ...(options.nodeFlags === undefined ? {} : { nodeFlags: options.nodeFlags }),
  });
}

export function witsUrl(c: Child): string {
  return c.info.url as string;
}

export interface Reply {
  readonly status: number;
  readonly body: string;
  readonly headers: Record<string, string | string[] | undefined>;
}

/** One HTTP request on a fresh connection. */
export function httpCall(url: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

export async function admin<T>(c: Child, home: string, method: string, path: string, body?: unknown): Promise<T> {
  const token = readFileSync(join(home, 'admin-token'), 'utf8').trim();
  const reply = await httpCall(witsUrl(c) + path, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (reply.status >= 300) throw new Error(`admin ${method} ${path}: ${reply.status} ${reply.body}`);
  return JSON.parse(reply.body) as T;
}

export async function createSession(c: Child, home: string, workspace = 'default'): Promise<string> {
  return (await admin<{ secret: string }>(c, home, 'POST', '/admin/sessions', { workspace })).secret;
}

/** A token request on the App Service endpoint; throws unless it is a 200. */
export async function token(c: Child, secret: string, resource: string): Promise<Reply> {
  const reply = await httpCall(witsUrl(c) + APP_SERVICE + encodeURIComponent(resource), { headers: { 'x-identity-header': secret } });
  if (reply.status !== 200) throw new Error(`token for ${resource}: ${reply.status} ${reply.body}`);
  return reply;
}

/** Seeds `sessions` sessions into a home (a separate process, before the server starts). */
export async function seed(home: string, sessions: number, keep: number): Promise<{ ms: number; secrets: string[] }> {
  const c = await startChild('seed', child('seed'), [JSON.stringify({ home, sessions, keep })], { readyTimeoutMs: 300_000 });
  await c.exited();
  return c.info as unknown as { ms: number; secrets: string[] };
}
