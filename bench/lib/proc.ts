/**
 * Child processes for the benchmarks: every server and the load generator run in their own
 * process, started here and stopped here (by their own pid, never by name).
 *
 * A child announces that it is ready by printing one JSON object on a line of its stdout (wits
 * `serve --json` prints its start-up facts; the bench children print `{ "url": ... }`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

/** Repository root (dist/bench/lib/ -> ../../../). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const WITS_MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** Path of a compiled bench child script, e.g. child('bare') -> dist/bench/children/bare.js. */
export function child(name: string): string {
  return fileURLToPath(new URL(`../children/${name}.js`, import.meta.url));
}

/** USER_HZ: 100 on every Linux build node runs on. */
const CLOCK_TICKS = 100;

export interface StartOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly readyTimeoutMs?: number;
  /** Extra node flags (e.g. --cpu-prof). */
  readonly nodeFlags?: readonly string[];
  /** Keep stdin open as a pipe (for the load worker). */
  readonly stdin?: boolean;
}

export class Child {
  readonly proc: ChildProcess;
  readonly name: string;
  /** performance.now() at spawn and when the ready line arrived. */
  readonly spawnedAt: number;
  readyAt = 0;
  info: Record<string, unknown> = {};
  #stderrTail = '';
  #lines: string[] = [];
  #waiters: ((line: string) => void)[] = [];
  #exited: Promise<number | null>;

  constructor(name: string, script: string, args: readonly string[], options: StartOptions = {}) {
    this.name = name;
    this.spawnedAt = performance.now();
    this.proc = spawn(process.execPath, [...(options.nodeFlags ?? []), script, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...options.env },
      stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    this.#exited = new Promise((resolve) => this.proc.once('exit', (code) => resolve(code)));
    let pending = '';
    this.proc.stdout?.setEncoding('utf8');
    this.proc.stdout?.on('data', (chunk: string) => {
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) !== -1) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        const waiter = this.#waiters.shift();
        if (waiter !== undefined) waiter(line);
        else this.#lines.push(line);
      }
    });
    // stderr is drained (a full pipe would block the child) and its tail kept for diagnostics.
    this.proc.stderr?.setEncoding('utf8');
    this.proc.stderr?.on('data', (chunk: string) => {
      this.#stderrTail = (this.#stderrTail + chunk).slice(-4000);
    });
  }

  get pid(): number {
    return this.proc.pid as number;
  }

  get stderrTail(): string {
    return this.#stderrTail;
  }

  /** The next stdout line. */
  nextLine(timeoutMs: number): Promise<string> {
    const queued = this.#lines.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(onLine), 1);
        reject(new Error(`${this.name}: no output within ${timeoutMs} ms; stderr: ${this.#stderrTail}`));
      }, timeoutMs);
      const onLine = (line: string) => {
        clearTimeout(timer);
        resolve(line);
      };
      this.#waiters.push(onLine);
      void this.#exited.then((code) => {
        if (this.#waiters.includes(onLine)) {
          clearTimeout(timer);
          this.#waiters.splice(this.#waiters.indexOf(onLine), 1);
          reject(new Error(`${this.name} exited (${code}) before answering; stderr: ${this.#stderrTail}`));
        }
      });
    });
  }

  /** The next JSON object on stdout: one line, or several (`wits serve --json` pretty-prints). */
  async nextJson<T = Record<string, unknown>>(timeoutMs: number): Promise<T> {
    const deadline = performance.now() + timeoutMs;
    const next = () => this.nextLine(Math.max(1, deadline - performance.now()));
    for (;;) {
      let text = await next();
      if (!text.trimStart().startsWith('{')) continue;
      for (;;) {
        try {
          return JSON.parse(text) as T;
        } catch {
          text += '\n' + (await next());
        }
      }
    }
  }

  send(message: unknown): void {
    this.proc.stdin?.write(JSON.stringify(message) + '\n');
  }

  /** Resident set size in bytes, from /proc/<pid>/status (VmRSS). */
  rss(): number {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
    return kb === undefined ? NaN : Number(kb) * 1024;
  }

  /** User + system CPU time used so far, in ms (/proc/<pid>/stat; clock ticks of 10 ms). */
  cpuMs(): number {
    const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  }

  /** SIGTERM (SIGINT for wits: `serve` stops cleanly on both), then SIGKILL after a grace period. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill(signal);
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    await this.#exited;
    clearTimeout(timer);
  }

  exited(): Promise<number | null> {
    return this.#exited;
  }
}

/** Starts a child and waits for its ready line (the first JSON object on stdout). */
export async function startChild(name: string, script: string, args: readonly string[], options: StartOptions = {}): Promise<Child> {
  const c = new Child(name, script, args, options);
  try {
    c.info = await c.nextJson(options.readyTimeoutMs ?? 30_000);
    c.readyAt = performance.now();
  } catch (err) {
    await c.stop('SIGKILL');
    throw err;
  }
  return c;
}

/** A free loopback port (for runs that must know the port before the server prints it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
