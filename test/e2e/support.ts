/**
 * Shared plumbing of the end-to-end tests: running the real `wits` CLI in child processes, a clean
 * environment for them, and a `wits serve` started per test file. Nothing here imports src/: the
 * tests talk to wits only through its command line and its sockets.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/src/cli/main.js, computed from this file's place in dist/test/e2e/. */
export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** A compiled child program of test/e2e/clients/. */
export function clientScript(name: string): string {
  return fileURLToPath(new URL(`./clients/${name}.js`, import.meta.url));
}

export const COGNITIVE_SERVICES = 'https://cognitiveservices.azure.com';
export const AI_FOUNDRY = 'https://ai.azure.com';
export const RESOURCES = [COGNITIVE_SERVICES, AI_FOUNDRY] as const;

/**
 * Variables that could divert an official client to another credential source (protocols.md
 * section 1), proxies that could swallow loopback requests, and wits' own settings. None of them
 * may leak from the developer's shell into a test.
 */
const DIVERTING = [
  /^AZURE_/,
  /^IDENTITY_/,
  /^MSI_/,
  /^IMDS_/,
  /^WITS_/,
  /^(HTTP|HTTPS|ALL|NO)_PROXY$/i,
  /^NODE_TEST_CONTEXT$/,
  /^MSAL_/,
];

export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!DIVERTING.some((re) => re.test(name))) env[name] = value;
  }
  return { ...env, ...extra };
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `wits-e2e-${prefix}-`));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly timeoutMs?: number;
  /** Called once the process is spawned (to signal it, for instance). */
  readonly onSpawn?: (child: ChildProcess) => void;
}

/** Runs any program to completion, collecting its output; kills it after the timeout. */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env ?? cleanEnv(), cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out after ${options.timeoutMs ?? 30_000} ms: ${command} ${args.join(' ')}\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 30_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    options.onSpawn?.(child);
  });
}

/** `wits ARGS...` with node, as a child process. */
export function wits(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return run(process.execPath, [CLI, ...args], options);
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

export interface ServeFacts {
  readonly url: string;
  readonly issuer: string;
  readonly home: string;
  readonly adminTokenFile: string;
  readonly appServiceEndpoint: string;
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
export function startServe(home: string, extraArgs: readonly string[] = [], timeoutMs = 20_000): Promise<WitsServer> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--json', '--home', home, ...extraArgs], {
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let started = false;
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`wits serve did not start within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.once('exit', (code, signal) => {
      if (!started) {
        clearTimeout(timer);
        reject(new Error(`wits serve exited (${code ?? signal}) before starting\nstdout: ${stdout}\nstderr: ${stderr}`));
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (started) return;
      let facts: ServeFacts;
      try {
        facts = JSON.parse(stdout) as ServeFacts; // --json prints one JSON document at start-up
      } catch {
        return; // not complete yet
      }
      started = true;
      clearTimeout(timer);
      const adminToken = readFileSync(facts.adminTokenFile, 'utf8').trim();
      resolve({
        ...facts,
        adminToken,
        output: () => ({ stdout, stderr }),
        adminEnv: (extra = {}) => cleanEnv({ WITS_URL: facts.url, WITS_ADMIN_TOKEN: adminToken, ...extra }),
        async stop() {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
          child.kill('SIGTERM');
          await exited;
          clearTimeout(killer);
        },
      });
    });
  });
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
