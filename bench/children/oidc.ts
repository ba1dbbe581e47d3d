/**
 * The OAuth server wits is compared with: oidc-provider (npm), client_credentials grant with a
 * resource indicator, so every access token is a JWT, signed with the algorithm given as argv[2]
 * (ES256 with a P-256 key, or RS256 with a 2048-bit key: wits' local issuer's keys). Client
 * authentication client_secret_basic. Prints `{ "url", "tokenPath", "clientId", "clientSecret",
 * "resource" }` once listening. Memory adapter (the default): JWT access tokens are not stored, so
 * oidc-provider signs on every request with no storage write.
 */
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

const CLIENT_ID = 'bench-client';
const CLIENT_SECRET = 'bench-secret-0123456789abcdef0123456789abcdef';
const RESOURCE = 'https://api.bench.example';
const ALG = process.argv[2] ?? 'RS256';
if (ALG !== 'RS256' && ALG !== 'ES256') throw new Error(`unsupported algorithm ${ALG}`);

let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
const server = createServer((req, res) => {
  if (handler === undefined) {
    res.writeHead(503).end();
    return;
  }
  handler(req, res);
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;
  const { privateKey } = ALG === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
        // Only one key, of ALG: oidc-provider checks that the client's (unused) ID token algorithm has one.
        id_token_signed_response_alg: ALG,
      },
    ],
    jwks: { keys: [{ ...jwk, kid: `bench-${ALG.toLowerCase()}`, alg: ALG, use: 'sig' }] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: 'api',
          audience: RESOURCE,
          accessTokenTTL: 3600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: ALG } },
        }),
      },
    },
  });
  handler = provider.callback() as (req: IncomingMessage, res: ServerResponse) => void;
  process.stdout.write(
    JSON.stringify({ url: issuer, tokenPath: '/token', clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, resource: RESOURCE }) + '\n',
  );
});
process.once('SIGTERM', () => process.exit(0));
