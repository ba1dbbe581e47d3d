import { parseArgs } from 'node:util';
import { CLOUDS } from '../audiences/cloud.js';
import { AUDIENCE_ALIASES } from '../audiences/registry.js';
import { aliasTableMarkdown } from '../audiences/markdown.js';
import { noPositionals, parseFlags, print, printJson, table, type Command } from './command.js';

export const audiencesCommand: Command = {
  name: 'audiences',
  summary: 'List the audience aliases and their resources',
  help: `Usage: wits audiences [--cloud CLOUD] [--json | --markdown]

Lists every alias wits accepts (case-insensitive), its synonyms and its resource per cloud.
Besides aliases, wits accepts https resource URIs, /.default scopes, api:// URIs and application GUIDs.

Options:
  --cloud CLOUD   only this cloud's resources (${CLOUDS.join(', ')})
  --json          the table as JSON
  --markdown      the table as Markdown (the README's copy)
  -h, --help      show this help`,
  async run(argv) {
    const { values, positionals } = parseFlags(() =>
      parseArgs({ args: argv, allowPositionals: true, options: { cloud: { type: 'string' }, json: { type: 'boolean' }, markdown: { type: 'boolean' } } }),
    );
    noPositionals(positionals);
    const cloud = values.cloud ?? 'AzureCloud';
    if (!(CLOUDS as readonly string[]).includes(cloud)) throw new Error(`Unknown cloud '${cloud}' (${CLOUDS.join(', ')}).`);
    if (values.markdown) {
      print(aliasTableMarkdown());
      return 0;
    }
    if (values.json) {
      printJson(AUDIENCE_ALIASES.map((a) => ({ name: a.name, synonyms: a.synonyms, description: a.description, resources: a.resources, origin: a.origin })));
      return 0;
    }
    const rows = AUDIENCE_ALIASES.map((a) => [a.name, a.resources[cloud as keyof typeof a.resources] ?? '(not in this cloud)', a.synonyms.join(', ')]);
    print(table(['ALIAS', `RESOURCE (${cloud})`, 'SYNONYMS'], rows));
    return 0;
  },
};
