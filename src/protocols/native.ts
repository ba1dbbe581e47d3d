/**
 * The native JSON API used by the wits client SDK and CLI:
 * `POST /v1/token` with `Authorization: Bearer <session secret>` and a JSON (or form) body
 * `{ "audience": "CognitiveServices", "clientId"?, "objectId"?, "resourceId"? }`; `GET` with the same
 * fields as query parameters works too. The response is the managed-identity superset with the
 * canonical `resource` and `refresh_in`, so the SDK can refresh ahead like the service does.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { WitsError } from '../errors.js';
import { sendJsonText } from '../http/respond.js';
import { bearer, parseJsonObject, readBody, single } from '../http/request.js';
import type { TokenService } from '../tokenService.js';
import { tokenResponseText } from './tokenResponse.js';

export const NATIVE_TOKEN_PATH = '/v1/token';

type Fields = Record<string, unknown>;

async function requestFields(req: IncomingMessage, params: URLSearchParams): Promise<Fields> {
  if (req.method === 'GET') {
    const out: Fields = {};
    for (const key of ['audience', 'resource', 'scope', 'clientId', 'objectId', 'resourceId']) out[key] = single(params, key);
    return out;
  }
  const type = (req.headers['content-type'] ?? 'application/json').split(';')[0]?.trim().toLowerCase();
  const text = await readBody(req);
  if (type === 'application/json') return parseJsonObject(text);
  if (type === 'application/x-www-form-urlencoded') {
    const form = new URLSearchParams(text);
    const out: Fields = {};
    for (const key of new Set(form.keys())) out[key] = single(form, key);
    return out;
  }
  throw new WitsError('ERR_UNSUPPORTED_MEDIA_TYPE', 'Send the token request as application/json or application/x-www-form-urlencoded.');
}

function optionalString(fields: Fields, name: string): string | undefined {
  const value = fields[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new WitsError('ERR_INVALID_REQUEST', `'${name}' must be a string.`);
  return value;
}

export async function handleNativeToken(tokens: TokenService, req: IncomingMessage, res: ServerResponse, params: URLSearchParams): Promise<void> {
  const fields = await requestFields(req, params);
  const given = ['audience', 'resource', 'scope'].filter((k) => fields[k] !== undefined && fields[k] !== null);
  if (given.length > 1) throw new WitsError('ERR_INVALID_REQUEST', 'Give one of audience, resource or scope.');
  const issued = await tokens.issue({
    protocol: 'native',
    secret: bearer(req),
    audience: given[0] === undefined ? undefined : optionalString(fields, given[0]),
    selector: {
      clientId: optionalString(fields, 'clientId'),
      objectId: optionalString(fields, 'objectId'),
      resourceId: optionalString(fields, 'resourceId'),
    },
  });
  sendJsonText(res, 200, tokenResponseText(issued, issued.resource, Date.now(), true));
}
