/**
 * Child program: an unmodified `@azure/msal-node` ManagedIdentityApplication.
 *
 *   node msal.js [--client-id GUID] [--resource URI]...
 *
 * msal-node picks its managed-identity source once per process from the environment, which is why
 * it runs in a child of its own. Prints one JSON line:
 * { client, source, tokens: [{ resource, token, expiresOnMs }] }.
 */
import { ManagedIdentityApplication } from '@azure/msal-node';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    'client-id': { type: 'string' },
    resource: { type: 'string', multiple: true },
  },
});

const clientId = values['client-id'];
const app = new ManagedIdentityApplication(clientId === undefined ? {} : { managedIdentityIdParams: { userAssignedClientId: clientId } });
const resources = values.resource ?? ['https://cognitiveservices.azure.com', 'https://ai.azure.com'];
const tokens: Array<{ resource: string; token: string; expiresOnMs: number }> = [];
for (const resource of resources) {
  const result = await app.acquireToken({ resource });
  if (result.expiresOn === null) throw new Error('msal-node returned no expiresOn');
  tokens.push({ resource, token: result.accessToken, expiresOnMs: result.expiresOn.getTime() });
}
process.stdout.write(JSON.stringify({ client: '@azure/msal-node ManagedIdentityApplication', source: app.getManagedIdentitySource(), tokens }) + '\n');
