/**
 * Fixtures of the client SDK tests: an in-process wits server with a temp home, `wits exec` runs of
 * compiled child scripts, a scripted fake token endpoint, and crafted JWTs.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import type { CreatedSession } from '../../src/admin/adminOps.js';
import { loadConfig, type ConfigOverrides } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import { startServer, type RunningServer } from '../../src/server.js';

/** The repository root (this file runs as dist/test/client/support.js). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const CLI = join(REPO_ROOT, 'dist/src/cli/main.js');

export function childScript(name: string): string {
  return join(REPO_ROOT, 'dist/test/client/children', `${name}.js`);
}

export interface TestWits {
  readonly url: string;
  readonly home: string;
  readonly server: RunningServer;
  /** A fresh session of the default workspace. */
  session(input?: { audiences?: string[]; ttlSeconds?: number }): Promise<CreatedSession>;
  /** Tenant of the default workspace's system identity (the `tid` of its tokens). */
  tenantId(): Promise<string>;
  /** Audit rows of one session, oldest first. */
  auditOf(sessionId: string): Promise<Array<{ outcome: string; audience: string | null; code: string | null; protocol: string }>>;
  close(): Promise<void>;
}

/** Starts wits in-process on a loopback port with a temp home and a silent log. */
export async function startWits(flags: ConfigOverrides = {}): Promise<TestWits> {
  const home = mkdtempSync(join(tmpdir(), 'wits-client-test-'));
  const config = loadConfig({ flags: { home, host: '127.0.0.1', port: 0, logLevel: 'silent', ...flags }, env: {}, readFile: false });
  const server = await startServer(config, silentLogger);
  return {
    url: server.url,
    home,
    server,
    session: (input = {}) => server.app.admin.createSession({ workspace: 'default', labels: { test: 'client' }, ...input }),
    tenantId: async () => {
      const workspace = await server.app.admin.getWorkspace('default');
      const identity = workspace.identities.find((i) => i.kind === 'system') ?? workspace.identities[0];
      if (identity === undefined) throw new Error('the default workspace has no identity');
      return identity.tenantId;
    },
    auditOf: async (sessionId) => {
      const rows = await server.app.admin.listAudit({ limit: 10_000 });
      return rows.filter((r) => r.sessionId === sessionId).sort((a, b) => a.id - b.id);
    },
    close: async () => {
      await server.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a process to completion (killed after `timeoutMs`). */
export function run(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd ?? REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/** The environment of the test process without any variable that would pick a token endpoint. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['IDENTITY_ENDPOINT', 'IDENTITY_HEADER', 'IMDS_ENDPOINT', 'MSI_ENDPOINT', 'MSI_SECRET', 'AZURE_POD_IDENTITY_AUTHORITY_HOST', 'WITS_URL', 'WITS_HOME', 'WITS_ADMIN_TOKEN']) {
    delete env[name];
  }
  return { ...env, ...extra };
}

/**
 * `wits exec [execArgs] -- node <child>`; the child prints one JSON line (its result) last on
 * stdout, which is parsed.
 */
export async function execChild(child: string, options: { execArgs?: string[]; env?: Record<string, string>; home: string }): Promise<RunResult & { json: any }> {
  const result = await run(process.execPath, [CLI, 'exec', '--home', options.home, ...(options.execArgs ?? []), '--', process.execPath, childScript(child)], {
    env: cleanEnv(options.env),
  });
  const last = result.stdout.trim().split('\n').pop() ?? '';
  let json: unknown;
  try {
    json = JSON.parse(last);
  } catch {
    json = undefined;
  }
  if (result.code !== 0 || json === undefined) {
    throw new Error(`wits exec ${child} exited ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  }
  return { ...result, json };
}

/** Verifies a token independently of the SDK (jose + the server's discovery + JWKS). */
export async function verifyIndependently(token: string, serverUrl: string, audience: string): Promise<JWTPayload> {
  const discovery = (await (await fetch(`${serverUrl}/.well-known/openid-configuration`)).json()) as { issuer: string; jwks_uri: string };
  const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(discovery.jwks_uri)), {
    issuer: discovery.issuer,
    audience,
    requiredClaims: ['exp', 'iat', 'nbf'],
  });
  return payload;
}

// ------------------------------------------------------------------------------ scripted endpoint

export interface RecordedRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

export type Script = (req: RecordedRequest, index: number) => { status: number; body?: unknown; headers?: Record<string, string>; delayMs?: number } | 'hang' | 'reset';

/** A fake token endpoint whose answers a test scripts; it records every request. */
export interface FakeEndpoint {
  readonly url: string;
  readonly requests: RecordedRequest[];
  script: Script;
  close(): Promise<void>;
}

export async function startFakeEndpoint(script: Script): Promise<FakeEndpoint> {
  const requests: RecordedRequest[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const fake: FakeEndpoint = {
    url: '',
    requests,
    script,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const recorded: RecordedRequest = { method: req.method ?? '', url: new URL(req.url ?? '/', 'http://localhost'), headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(recorded);
      const answer = fake.script(recorded, requests.length - 1);
      if (answer === 'hang') return;
      if (answer === 'reset') {
        req.socket.destroy();
        return;
      }
      const send = (): void => {
        const text = answer.body === undefined ? '' : typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
        res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
        res.end(text);
      };
      if (answer.delayMs) setTimeout(send, answer.delayMs);
      else send();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  (fake as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}

// ----------------------------------------------------------------------------------- crafted JWTs

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** An unsigned-looking JWT with the given claims (its signature is not valid for any key). */
export function craftJwt(claims: Record<string, unknown>, header: Record<string, unknown> = { alg: 'RS256', typ: 'JWT', kid: 'none' }): string {
  return `${b64(header)}.${b64(claims)}.${Buffer.from('not-a-signature').toString('base64url')}`;
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** A token response as wits sends it, for a crafted token valid for `lifetimeSeconds`. */
export function tokenResponse(options: { resource?: string; lifetimeSeconds?: number; issuedAgoSeconds?: number; refreshIn?: number; aud?: string } = {}): Record<string, string> {
  const now = nowSeconds();
  const iat = now - (options.issuedAgoSeconds ?? 0);
  const exp = iat + (options.lifetimeSeconds ?? 3600);
  const aud = options.aud ?? 'https://storage.azure.com';
  const token = craftJwt({ aud, iss: 'http://wits.test', iat, nbf: iat, exp, jti: Math.random().toString(36).slice(2) });
  const body: Record<string, string> = {
    access_token: token,
    expires_in: String(exp - now),
    expires_on: String(exp),
    not_before: String(iat),
    resource: options.resource ?? aud,
    token_type: 'Bearer',
    client_id: '00000000-0000-0000-0000-0000000000c1',
  };
  if (options.refreshIn !== undefined) body.refresh_in = String(options.refreshIn);
  return body;
}
