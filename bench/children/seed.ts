/**
 * Seeds a wits home with live sessions before the server starts, through the same AdminService
 * and SqliteStore the CLI uses on a local home (every session a real row: hashed secret, labels,
 * 12 h expiry). argv[2]: JSON { home, sessions, keep }. Prints `{ "ms", "secrets": [first `keep`] }`.
 */
import { openAdmin } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';

interface Job {
  readonly home: string;
  readonly sessions: number;
  readonly keep: number;
}

const job = JSON.parse(process.argv[2] as string) as Job;
const started = performance.now();
const { store, admin } = await openAdmin(loadConfig({ flags: { home: job.home }, env: {}, readFile: false }));
const secrets: string[] = [];
for (let i = 0; i < job.sessions; i++) {
  const created = await admin.createSession({ workspace: 'default', labels: { job: `bench-${i % 1000}` } });
  if (i < job.keep) secrets.push(created.secret);
}
await store.close();
process.stdout.write(JSON.stringify({ ms: performance.now() - started, secrets }) + '\n');
