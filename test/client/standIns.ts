/**
 * Strict local stand-ins of Azure services, for proving that official SDK clients authenticate with
 * `WitsCredential`. Each accepts a bearer token only the way the real service would: signature
 * against the issuer's published JWKS (OpenID discovery -> jwks_uri, verified with jose, not with
 * wits code), `iss` equal to the discovery issuer, `aud` exactly the service's resource, `exp` in
 * the future and `nbf` not in the future. Anything else is a 401 with the service's error shape.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';

export interface StandIn {
  readonly url: string;
  /** Requests that carried a valid token. */
  readonly accepted: Array<{ path: string; claims: JWTPayload }>;
  /** Reasons for every refusal, in order. */
  readonly refused: string[];
  close(): Promise<void>;
}

class Refused extends Error {}

/** Verifies `Authorization: Bearer <jwt>` for `audience` against the issuer at `issuerBaseUrl`. */
function tokenVerifier(issuerBaseUrl: string, audience: string): (req: IncomingMessage) => Promise<JWTPayload> {
  let discovery: Promise<{ issuer: string; jwks: ReturnType<typeof createRemoteJWKSet> }> | undefined;
  const discover = () =>
    (discovery ??= fetch(`${issuerBaseUrl}/.well-known/openid-configuration`)
      .then((r) => r.json() as Promise<{ issuer: string; jwks_uri: string }>)
      .then((doc) => ({ issuer: doc.issuer, jwks: createRemoteJWKSet(new URL(doc.jwks_uri)) })));
  return async (req) => {
    const header = req.headers.authorization;
    const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(header ?? '');
    if (match === null) throw new Refused(header === undefined ? 'no Authorization header' : 'Authorization is not a Bearer JWT');
    const { issuer, jwks } = await discover();
    try {
      const { payload } = await jwtVerify(match[1] as string, jwks, {
        issuer,
        audience,
        algorithms: ['RS256', 'ES256'],
        requiredClaims: ['exp', 'nbf', 'iat'],
        clockTolerance: 0,
      });
      if (payload.aud !== audience) throw new Refused(`aud must be exactly ${audience}`);
      return payload;
    } catch (err) {
      if (err instanceof Refused) throw err;
      throw new Refused(`token rejected: ${(err as Error).message}`);
    }
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function closer(server: Server): () => Promise<void> {
  return () =>
    new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
}

/**
 * Azure OpenAI data plane: `POST /openai/deployments/<deployment>/chat/completions?api-version=...`
 * with a JSON body holding `messages`; answers a chat completion. Token audience:
 * `https://cognitiveservices.azure.com`.
 */
export async function startAzureOpenAIStandIn(issuerBaseUrl: string, deployment: string): Promise<StandIn> {
  const verify = tokenVerifier(issuerBaseUrl, 'https://cognitiveservices.azure.com');
  const accepted: StandIn['accepted'] = [];
  const refused: string[] = [];
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const body = await readBody(req);
      if (req.method !== 'POST' || url.pathname !== `/openai/deployments/${deployment}/chat/completions`) {
        return json(res, 404, { error: { code: '404', message: 'Resource not found' } });
      }
      if (!/^\d{4}-\d{2}-\d{2}(-preview)?$/.test(url.searchParams.get('api-version') ?? '')) {
        return json(res, 404, { error: { code: '404', message: 'Resource not found' } }); // what Azure answers without api-version
      }
      if (req.headers['api-key'] !== undefined) {
        refused.push('api-key sent');
        return json(res, 401, { error: { code: '401', message: 'Access denied due to invalid subscription key.' } });
      }
      let claims: JWTPayload;
      try {
        claims = await verify(req);
      } catch (err) {
        refused.push((err as Error).message);
        return json(res, 401, { error: { code: 'PermissionDenied', message: 'Access token is missing or invalid.' } });
      }
      let request: { messages?: unknown };
      try {
        request = JSON.parse(body) as { messages?: unknown };
      } catch {
        return json(res, 400, { error: { code: 'BadRequest', message: 'Invalid JSON body.' } });
      }
      if (!Array.isArray(request.messages) || request.messages.length === 0) {
        return json(res, 400, { error: { code: 'BadRequest', message: "'messages' is required." } });
      }
      accepted.push({ path: url.pathname, claims });
      json(res, 200, {
        id: 'chatcmpl-wits-standin',
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: 'gpt-4o-mini-2024-07-18',
        choices: [{ index: 0, finish_reason: 'stop', logprobs: null, message: { role: 'assistant', content: `Hello from ${deployment}, ${String(claims.oid)}`, refusal: null } }],
        usage: { prompt_tokens: 9, completion_tokens: 5, total_tokens: 14 },
        system_fingerprint: 'fp_wits',
      });
    })();
  });
  return { url: await listen(server), accepted, refused, close: closer(server) };
}

/**
 * Key Vault secrets: `GET /secrets/<name>[/<version>]?api-version=...`, with Key Vault's
 * challenge-based authentication: a request without a token gets 401 and
 * `WWW-Authenticate: Bearer authorization="https://login.microsoftonline.com/<tenant>", resource="https://vault.azure.net"`.
 * Token audience `https://vault.azure.net`, and its `tid` must be the vault's tenant.
 */
export async function startKeyVaultStandIn(issuerBaseUrl: string, tenantId: string, secrets: Record<string, string>): Promise<StandIn> {
  const verify = tokenVerifier(issuerBaseUrl, 'https://vault.azure.net');
  const accepted: StandIn['accepted'] = [];
  const refused: string[] = [];
  const challenge = `Bearer authorization="https://login.microsoftonline.com/${tenantId}", resource="https://vault.azure.net"`;
  const server = createServer((req, res) => {
    void (async () => {
      await readBody(req);
      const url = new URL(req.url ?? '/', 'http://localhost');
      const unauthorized = (reason: string) => {
        refused.push(reason);
        json(res, 401, { error: { code: 'Unauthorized', message: `AKV10000: Request is missing a Bearer or PoP token. (${reason})` } }, { 'www-authenticate': challenge });
      };
      if (!/^(7\.\d+(-preview)?|\d{4}-\d{2}-\d{2}(-preview)?)$/.test(url.searchParams.get('api-version') ?? '')) {
        return json(res, 400, { error: { code: 'BadParameter', message: 'The api-version is missing or invalid.' } });
      }
      if (req.headers.authorization === undefined) return unauthorized('no Authorization header');
      let claims: JWTPayload;
      try {
        claims = await verify(req);
      } catch (err) {
        return unauthorized((err as Error).message);
      }
      if (claims.tid !== tenantId) return unauthorized(`tid ${String(claims.tid)} is not the vault's tenant`);
      const match = /^\/secrets\/([A-Za-z0-9-]{1,127})\/?([0-9a-f]{32})?\/?$/.exec(url.pathname);
      if (req.method !== 'GET' || match === null) return json(res, 400, { error: { code: 'BadParameter', message: 'Unsupported operation.' } });
      const name = match[1] as string;
      const value = secrets[name];
      if (value === undefined) return json(res, 404, { error: { code: 'SecretNotFound', message: `A secret with (name/id) ${name} was not found in this key vault.` } });
      accepted.push({ path: url.pathname, claims });
      const base = `http://${req.headers.host}`;
      json(res, 200, {
        value,
        id: `${base}/secrets/${name}/0123456789abcdef0123456789abcdef`,
        attributes: { enabled: true, created: 1700000000, updated: 1700000000, recoveryLevel: 'Recoverable+Purgeable', recoverableDays: 90 },
        tags: {},
      });
    })();
  });
  return { url: await listen(server), accepted, refused, close: closer(server) };
}
