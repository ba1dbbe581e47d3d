/**
 * App Service managed-identity protocol, api-version 2019-08-01 (docs/protocols.md section 2):
 * `GET $IDENTITY_ENDPOINT?resource=...` with `X-IDENTITY-HEADER: $IDENTITY_HEADER`.
 * wits' default for workloads: the header carries the session secret. Unknown parameters and
 * headers are ignored, as App Service does.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJsonText } from '../http/respond.js';
import { oneOf, single } from '../http/request.js';
import type { TokenService } from '../tokenService.js';
import { tokenResponseText } from './tokenResponse.js';

export const APP_SERVICE_PATH = '/msi/token';

/** Header the session-bound IMDS endpoint sets when it forwards here, so audit rows say `imds`. */
export const VIA_HEADER = 'x-wits-via';

export async function handleAppServiceToken(tokens: TokenService, req: IncomingMessage, res: ServerResponse, params: URLSearchParams): Promise<void> {
  const secret = req.headers['x-identity-header'];
  const audience = single(params, 'resource');
  const issued = await tokens.issue({
    protocol: req.headers[VIA_HEADER] === 'imds' ? 'imds' : 'appservice',
    secret: typeof secret === 'string' ? secret : undefined,
    audience,
    selector: {
      clientId: single(params, 'client_id'),
      objectId: oneOf(params, ['object_id', 'principal_id']),
      resourceId: oneOf(params, ['mi_res_id', 'msi_res_id']),
    },
  });
  // Echo the resource as the caller sent it (protocols.md section 4).
  sendJsonText(res, 200, tokenResponseText(issued, (audience as string).trim(), Date.now()));
}
