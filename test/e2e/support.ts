/**
 * Shared plumbing of the end-to-end tests: running the real `wits` CLI in child processes, a clean
 * environment for them, and a `wits serve` started per test file. Nothing here imports src/: the
 * tests talk to wits only through its command line and its sockets.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI, cleanEnv, run, spawnServe, wits, type RunOptions, type RunResult, type ServeFacts } from '../support/witsProcess.js';

export { CLI, cleanEnv, run, wits, type RunOptions, type RunResult };


/** A compiled child program of test/e2e/clients/. */
export function clientScript(name: string): string {
  return fileURLToPath(new URL(`./clients/${name}.js`, import.meta.url));
}

export const COGNITIVE_SERVICES = 'https://cognitiveservices.azure.com';
export const AI_FOUNDRY = 'https://ai.azure.com';
export const RESOURCES = [COGNITIVE_SERVICES, AI_FOUNDRY] as const;


export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `wits-e2e-${prefix}-`));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}





/** Like wits(), but fails with the whole output unless the exit code is 0. */
export async function witsOk(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const result = await wits(args, options);
  if (result.code !== 0) {
    throw new Error(`wits ${args.join(' ')} exited ${result.code ?? result.signal}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  }
  return result;
}

/** The last non-empty stdout line parsed as JSON (the child programs print exactly one). */
export function lastJsonLine<T>(result: RunResult): T {
  const lines = result.stdout.split('\n').filter((l) => l.trim() !== '');
  const last = lines.at(-1);
  if (last === undefined) throw new Error(`no output\nstderr: ${result.stderr}`);
  try {
    return JSON.parse(last) as T;
  } catch {
    throw new Error(`not a JSON line: ${last}\nstderr: ${result.stderr}`);
  }
}


export interface WitsServer extends ServeFacts {
  readonly adminToken: string;
  /** Everything the server wrote so far. */
  output(): { stdout: string; stderr: string };
  /** Environment for admin commands against this server (WITS_URL + WITS_ADMIN_TOKEN). */
  adminEnv(extra?: Record<string, string>): NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

/** Starts `wits serve --port 0 --json` on a state directory and waits for its start-up facts. */
export async function startServe(home: string, extraArgs: readonly string[] = [], timeoutMs = 20_000): Promise<WitsServer> {
  const child = await spawnServe(['--home', home, ...extraArgs], cleanEnv(), timeoutMs);
  const adminToken = child.adminToken;
  return {
    ...child.facts,
    adminToken,
    output: () => child.output(),
    adminEnv: (extra = {}) => cleanEnv({ WITS_URL: child.facts.url, WITS_ADMIN_TOKEN: adminToken, ...extra }),
    async stop() {
      await child.kill('SIGTERM');
    },
  };
}

/** What the child programs of clients/ print: one JSON line. */
export interface ClientTokens {
  readonly client: string;
  /** msal-node's view of the environment (`AppService`, `DefaultToImds`, ...), when the client has one. */
  readonly source?: string;
  readonly tokens: ReadonlyArray<{ readonly resource: string; readonly token: string; readonly expiresOnMs: number }>;
  /** Only with --verify: the claims the child's own strict verification accepted. */
  readonly verified?: ReadonlyArray<{ readonly resource: string; readonly claims: Record<string, unknown> }>;
  readonly identityEndpoint?: string;
  readonly identityHeader?: string;
}
