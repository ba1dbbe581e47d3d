/** The alias table as Markdown, for the README (a test keeps the README in step with the registry). */
import { CLOUDS } from './cloud.js';
import { AUDIENCE_ALIASES } from './registry.js';

const SHORT: Record<(typeof CLOUDS)[number], string> = { AzureCloud: 'AzureCloud', AzureUSGovernment: 'US Gov', AzureChinaCloud: 'China' };

export function aliasTableMarkdown(): string {
  const rows = AUDIENCE_ALIASES.map((a) => {
    const others = CLOUDS.slice(1)
      .filter((c) => a.resources[c] !== undefined)
      .map((c) => `${SHORT[c]}: \`${a.resources[c]}\``)
      .join('<br>');
    const synonyms = a.synonyms.map((s) => `\`${s}\``).join(', ');
    return `| \`${a.name}\` | ${synonyms} | \`${a.resources.AzureCloud ?? '-'}\` | ${others || '-'} | ${a.description} |`;
  });
  return ['| alias | synonyms | resource | sovereign clouds | for |', '|---|---|---|---|---|', ...rows].join('\n');
}
