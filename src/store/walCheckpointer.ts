/**
 * WAL checkpoints on a worker thread, for the server's store (issue 5, docs/benchmarks.md).
 *
 * SQLite's automatic checkpoint runs inside the commit that crosses 1,000 WAL pages, on the thread
 * that commits: for the server that is the event loop, which then stalls for the checkpoint's page
 * copies and fsyncs (several milliseconds, every few hundred audit commits), and every request in
 * flight waits: it was most of the cache-hit p99 at moderate load. Here the server's connection
 * turns the automatic checkpoint off and a second connection, on a worker thread, runs a PASSIVE
 * checkpoint (it never waits for readers or writers) every `intervalMs`. Durability is unchanged: a
 * commit is durable once in the WAL; checkpoints only move pages into the database file.
 *
 * If the worker fails, the server's connection gets its automatic checkpoint back, so the WAL
 * never grows without bound.
 */
import { Worker } from 'node:worker_threads';

export interface WalCheckpointer {
  stop(): Promise<void>;
}

const WORKER = new URL('./walCheckpointWorker.js', import.meta.url);

export function startWalCheckpointer(path: string, synchronous: 'NORMAL' | 'FULL', intervalMs: number, onFailure: (err: unknown) => void): WalCheckpointer {
  const worker = new Worker(WORKER, { workerData: { path, synchronous, intervalMs } });
  // Never keeps the process alive; stop() ends it cleanly when the store closes.
  worker.unref();
  let stopping = false;
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.on('error', (err) => {
    if (!stopping) onFailure(err);
  });
  worker.on('exit', (code) => {
    if (!stopping) onFailure(new Error(`WAL checkpoint worker exited (${code})`));
  });
  return {
    async stop() {
      if (stopping) return exited;
      stopping = true;
      worker.postMessage('stop');
      const timer = setTimeout(() => void worker.terminate(), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
