/**
 * The load generator: a long-lived child process running autocannon (programmatic API). It reads
 * one JSON job per stdin line and prints one JSON result per stdout line, so the servers under test
 * and the load never share a process, and the A/B alternation does not pay a process start per run.
 *
 * Latencies are recorded here from autocannon's per-response event (float milliseconds): its own
 * histogram keeps whole milliseconds, too coarse for sub-millisecond cache hits.
 */
import autocannon from 'autocannon';
import { createInterface } from 'node:readline';
import { paced } from '../lib/paced.js';
import { percentileOfSorted } from '../lib/stats.js';

export interface LoadJob {
  readonly id: number;
  readonly url: string;
  readonly connections: number;
  /** Seconds; ignored when `amount` is set. */
  readonly duration?: number;
  readonly amount?: number;
  /** A paced load at this many requests per second over all connections (lib/paced.ts, not autocannon); default: as fast as answered. */
  readonly rate?: number;
  readonly method?: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  /** Each request gets `path + uniqueSuffix + n` (n = 0, 1, ...): a cold key every time. */
  readonly unique?: boolean;
  /** Rotates a header through these values, request by request. */
  readonly rotateHeader?: { readonly name: string; readonly values: readonly string[] };
  /** Rotates `path + value` through these suffixes, request by request. */
  readonly rotatePathSuffixes?: readonly string[];
}

export interface LoadResult {
  readonly id: number;
  readonly ok: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly elapsedMs: number;
  readonly rps: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly statuses: Record<string, number>;
}

async function runPaced(job: LoadJob & { rate: number }): Promise<LoadResult> {
  const out = await paced({ ...job, duration: job.duration ?? 5 });
  const sorted = out.latencies.sort();
  const non2xx = Object.entries(out.statuses).reduce((n, [status, c]) => (status.startsWith('2') ? n : n + c), 0);
  return {
    id: job.id,
    ok: sorted.length,
    non2xx,
    errors: out.errors,
    elapsedMs: out.elapsedMs,
    rps: sorted.length / (out.elapsedMs / 1000),
    p50: percentileOfSorted(sorted, 50),
    p90: percentileOfSorted(sorted, 90),
    p99: percentileOfSorted(sorted, 99),
    max: percentileOfSorted(sorted, 100),
    statuses: out.statuses,
  };
}

function run(job: LoadJob): Promise<LoadResult> {
  if (job.rate !== undefined) return runPaced({ ...job, rate: job.rate });
  return new Promise((resolve, reject) => {
    let latencies = new Float64Array(1 << 16);
    let count = 0;
    let non2xx = 0;
    const statuses: Record<string, number> = {};
    let n = 0;
    const rotate = job.rotateHeader;
    const suffixes = job.rotatePathSuffixes;
    const needsSetup = job.unique === true || rotate !== undefined || suffixes !== undefined;
    const request = {
      method: job.method ?? 'GET',
      path: job.path,
      ...(job.headers === undefined ? {} : { headers: job.headers }),
      ...(job.body === undefined ? {} : { body: job.body }),
      ...(needsSetup
        ? {
            setupRequest: (req: { path?: string; headers?: Record<string, string> }) => {
              const i = n++;
              let path = job.path;
              if (job.unique === true) path += i;
              else if (suffixes !== undefined) path += suffixes[i % suffixes.length];
              const headers = rotate === undefined ? req.headers : { ...job.headers, [rotate.name]: rotate.values[i % rotate.values.length] as string };
              return { ...req, path, ...(headers === undefined ? {} : { headers }) };
            },
          }
        : {}),
    };
    const started = performance.now();
    const instance = autocannon(
      {
        url: job.url,
        connections: job.connections,
        ...(job.amount === undefined ? { duration: job.duration ?? 5 } : { amount: job.amount }),
        timeout: 30,
        requests: [request],
      },
      (err, result) => {
        if (err !== null) return reject(err);
        const elapsedMs = performance.now() - started;
        const sorted = latencies.subarray(0, count).sort();
        resolve({
          id: job.id,
          ok: count,
          non2xx,
          errors: result.errors + result.timeouts,
          elapsedMs,
          rps: count / (elapsedMs / 1000),
          p50: percentileOfSorted(sorted, 50),
          p90: percentileOfSorted(sorted, 90),
          p99: percentileOfSorted(sorted, 99),
          max: percentileOfSorted(sorted, 100),
          statuses,
        });
      },
    );
    instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
      statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
      if (statusCode < 200 || statusCode > 299) {
        non2xx += 1;
        return;
      }
      if (count === latencies.length) {
        const bigger = new Float64Array(latencies.length * 2);
        bigger.set(latencies);
        latencies = bigger;
      }
      latencies[count++] = responseTime;
    });
  });
}

// Jobs run one at a time, in the order they arrive.
let queue = Promise.resolve();
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line.trim() === '') return;
  const job = JSON.parse(line) as LoadJob;
  queue = queue.then(
    async () => {
      try {
        process.stdout.write(JSON.stringify(await run(job)) + '\n');
      } catch (err) {
        process.stdout.write(JSON.stringify({ id: job.id, error: (err as Error).message }) + '\n');
      }
    },
  );
});
lines.on('close', () => {
  void queue.then(() => process.exit(0));
});
process.stdout.write(JSON.stringify({ ready: true, pid: process.pid }) + '\n');
