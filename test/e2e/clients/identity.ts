/**
 * Child program: an unmodified `@azure/identity` credential, as a workload would use it.
 *
 *   node identity.js --credential mi|dac [--client-id GUID] [--resource URI]... [--verify] [--show-endpoint]
 *
 * Gets a token for each resource (as the scope `<resource>/.default`, the way the SDKs ask) and
 * prints one JSON line: { client, tokens: [{ resource, token, expiresOnMs }] }.
 * --verify also verifies each token strictly against the JWKS of the IDENTITY_ENDPOINT's origin
 * (for `wits exec` with its in-process server, which is gone once the child exits).
 * --show-endpoint adds IDENTITY_ENDPOINT and IDENTITY_HEADER (the session secret) to the output,
 * for tests of revocation and of log hygiene.
 */
import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import { parseArgs } from 'node:util';
import { originOf, StrictResourceServer } from '../resourceServer.js';

const { values } = parseArgs({
  options: {
    credential: { type: 'string', default: 'mi' },
    'client-id': { type: 'string' },
    resource: { type: 'string', multiple: true },
    verify: { type: 'boolean' },
    'show-endpoint': { type: 'boolean' },
  },
});

const clientId = values['client-id'];
let credential: TokenCredential;
if (values.credential === 'mi') credential = clientId === undefined ? new ManagedIdentityCredential() : new ManagedIdentityCredential({ clientId });
else if (values.credential === 'dac') credential = clientId === undefined ? new DefaultAzureCredential() : new DefaultAzureCredential({ managedIdentityClientId: clientId });
else throw new Error(`unknown --credential ${values.credential}`);

const resources = values.resource ?? ['https://cognitiveservices.azure.com', 'https://ai.azure.com'];
const tokens: Array<{ resource: string; token: string; expiresOnMs: number }> = [];
for (const resource of resources) {
  const got = await credential.getToken(`${resource}/.default`);
  if (got === null) throw new Error(`no token for ${resource}`);
  tokens.push({ resource, token: got.token, expiresOnMs: got.expiresOnTimestamp });
}

const out: Record<string, unknown> = { client: `@azure/identity ${values.credential}`, tokens };
if (values.verify) {
  const endpoint = process.env.IDENTITY_ENDPOINT;
  if (endpoint === undefined) throw new Error('--verify needs IDENTITY_ENDPOINT');
  const server = new StrictResourceServer(originOf(endpoint));
  out.verified = await Promise.all(tokens.map(async (t) => ({ resource: t.resource, claims: await server.verify(t.token, t.resource) })));
}
if (values['show-endpoint']) {
  out.identityEndpoint = process.env.IDENTITY_ENDPOINT;
  out.identityHeader = process.env.IDENTITY_HEADER;
}
process.stdout.write(JSON.stringify(out) + '\n');
