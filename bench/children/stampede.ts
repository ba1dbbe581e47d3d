/**
 * The stampede client: `n` requests at the same instant for one cold (identity, resource).
 *
 * It first opens `n` keep-alive connections (in batches, so the server's listen backlog is never the
 * story), then writes all `n` token requests in one tick and times each until its full response.
 * Plain sockets with a minimal HTTP/1.1 reader: no client-side pool or queue can serialise the burst.
 * argv[2]: JSON { url, path, headers, n }. Prints one JSON result line.
 */
import { connect, type Socket } from 'node:net';
import { percentileOfSorted } from '../lib/stats.js';

interface Job {
  readonly url: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly n: number;
}

const job = JSON.parse(process.argv[2] as string) as Job;
const target = new URL(job.url);
const port = Number(target.port);

function open(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: target.hostname, port, noDelay: true });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

interface Outcome {
  readonly status: number;
  readonly ms: number;
}

/** Sends one request on `socket` and resolves with the status once the whole body has arrived. */
function exchange(socket: Socket, request: string, started: number): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    let buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const end = buffer.indexOf('\r\n\r\n');
      if (end === -1) return;
      const head = buffer.subarray(0, end).toString('latin1');
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      if (buffer.length < end + 4 + length) return;
      socket.off('data', onData);
      resolve({ status: Number(head.slice(9, 12)), ms: performance.now() - started });
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write(request);
  });
}

async function main(): Promise<void> {
  const sockets: Socket[] = [];
  const connectStarted = performance.now();
  for (let i = 0; i < job.n; i += 100) {
    sockets.push(...(await Promise.all(Array.from({ length: Math.min(100, job.n - i) }, open))));
  }
  const connectMs = performance.now() - connectStarted;
  const head = Object.entries({ host: target.host, ...job.headers })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  const request = `GET ${job.path} HTTP/1.1\r\n${head}\r\n`;
  const started = performance.now();
  const outcomes = await Promise.all(sockets.map((s) => exchange(s, request, started).catch(() => ({ status: 0, ms: performance.now() - started }))));
  const wallMs = performance.now() - started;
  for (const s of sockets) s.destroy();
  const statuses: Record<string, number> = {};
  for (const o of outcomes) statuses[o.status] = (statuses[o.status] ?? 0) + 1;
  const ok = outcomes.filter((o) => o.status === 200);
  const sorted = Float64Array.from(ok.map((o) => o.ms)).sort();
  process.stdout.write(
    JSON.stringify({
      n: job.n,
      ok: ok.length,
      statuses,
      connectMs,
      wallMs,
      p50: percentileOfSorted(sorted, 50),
      p99: percentileOfSorted(sorted, 99),
      max: percentileOfSorted(sorted, 100),
    }) + '\n',
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stdout.write(JSON.stringify({ error: (err as Error).message }) + '\n');
    process.exit(1);
  },
);
