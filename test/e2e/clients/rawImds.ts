/**
 * Child program: raw HTTP against the IMDS endpoint `wits exec --imds` gives it
 * (AZURE_POD_IDENTITY_AUTHORITY_HOST), byte for byte the way the different clients send it.
 * Request targets are written verbatim (node:http does not re-encode a path string), so the
 * Python-style unencoded `resource=https://ai.azure.com` really goes out unencoded.
 *
 * Prints one JSON line: { host, results: [{ name, status, contentType, body }] }, where body is the
 * parsed JSON (or { unparsed: text } when the answer was not JSON).
 */
import { request } from 'node:http';

const host = process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST;
if (host === undefined) throw new Error('AZURE_POD_IDENTITY_AUTHORITY_HOST is not set: run under `wits exec --imds`');
const base = new URL(host);

interface Case {
  readonly name: string;
  readonly method: string;
  readonly target: string;
  readonly headers: Record<string, string>;
}

const PATH = '/metadata/identity/oauth2/token';
const CASES: readonly Case[] = [
  // DefaultAzureCredential's availability probe: same path, no Metadata header, no query.
  { name: 'probe', method: 'GET', target: PATH, headers: {} },
  { name: 'no-metadata-with-query', method: 'GET', target: `${PATH}?api-version=2018-02-01&resource=https%3A%2F%2Fcognitiveservices.azure.com`, headers: {} },
  { name: 'canonical', method: 'GET', target: `${PATH}?api-version=2018-02-01&resource=https%3A%2F%2Fcognitiveservices.azure.com`, headers: { Metadata: 'true' } },
  // msal-node: the whole URL lower-cased (so are the percent escapes) and a trailing slash.
  { name: 'msal-lowercased-trailing-slash', method: 'GET', target: `${PATH}/?api-version=2018-02-01&resource=https%3a%2f%2fai.azure.com`, headers: { metadata: 'true' } },
  { name: 'trailing-slash', method: 'GET', target: `${PATH}/?api-version=2018-02-01&resource=https%3A%2F%2Fcognitiveservices.azure.com`, headers: { Metadata: 'true' } },
  // Python azure-identity leaves ':' and '/' unencoded in the query.
  { name: 'python-unencoded', method: 'GET', target: `${PATH}?api-version=2018-02-01&resource=https://ai.azure.com`, headers: { Metadata: 'true' } },
  { name: 'x-forwarded-for', method: 'GET', target: `${PATH}?api-version=2018-02-01&resource=https%3A%2F%2Fcognitiveservices.azure.com`, headers: { Metadata: 'true', 'X-Forwarded-For': '203.0.113.7' } },
  { name: 'put', method: 'PUT', target: `${PATH}?api-version=2018-02-01&resource=https%3A%2F%2Fcognitiveservices.azure.com`, headers: { Metadata: 'true' } },
  { name: 'delete', method: 'DELETE', target: `${PATH}?api-version=2018-02-01&resource=https%3A%2F%2Fcognitiveservices.azure.com`, headers: { Metadata: 'true' } },
];

function send(c: Case): Promise<{ name: string; status: number; contentType: string | undefined; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: base.hostname, port: base.port, method: c.method, path: c.target, headers: c.headers, timeout: 10_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => {
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          body = { unparsed: text };
        }
        resolve({ name: c.name, status: res.statusCode ?? 0, contentType: res.headers['content-type'], body });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${c.name}: timed out`)));
    req.on('error', reject);
    req.end();
  });
}

const results = [];
for (const c of CASES) results.push(await send(c));
process.stdout.write(JSON.stringify({ host, results }) + '\n');
