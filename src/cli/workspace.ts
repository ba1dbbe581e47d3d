import { parseArgs } from 'node:util';
import type { WorkspaceView } from '../admin/adminOps.js';
import type { Cloud } from '../audiences/cloud.js';
import { withAdmin } from './adminAccess.js';
import { COMMON_HELP, COMMON_OPTIONS, noPositionals, parseFlags, print, printJson, requireOne, table, UsageError, type Command } from './command.js';

const HELP = `Usage:
  wits workspace create NAME [--cloud CLOUD] [--audience A]... [--tenant-id GUID]
  wits workspace update NAME [--cloud CLOUD] [--audience A]... | [--any-audience]
  wits workspace list
  wits workspace show NAME

A workspace owns a system-assigned identity (created with it), any user-assigned identities
(\`wits identity add\`), an audience policy and a token source.

Options:
  --cloud CLOUD      AzureCloud (default), AzureUSGovernment or AzureChinaCloud: aliases resolve
                     to this cloud's resources
  --audience A       allow this audience (alias, URI or scope); repeat for several. With a list,
                     every other audience is denied. Without one, any valid audience is allowed.
  --any-audience     (update) remove the list: allow any valid audience
  --tenant-id GUID   tenant id of the workspace's identities (default: the installation's)
${COMMON_HELP}`;

function render(w: WorkspaceView): string {
  const lines = [
    `workspace ${w.name}`,
    `  cloud:     ${w.cloud}`,
    `  audiences: ${w.allowedAudiences === null ? 'any valid audience' : w.allowedAudiences.join(', ') || '(none)'}`,
    `  source:    ${w.source.kind}`,
    `  created:   ${w.createdAt}`,
    '',
    table(
      ['IDENTITY', 'KIND', 'CLIENT ID', 'OBJECT ID'],
      w.identities.map((i) => [i.name, i.kind, i.clientId, i.objectId]),
    ),
  ];
  return lines.join('\n');
}

export const workspaceCommand: Command = {
  name: 'workspace',
  summary: 'Create, update, list and show workspaces',
  help: HELP,
  async run(argv) {
    const { values, positionals } = parseFlags(() =>
      parseArgs({
        args: argv,
        allowPositionals: true,
        options: {
          ...COMMON_OPTIONS,
          cloud: { type: 'string' },
          audience: { type: 'string', multiple: true },
          'any-audience': { type: 'boolean' },
          'tenant-id': { type: 'string' },
        },
      }),
    );
    const [action, ...rest] = positionals;
    const show = (w: WorkspaceView) => (values.json ? printJson(w) : print(render(w)));
    return withAdmin(values, async (admin) => {
      switch (action) {
        case 'create': {
          const name = requireOne(rest, 'workspace name');
          show(await admin.createWorkspace({ name, cloud: values.cloud as Cloud | undefined, allowedAudiences: values.audience, tenantId: values['tenant-id'] }));
          return 0;
        }
        case 'update': {
          const name = requireOne(rest, 'workspace name');
          if (values['any-audience'] && values.audience !== undefined) throw new UsageError('Give either --audience or --any-audience.');
          const allowedAudiences = values['any-audience'] ? null : values.audience;
          show(await admin.updateWorkspace(name, { cloud: values.cloud as Cloud | undefined, allowedAudiences }));
          return 0;
        }
        case 'list': {
          noPositionals(rest);
          const list = await admin.listWorkspaces();
          if (values.json) printJson(list);
          else {
            print(table(
              ['NAME', 'CLOUD', 'SOURCE', 'AUDIENCES', 'IDENTITIES'],
              list.map((w) => [w.name, w.cloud, w.source.kind, w.allowedAudiences === null ? 'any' : String(w.allowedAudiences.length), String(w.identities.length)]),
            ));
          }
          return 0;
        }
        case 'show':
          show(await admin.getWorkspace(requireOne(rest, 'workspace name')));
          return 0;
        default:
          throw new UsageError(action === undefined ? 'Missing action: create, update, list or show.' : `Unknown action '${action}': create, update, list or show.`);
      }
    });
  },
};
