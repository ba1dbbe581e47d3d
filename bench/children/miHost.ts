/**
 * A counting stand-in for the host's managed-identity endpoint (App Service protocol, as in
 * test/sources/standIns.ts): GET /msi/token?api-version=2019-08-01&resource=... with
 * X-IDENTITY-HEADER, answered after `delayMs` (argv[2], default 75) like a real upstream call.
 * GET /calls?resource=R reports how many token calls it has had for R (and in total).
 * The token is JWT-shaped (wits reads `uti` and `exp` from it) with a dummy signature: wits does
 * not verify upstream tokens, and signing here would only slow the stand-in down.
 * Prints `{ "url", "identityHeader" }` once listening.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const delayMs = Number(process.argv[2] ?? 75);
const identityHeader = randomBytes(24).toString('base64url');
const calls = new Map<string, number>();
let total = 0;

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://stand-in');
  if (url.pathname === '/calls') return send(res, 200, { count: calls.get(url.searchParams.get('resource') ?? '') ?? 0, total });
  if (url.pathname !== '/msi/token') return send(res, 404, { error: 'not_found' });
  if (req.headers['x-identity-header'] !== identityHeader) return send(res, 401, { statusCode: 401, message: 'X-IDENTITY-HEADER missing or wrong' });
  if (url.searchParams.get('api-version') !== '2019-08-01') return send(res, 400, { statusCode: 400, message: 'api-version must be 2019-08-01' });
  const resource = url.searchParams.get('resource');
  if (resource === null) return send(res, 400, { statusCode: 400, message: 'resource is required' });
  total += 1;
  calls.set(resource, (calls.get(resource) ?? 0) + 1);
  setTimeout(() => {
    const iat = Math.floor(Date.now() / 1000);
    const exp = iat + 3600;
    const uti = randomBytes(16).toString('base64url');
    const token = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64({ aud: resource, iat, nbf: iat, exp, uti, tid: 'bench' })}.${randomBytes(32).toString('base64url')}`;
    send(res, 200, { access_token: token, expires_on: String(exp), resource, token_type: 'Bearer', client_id: 'bench-host' });
  }, delayMs);
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(JSON.stringify({ url: `http://127.0.0.1:${port}`, identityHeader }) + '\n');
});
process.once('SIGTERM', () => process.exit(0));
