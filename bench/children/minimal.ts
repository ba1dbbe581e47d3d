/**
 * A bound, not a product: the least a token endpoint can do on a cache hit, on node:http. It
 * answers `GET /msi/token?resource=...` with the bytes of a wits cache hit (the file argv[2]) for the resource argv[3] after
 * the checks no token service can skip: parse the query, read X-IDENTITY-HEADER, split the secret,
 * SHA-256 it and compare in constant time against a stored hash, look the session and the cached
 * token up in maps. What it leaves out is what wits guarantees on top: the audit row written before
 * the response, the revocation check against other processes' commits, policy, identity selection
 * and the per-request response fields. Its ratio to bare node:http (section 1) shows how much of the
 * gap any implementation pays. Prints `{ "url": ... }` once listening.
 */
import { hash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const body = readFileSync(process.argv[2] as string);
// The session secret comes in the environment, not argv (which `ps` shows).
const secret = process.env.BENCH_SESSION_SECRET ?? '';
const resource = process.argv[3] as string;
const SHAPE = /^wits\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;
const [, sessionId = '', part = ''] = SHAPE.exec(secret) ?? [];
// Only the hash is kept, as in wits.
const sessions = new Map([[sessionId, { secretHash: hash('sha256', part, 'buffer') as unknown as Buffer, revokedAt: null, expiresAt: Date.now() + 86_400_000 }]]);
const tokens = new Map([[resource, body]]);
const headers = { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length, 'cache-control': 'no-store' };
const fail = (res: import('node:http').ServerResponse, status: number) => res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end('{"error":"invalid_request"}');

const server = createServer((req, res) => {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  if ((q === -1 ? url : url.slice(0, q)) !== '/msi/token' || req.method !== 'GET') return fail(res, 404);
  const params = new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
  const presented = req.headers['x-identity-header'];
  const match = typeof presented === 'string' ? SHAPE.exec(presented) : null;
  const session = match === null ? undefined : sessions.get(match[1] as string);
  if (match === null || session === undefined || !timingSafeEqual(session.secretHash, hash('sha256', match[2] as string, 'buffer') as unknown as Buffer)) return fail(res, 401);
  if (session.revokedAt !== null || session.expiresAt <= Date.now()) return fail(res, 401);
  const token = tokens.get(params.get('resource') ?? '');
  if (token === undefined) return fail(res, 400);
  res.writeHead(200, headers);
  res.end(token);
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(JSON.stringify({ url: `http://127.0.0.1:${port}` }) + '\n');
});
process.once('SIGTERM', () => process.exit(0));
