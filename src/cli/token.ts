import { parseArgs } from 'node:util';
import { decodeJwt } from '../client/decodeJwt.js';
import { discoverEndpoint } from '../client/endpoint.js';
import { requestToken, type ErrorResponseBody, type TokenResponseBody } from '../client/requestToken.js';
import { parseFlags, print, printJson, requireOne, type Command } from './command.js';

export class TokenRequestFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenRequestFailed';
  }
}

export const tokenCommand: Command = {
  name: 'token',
  summary: 'Print a token for an audience (inside `wits exec`)',
  help: `Usage: wits token AUDIENCE [--client-id GUID | --object-id GUID | --resource-id ID] [--decode] [--json]

Gets a token for AUDIENCE (alias such as CognitiveServices, resource URI or /.default scope) from the
wits endpoint of this environment (set up by \`wits exec\`), and prints the access token alone, so
that \`curl -H "Authorization: Bearer $(wits token Storage)" ...\` works.

Options:
  --client-id / --object-id / --resource-id   a user-assigned identity of the workspace
  --decode       print the token's header and claims instead (not verified)
  --json         print the whole token response as JSON
  -h, --help     show this help`,
  async run(argv) {
    const { values, positionals } = parseFlags(() =>
      parseArgs({
        args: argv,
        allowPositionals: true,
        options: {
          'client-id': { type: 'string' },
          'object-id': { type: 'string' },
          'resource-id': { type: 'string' },
          decode: { type: 'boolean' },
          json: { type: 'boolean' },
        },
      }),
    );
    const audience = requireOne(positionals, 'audience');
    const endpoint = discoverEndpoint();
    const identity = {
      ...(values['client-id'] === undefined ? {} : { clientId: values['client-id'] }),
      ...(values['object-id'] === undefined ? {} : { objectId: values['object-id'] }),
      ...(values['resource-id'] === undefined ? {} : { resourceId: values['resource-id'] }),
    };
    const result = await requestToken(endpoint, audience, identity, AbortSignal.timeout(60_000));
    if (result.status !== 200) {
      const body = (result.body ?? {}) as ErrorResponseBody;
      const text = body.message ?? body.error_description ?? `HTTP ${result.status}`;
      throw new TokenRequestFailed(body.code === undefined ? text : `${text} (${body.code})`);
    }
    const body = result.body as TokenResponseBody;
    if (values.json) printJson(body);
    else if (values.decode) printJson(decodeJwt(body.access_token) ?? { error: 'not a JWT' });
    else print(body.access_token);
    return 0;
  },
};
