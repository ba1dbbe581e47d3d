/**
 * A paced (open-loop) load: requests at a fixed rate, evenly spread, over a fixed set of keep-alive
 * connections, for latency at a given offered load. autocannon's `overallRate` cannot do this: it
 * sends each second's quota as fast as it can at the start of the second, a burst that measures
 * saturation again.
 *
 * Each due request goes out on an idle connection at the next timer tick; when none is idle it
 * waits, and its latency counts from the tick at which it was due (the wait is the server's:
 * no coordinated omission), while the timer's own granularity is not charged to the server.
 * Plain sockets with a minimal HTTP/1.1 reader (responses must carry content-length).
 */
import { connect, type Socket } from 'node:net';

export interface PacedJob {
  readonly url: string;
  readonly connections: number;
  readonly rate: number;
  /** Seconds. */
  readonly duration: number;
  readonly method?: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

export interface PacedOutcome {
  readonly latencies: Float64Array;
  readonly statuses: Record<string, number>;
  readonly errors: number;
  readonly elapsedMs: number;
}

interface Conn {
  readonly socket: Socket;
  buffer: Buffer;
  started: number;
  busy: boolean;
}

export async function paced(job: PacedJob): Promise<PacedOutcome> {
  const target = new URL(job.url);
  const body = job.body ?? '';
  const headers = { host: target.host, ...job.headers, ...(body === '' ? {} : { 'content-length': String(Buffer.byteLength(body)) }) };
  const request = Buffer.from(
    `${job.method ?? 'GET'} ${job.path} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${body}`,
  );
  const statuses: Record<string, number> = {};
  let latencies = new Float64Array(1 << 16);
  let count = 0;
  let errors = 0;
  const idle: Conn[] = [];
  /** Start times (the tick at which each was due) of requests waiting for a connection. */
  const backlog: number[] = [];
  let inFlight = 0;
  let onDrained: (() => void) | undefined;

  const record = (status: number, ms: number): void => {
    statuses[status] = (statuses[status] ?? 0) + 1;
    if (status < 200 || status > 299) return;
    if (count === latencies.length) {
      const bigger = new Float64Array(latencies.length * 2);
      bigger.set(latencies);
      latencies = bigger;
    }
    latencies[count++] = ms;
  };

  const send = (conn: Conn, started: number): void => {
    conn.busy = true;
    conn.started = started;
    inFlight += 1;
    conn.socket.write(request);
  };

  const release = (conn: Conn): void => {
    conn.busy = false;
    inFlight -= 1;
    const waiting = backlog.shift();
    if (waiting !== undefined) send(conn, waiting);
    else idle.push(conn);
    if (inFlight === 0 && backlog.length === 0) onDrained?.();
  };

  const open = (): Promise<Conn> =>
    new Promise((resolve, reject) => {
      const socket = connect({ host: target.hostname, port: Number(target.port), noDelay: true });
      const conn: Conn = { socket, buffer: Buffer.alloc(0), started: 0, busy: false };
      socket.once('connect', () => resolve(conn));
      socket.once('error', reject);
      socket.on('data', (chunk: Buffer) => {
        conn.buffer = conn.buffer.length === 0 ? chunk : Buffer.concat([conn.buffer, chunk]);
        for (;;) {
          const end = conn.buffer.indexOf('\r\n\r\n');
          if (end === -1) return;
          const head = conn.buffer.subarray(0, end).toString('latin1');
          const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
          if (conn.buffer.length < end + 4 + length) return;
          conn.buffer = conn.buffer.subarray(end + 4 + length);
          record(Number(head.slice(9, 12)), performance.now() - conn.started);
          release(conn);
        }
      });
    });

  const conns: Conn[] = [];
  for (let i = 0; i < job.connections; i += 100) {
    conns.push(...(await Promise.all(Array.from({ length: Math.min(100, job.connections - i) }, open))));
  }
  for (const c of conns) {
    c.socket.on('error', () => {
      errors += 1;
    });
    idle.push(c);
  }

  const intervalMs = 1000 / job.rate;
  const total = Math.round(job.rate * job.duration);
  const start = performance.now();
  let issued = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      while (issued < total && start + issued * intervalMs <= now) {
        issued += 1;
        const conn = idle.pop();
        if (conn === undefined) backlog.push(now);
        else send(conn, now);
      }
      if (issued < total) setTimeout(tick, Math.max(0, Math.min(1, start + issued * intervalMs - performance.now())));
      else resolve();
    };
    tick();
  });
  if (inFlight > 0 || backlog.length > 0) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 30_000);
      onDrained = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
  const elapsedMs = performance.now() - start;
  for (const c of conns) c.socket.destroy();
  return { latencies: latencies.subarray(0, count), statuses, errors: errors + backlog.length + inFlight, elapsedMs };
}
