/**
 * The compiled `wits` CLI as a child process, for the tests that run the real thing: a clean
 * environment, and `wits serve --json` started and waited for until it prints its start-up facts.
 * The harnesses of test/e2e, test/sources and test/reliability build their own views on this.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** dist/src/cli/main.js, from this file's place in dist/test/support/. */
export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/**
 * Variables that could divert an official client, MSAL or wits to another credential source or
 * authority (protocols.md section 1), proxies that could swallow loopback requests, wits' own
 * settings and Node options. None of them may leak from the developer's shell into a test.
 */
const DIVERTING = [
  /^AZURE_/,
  /^IDENTITY_/,
  /^MSI_/,
  /^IMDS_/,
  /^WITS_/,
  /^MSAL_/,
  /^(HTTP|HTTPS|ALL|NO)_PROXY$/i,
  /^NODE_TEST_CONTEXT$/,
  /^NODE_EXTRA_CA_CERTS$/,
  /^NODE_OPTIONS$/,
];

/** This process's environment without the diverting variables, plus `extra`. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!DIVERTING.some((re) => re.test(name))) env[name] = value;
  return { ...env, ...extra };
}

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Wall time from spawn to exit. */
  readonly ms: number;
}

export interface RunOptions {
  /** Default: cleanEnv(). */
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Default 30 s; then the program is killed and the promise rejects with its output. */
  readonly timeoutMs?: number;
  /** Called once the process is spawned (to signal it, for instance). */
  readonly onSpawn?: (child: ChildProcess) => void;
}

/** Runs any program to completion, collecting its output; kills it after the timeout. */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const started = Date.now();
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env ?? cleanEnv(), cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out after ${timeoutMs} ms: ${command} ${args.join(' ')}\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
    options.onSpawn?.(child);
  });
}

/** `wits ARGS...` (the compiled CLI) with node, to completion. */
export function wits(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return run(process.execPath, [CLI, ...args], options);
}

/** What `wits serve --json` prints once it listens. */
export interface ServeFacts {
  readonly url: string;
  readonly issuer: string;
  readonly home: string;
  readonly adminTokenFile: string;
  readonly appServiceEndpoint: string;
}

export type Exit = { code: number | null; signal: NodeJS.Signals | null };

export interface ServeChild {
  readonly facts: ServeFacts;
  readonly adminToken: string;
  readonly pid: number;
  /** Everything the process wrote so far (facts on stdout, log lines on stderr). */
  output(): { stdout: string; stderr: string };
  /** Sends the signal and waits for the exit (at once if it has exited); escalates to SIGKILL after `graceMs`. */
  kill(signal: NodeJS.Signals, graceMs?: number): Promise<Exit>;
}

/**
 * Runs `wits serve --port 0 --json ...args` and resolves with its start-up facts; rejects with its
 * output if it exits or has not started within `timeoutMs`. Should the test process end without
 * its after() hooks, the server is killed with it.
 */
export function spawnServe(args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<ServeChild> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--json', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let started = false;
    const killOnExit = (): void => {
      child.kill('SIGKILL');
    };
    process.once('exit', killOnExit);
    const exited = new Promise<Exit>((done) =>
      child.once('exit', (code, signal) => {
        process.off('exit', killOnExit);
        done({ code, signal });
      }),
    );
    const failure = (what: string) => new Error(`wits serve ${what}\nstdout: ${stdout}\nstderr: ${stderr.slice(-2000)}`);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(failure(`did not start within ${timeoutMs} ms`));
    }, timeoutMs);
    void exited.then(({ code, signal }) => {
      if (started) return;
      clearTimeout(timer);
      reject(failure(`exited (${code ?? signal}) before starting`));
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
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
      resolve({
        facts,
        adminToken: readFileSync(facts.adminTokenFile, 'utf8').trim(),
        pid: child.pid ?? -1,
        output: () => ({ stdout, stderr }),
        async kill(signal, graceMs = 5_000) {
          if (child.exitCode !== null || child.signalCode !== null) return exited;
          const escalate = signal === 'SIGKILL' ? undefined : setTimeout(() => child.kill('SIGKILL'), graceMs);
          child.kill(signal);
          const result = await exited;
          clearTimeout(escalate);
          return result;
        },
      });
    });
  });
}
