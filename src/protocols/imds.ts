/**
 * A session-bound IMDS endpoint (docs/protocols.md section 3).
 *
 * IMDS requests carry no secret: whoever reaches the endpoint gets the identity. So this endpoint is
 * bound to exactly one session and listens on loopback for one workload (`wits exec --imds`): it
 * holds the session secret itself and forwards each request to the wits server's App Service
 * endpoint. It copies the real IMDS's SSRF defences: `Metadata: true` required, any request with
 * `X-Forwarded-For` refused, GET/POST only; the availability probe (no Metadata header) gets a 400
 * JSON answer, which DefaultAzureCredential reads as "IMDS is available".
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { WitsError, asWitsError } from '../errors.js';
import { sendError, sendJsonText } from '../http/respond.js';
import { oneOf, single } from '../http/request.js';
import type { Logger } from '../logger.js';
import { closeServer, createHttpServer, listen } from '../server.js';
import { APP_SERVICE_PATH, VIA_HEADER } from './appService.js';

export const IMDS_TOKEN_PATH = '/metadata/identity/oauth2/token';

export interface ImdsEndpointOptions {
  /** Base URL of the wits server. */
  readonly serverUrl: string;
  /** The session secret this endpoint is bound to. */
  readonly secret: string;
  readonly host?: string;
  readonly port?: number;
  readonly logger: Logger;
}

export interface ImdsEndpoint {
  /** Value for AZURE_POD_IDENTITY_AUTHORITY_HOST, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  close(): Promise<void>;
}

const UPSTREAM_TIMEOUT_MS = 30_000;

async function forward(options: ImdsEndpointOptions, req: IncomingMessage, res: ServerResponse, params: URLSearchParams): Promise<void> {
  const upstream = new URLSearchParams({ 'api-version': '2019-08-01' });
  const resource = single(params, 'resource');
  if (resource !== undefined) upstream.set('resource', resource);
  const selectors: Array<[string, string | undefined]> = [
    ['client_id', single(params, 'client_id')],
    ['object_id', single(params, 'object_id')],
    ['mi_res_id', oneOf(params, ['mi_res_id', 'msi_res_id'])],
  ];
  for (const [name, value] of selectors) if (value !== undefined) upstream.set(name, value);
  let response: Response;
  try {
    response = await fetch(`${options.serverUrl}${APP_SERVICE_PATH}?${upstream}`, {
      headers: { 'x-identity-header': options.secret, [VIA_HEADER]: 'imds' },
      signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS),
    });
  } catch (err) {
    throw new WitsError('ERR_SOURCE_UNAVAILABLE', 'The wits server did not answer.', { retryAfter: 1 }, { cause: err });
  }
  const text = await response.text();
  const retryAfter = response.headers.get('retry-after');
  sendJsonText(res, response.status, text, retryAfter === null ? undefined : { 'retry-after': retryAfter });
}

export async function startImdsEndpoint(options: ImdsEndpointOptions): Promise<ImdsEndpoint> {
  const server = createHttpServer((req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    // msal-node lower-cases the URL and appends a slash: serve both spellings.
    const path = (q === -1 ? url : url.slice(0, q)).toLowerCase().replace(/\/$/, '');
    const params = new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
    const handle = async (): Promise<void> => {
      if (path !== IMDS_TOKEN_PATH) throw new WitsError('ERR_NOT_FOUND', 'This IMDS endpoint serves only /metadata/identity/oauth2/token.');
      if (req.method !== 'GET' && req.method !== 'POST') throw new WitsError('ERR_METHOD_NOT_ALLOWED', 'Use GET on the IMDS token endpoint.');
      if (req.headers['x-forwarded-for'] !== undefined) {
        throw new WitsError('ERR_FORWARDED_REQUEST', 'Requests with X-Forwarded-For are refused (IMDS SSRF defence).');
      }
      if (String(req.headers.metadata).toLowerCase() !== 'true') {
        throw new WitsError('ERR_METADATA_HEADER_REQUIRED', 'Required metadata header not specified (Metadata: true).');
      }
      await forward(options, req, res, params);
    };
    handle().catch((thrown: unknown) => {
      const err = asWitsError(thrown);
      if (!err.exposable) options.logger.error('imds request failed', { code: err.code, reason: err.message });
      sendError(res, err);
    });
  });
  const address = await listen(server, options.port ?? 0, options.host ?? '127.0.0.1');
  return {
    url: `http://${address.address}:${address.port}`,
    close: () => closeServer(server),
  };
}
