/** The worker of walCheckpointer.ts: its own connection, a PASSIVE checkpoint every interval. */
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';

const { path, synchronous, intervalMs } = workerData as { path: string; synchronous: 'NORMAL' | 'FULL'; intervalMs: number };
const db = new Database(path);
db.pragma('busy_timeout = 5000');
// The checkpointing connection's setting decides the checkpoint's fsyncs: the same as the server's.
db.pragma(`synchronous = ${synchronous}`);
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
// An error escapes as the worker's 'error' event: the server then checkpoints by itself again.
const timer = setInterval(() => checkpoint.get(), intervalMs);
parentPort?.on('message', (message) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  db.close();
  parentPort?.close();
});
