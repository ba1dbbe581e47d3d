/**
 * The HTTP server (node:http: the hot path is measured against a bare node:http server, so no
 * framework sits in between) and its routing table.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { openWits, type WitsApp } from './app.js';
import type { WitsConfig } from './config.js';
import { asWitsError, toErrorBody, WitsError } from './errors.js';
import { sendError, sendJson } from './http/respond.js';
import { DISCOVERY_PATH, issuerPath, JWKS_PATH } from './issuer/discovery.js';
import type { Logger } from './logger.js';
import { ADMIN_PREFIX, handleAdmin } from './protocols/admin.js';
import { APP_SERVICE_PATH, handleAppServiceToken } from './protocols/appService.js';
import { handleNativeToken, NATIVE_TOKEN_PATH } from './protocols/native.js';
import { OidcDocuments } from './protocols/oidc.js';
import { printable } from './text.js';

export interface RunningServer {
  readonly url: string;
  readonly app: WitsApp;
  close(): Promise<void>;
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * The path as the access log records it. Clients do paste credentials into URLs by mistake; a
 * secret- or token-shaped part never reaches the log (query strings and headers are never logged).
 */
const CREDENTIAL_IN_PATH = /wits(?:adm)?\.[A-Za-z0-9._~%-]+|eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9._-]*/g;

function loggedPath(path: string): string {
  return printable(path.replace(CREDENTIAL_IN_PATH, '[redacted]'), 120);
}

export function createRequestHandler(app: WitsApp): (req: IncomingMessage, res: ServerResponse) => void {
  const oidc = new OidcDocuments(app.issuer);
  const prefix = issuerPath(app.issuer.issuer);
  const discoveryPaths = new Set([DISCOVERY_PATH, prefix + DISCOVERY_PATH]);
  const jwksPaths = new Set([JWKS_PATH, prefix + JWKS_PATH]);
  const log = app.logger;
  const logRequests = log.isEnabled('info');

  const route = async (req: IncomingMessage, res: ServerResponse, path: string, params: URLSearchParams): Promise<void> => {
    const method = req.method;
    if (path === APP_SERVICE_PATH) {
      if (method !== 'GET') throw new WitsError('ERR_METHOD_NOT_ALLOWED', 'Use GET on the App Service token endpoint.');
      return handleAppServiceToken(app.tokens, req, res, params);
    }
    if (path === NATIVE_TOKEN_PATH) {
      if (method !== 'GET' && method !== 'POST') throw new WitsError('ERR_METHOD_NOT_ALLOWED', 'Use POST (or GET) on /v1/token.');
      return handleNativeToken(app.tokens, req, res, params);
    }
    if (discoveryPaths.has(path) || jwksPaths.has(path)) {
      if (method !== 'GET' && method !== 'HEAD') throw new WitsError('ERR_METHOD_NOT_ALLOWED', 'Use GET on discovery documents.');
      return oidc.send(res, discoveryPaths.has(path) ? oidc.discoveryText : oidc.jwksText);
    }
    if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (path.startsWith(ADMIN_PREFIX)) return handleAdmin(app.admin, app.adminCredential, req, res, path, params);
    if (path === '/metadata/identity/oauth2/token' || path === '/metadata/identity/oauth2/token/') {
      throw new WitsError('ERR_INVALID_REQUEST', 'IMDS is served only on session-bound endpoints (`wits exec --imds`), because IMDS requests carry no secret.');
    }
    throw new WitsError('ERR_NOT_FOUND', `No endpoint at ${printable(path, 80)}.`);
  };

  return (req, res) => {
    const started = performance.now();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const params = new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
    let code: string | undefined;
    const done = (): void => {
      if (!logRequests) return;
      log.info('request', {
        method: printable(req.method ?? '', 16),
        path: loggedPath(path),
        status: res.statusCode,
        ms: Math.round((performance.now() - started) * 100) / 100,
        code,
      });
    };
    route(req, res, path, params).then(done, (thrown: unknown) => {
      const err = asWitsError(thrown);
      code = err.code;
      if (!err.exposable) log.error('request failed', { path: loggedPath(path), code: err.code, reason: err.message });
      sendError(res, err);
      done();
    });
  };
}

/** Writes a JSON error straight to a socket: for answers given before node has a response object. */
function endSocketWithError(socket: Duplex, wits: WitsError, reason: string): void {
  const text = JSON.stringify(toErrorBody(wits));
  socket.end(
    `HTTP/1.1 ${wits.status} ${reason}\r\n` +
      `content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
  );
}

/** Answers protocol-level errors (oversized headers, malformed requests) with a JSON body too. */
function handleClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (!socket.writable || (err as { code?: string }).code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const wits = new WitsError(tooLarge ? 'ERR_HEADERS_TOO_LARGE' : 'ERR_INVALID_REQUEST', tooLarge ? 'The request line or headers are too large.' : 'Malformed HTTP request.');
  endSocketWithError(socket, wits, tooLarge ? 'Request Header Fields Too Large' : 'Bad Request');
}

export function createHttpServer(handler?: (req: IncomingMessage, res: ServerResponse) => void): Server {
  // requireHostHeader off: node would answer an HTTP/1.1 request without Host with an empty 400,
  // which clients cannot read; the request listener below answers it with the JSON error body.
  const server = createServer({ requestTimeout: 30_000, headersTimeout: 15_000, keepAliveTimeout: 65_000, requireHostHeader: false });
  if (handler !== undefined) {
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      if (req.httpVersionMajor === 1 && req.httpVersionMinor === 1 && req.headers.host === undefined) {
        sendError(res, new WitsError('ERR_INVALID_REQUEST', 'HTTP/1.1 requests must carry a Host header.'), { connection: 'close' });
        return;
      }
      handler(req, res);
    });
  }
  server.on('clientError', handleClientError);
  // Without these listeners node answers an unsupported Expect with an empty 417 and drops CONNECT
  // requests without any answer; every answer must carry the JSON error body (protocols.md section 5).
  server.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) => {
    sendError(res, new WitsError('ERR_EXPECTATION_FAILED', 'Only "Expect: 100-continue" is supported.'), { connection: 'close' });
  });
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    // Node hands over the raw socket and reads it no more: drain what the client sends, or a
    // socket paused on a full buffer never sees the client close and stays open for good.
    socket.on('error', () => socket.destroy());
    (socket as Socket).setTimeout(10_000, () => socket.destroy());
    socket.resume();
    endSocketWithError(socket, new WitsError('ERR_METHOD_NOT_ALLOWED', 'CONNECT is not supported.'), 'Method Not Allowed');
  });
  return server;
}

export function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}

/** Listens, then opens the app with the real base URL (the default issuer), then serves. */
export async function startServer(config: WitsConfig, logger: Logger): Promise<RunningServer> {
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server = createHttpServer((req, res) => {
    if (handler === undefined) {
      sendError(res, new WitsError('ERR_SOURCE_UNAVAILABLE', 'The service is starting.', { retryAfter: 1 }));
      return;
    }
    handler(req, res);
  });
  const address = await listen(server, config.port, config.host);
  const url = config.publicUrl ?? `http://${formatHost(address.address)}:${address.port}`;
  let app: WitsApp;
  try {
    app = await openWits(config, url, logger);
  } catch (err) {
    await closeServer(server);
    throw err;
  }
  handler = createRequestHandler(app);
  return {
    url,
    app,
    async close() {
      await closeServer(server);
      await app.close();
    },
  };
}
