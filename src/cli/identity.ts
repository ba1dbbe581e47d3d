import { parseArgs } from 'node:util';
import { withAdmin } from './adminAccess.js';
import { COMMON_HELP, COMMON_OPTIONS, parseFlags, print, printJson, requireOne, table, UsageError, type Command } from './command.js';

export const identityCommand: Command = {
  name: 'identity',
  summary: 'Add and list user-assigned identities of a workspace',
  help: `Usage:
  wits identity add NAME [--workspace W] [--client-id GUID] [--object-id GUID] [--resource-id ID] [--tenant-id GUID]
  wits identity list [--workspace W]

Requests select a user-assigned identity with client_id, object_id or mi_res_id; without a
selector they get the workspace's system-assigned identity. Ids not given are generated (for the
local issuer); for upstream token sources give the real identity's ids.

Options:
  --workspace W       workspace (default: default)
${COMMON_HELP}`,
  async run(argv) {
    const { values, positionals } = parseFlags(() =>
      parseArgs({
        args: argv,
        allowPositionals: true,
        options: {
          ...COMMON_OPTIONS,
          workspace: { type: 'string' },
          'client-id': { type: 'string' },
          'object-id': { type: 'string' },
          'resource-id': { type: 'string' },
          'tenant-id': { type: 'string' },
        },
      }),
    );
    const [action, ...rest] = positionals;
    const workspace = values.workspace ?? 'default';
    return withAdmin(values, async (admin) => {
      if (action === 'add') {
        const identity = await admin.addIdentity(workspace, {
          name: requireOne(rest, 'identity name'),
          clientId: values['client-id'],
          objectId: values['object-id'],
          resourceId: values['resource-id'],
          tenantId: values['tenant-id'],
        });
        if (values.json) printJson(identity);
        else print(`added identity ${identity.name} to ${workspace}\n  client id:   ${identity.clientId}\n  object id:   ${identity.objectId}\n  resource id: ${identity.resourceId}`);
        return 0;
      }
      if (action === 'list') {
        const { identities } = await admin.getWorkspace(workspace);
        if (values.json) printJson(identities);
        else print(table(['NAME', 'KIND', 'CLIENT ID', 'OBJECT ID', 'RESOURCE ID'], identities.map((i) => [i.name, i.kind, i.clientId, i.objectId, i.resourceId])));
        return 0;
      }
      throw new UsageError(action === undefined ? 'Missing action: add or list.' : `Unknown action '${action}': add or list.`);
    });
  },
};
