/**
 * The baseline: a bare node:http server answering every request with the same bytes wits sends
 * for a cache hit (status, content-type, content-length, cache-control and the body, read from
 * the file named by argv[2]). Prints `{ "url": ... }` once listening.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const body = readFileSync(process.argv[2] as string);
const headers = {
  'content-type': 'application/json; charset=utf-8',
  'content-length': body.length,
  'cache-control': 'no-store',
};
const server = createServer((_req, res) => {
  res.writeHead(200, headers);
  res.end(body);
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(JSON.stringify({ url: `http://127.0.0.1:${port}` }) + '\n');
});
process.once('SIGTERM', () => process.exit(0));
