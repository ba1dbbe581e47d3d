import { parseArgs } from 'node:util';
import type { WorkspaceView } from '../admin/adminOps.js';
import { resolve } from 'node:path';
import type { Cloud } from '../audiences/cloud.js';
import type { SourceConfig } from '../store/store.js';
import { withAdmin } from './adminAccess.js';
import { COMMON_HELP, COMMON_OPTIONS, noPositionals, parseFlags, print, printJson, requireOne, table, UsageError, type Command } from './command.js';

const HELP = `Usage:
  wits workspace create NAME [--cloud CLOUD] [--audience A]... [--source KIND [source options]]
  wits workspace update NAME [--cloud CLOUD] [--audience A]... | [--any-audience] [--source KIND [source options]]
  wits workspace list
  wits workspace show NAME

A workspace owns a system-assigned identity (created with it), any user-assigned identities
(\`wits identity add\`), an audience policy and a token source.

Options:
  --cloud CLOUD      AzureCloud (default), AzureUSGovernment or AzureChinaCloud: aliases resolve
                     to this cloud's resources. On update without --audience, the allowed
                     audiences move to the new cloud's resources (refused if a service has none
                     there); sessions keep the audience lists they were created with
  --audience A       allow this audience (alias, URI or scope); repeat for several. With a list,
                     every other audience is denied. Without one, any valid audience is allowed.
  --any-audience     (update) remove the list: allow any valid audience
  --source KIND      where tokens come from (default local):
                       local              wits' own issuer (embedded default)
                       managed-identity   the managed identity of the host wits runs on
                       entra-federated    Entra ID, secretless: wits' issuer signs a federated assertion
                       entra-certificate  Entra ID with a service principal certificate (migration)
                       entra-secret       Entra ID with a client secret (migration)

Source options:
  --tenant-id GUID          Entra tenant (entra-*; with local: the tenant id shown in tokens)
  --client-id GUID          app / managed identity client id (entra-*: required; managed-identity:
                            a user-assigned identity of the host, default its system-assigned one)
  --resource-id ID          managed-identity: a user-assigned identity by ARM resource id
  --object-id GUID          managed-identity: a user-assigned identity by object id
  --authority URL           entra-*: authority host (default per cloud, e.g. https://login.microsoftonline.com)
  --subject S               entra-federated: subject asserted for the system identity
                            (default wits:workspace:<name>:identity:system)
  --assertion-file PATH     entra-federated: use this projected token file instead of signing
  --certificate-file PATH | --certificate-env VAR   entra-certificate: PEM with private key + certificate
  --secret-file PATH | --secret-env VAR             entra-secret: the client secret
Credentials are read from the file or variable at each exchange, in the wits server's process;
they are never stored in the database or logged.
${COMMON_HELP}`;

const SOURCE_FLAGS = {
  'client-id': 'clientId',
  'resource-id': 'resourceId',
  'object-id': 'objectId',
  authority: 'authority',
  subject: 'subject',
  'assertion-file': 'assertionFile',
  'certificate-file': 'certificateFile',
  'certificate-env': 'certificateEnv',
  'secret-file': 'secretFile',
  'secret-env': 'secretEnv',
} as const;

/** The --source flags as a SourceConfig; undefined when no --source was given. */
function sourceFrom(values: Record<string, unknown>): SourceConfig | undefined {
  const kind = values.source as string | undefined;
  const given = (Object.keys(SOURCE_FLAGS) as (keyof typeof SOURCE_FLAGS)[]).filter((f) => values[f] !== undefined);
  if (kind === undefined) {
    if (given.length > 0) throw new UsageError(`--${given[0]} needs --source.`);
    return undefined;
  }
  const options: Record<string, string> = {};
  for (const flag of given) options[SOURCE_FLAGS[flag]] = values[flag] as string;
  if (kind.startsWith('entra-') && values['tenant-id'] !== undefined) options.tenantId = values['tenant-id'] as string;
  // Files are read by the server process: make relative paths absolute here, where the user typed them.
  for (const key of ['assertionFile', 'certificateFile', 'secretFile']) if (options[key] !== undefined) options[key] = resolve(options[key] as string);
  return { kind, options };
}

function render(w: WorkspaceView): string {
  const lines = [
    `workspace ${w.name}`,
    `  cloud:     ${w.cloud}`,
    `  audiences: ${w.allowedAudiences === null ? 'any valid audience' : w.allowedAudiences.join(', ') || '(none)'}`,
    `  source:    ${w.source.kind}${Object.keys(w.source.options).length > 0 ? ' ' + JSON.stringify(w.source.options) : ''}`,
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
          source: { type: 'string' },
          ...Object.fromEntries(Object.keys(SOURCE_FLAGS).map((f) => [f, { type: 'string' as const }])),
        },
      }),
    );
    const [action, ...rest] = positionals;
    const show = (w: WorkspaceView) => (values.json ? printJson(w) : print(render(w)));
    return withAdmin(values, async (admin) => {
      switch (action) {
        case 'create': {
          const name = requireOne(rest, 'workspace name');
          const source = sourceFrom(values);
          show(await admin.createWorkspace({ name, cloud: values.cloud as Cloud | undefined, allowedAudiences: values.audience, tenantId: source === undefined ? values['tenant-id'] : undefined, source }));
          return 0;
        }
        case 'update': {
          const name = requireOne(rest, 'workspace name');
          if (values['any-audience'] && values.audience !== undefined) throw new UsageError('Give either --audience or --any-audience.');
          const allowedAudiences = values['any-audience'] ? null : values.audience;
          show(await admin.updateWorkspace(name, { cloud: values.cloud as Cloud | undefined, allowedAudiences, source: sourceFrom(values) }));
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
