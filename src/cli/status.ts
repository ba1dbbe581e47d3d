import { parseArgs } from 'node:util';
import { withAdmin } from './adminAccess.js';
import { COMMON_HELP, COMMON_OPTIONS, noPositionals, parseFlags, print, printJson, table, type Command } from './command.js';

export const statusCommand: Command = {
  name: 'status',
  summary: "Show token sources' health, cache size and session counts",
  help: `Usage: wits status [--server URL | --home DIR] [--json]

With --server (or WITS_URL), asks the running service: each workspace's token source, its circuit
breaker state, last success and last error, and the number of cached tokens. Without a server, reads
the state directory (no runtime health).

${COMMON_HELP}`,
  async run(argv) {
    const { values, positionals } = parseFlags(() => parseArgs({ args: argv, allowPositionals: true, options: { ...COMMON_OPTIONS } }));
    noPositionals(positionals);
    return withAdmin(values, async (admin) => {
      const status = await admin.status();
      if (values.json) {
        printJson(status);
        return 0;
      }
      print(`mode:            ${status.mode === 'server' ? 'running server' : 'state directory only (no runtime health; use --server)'}`);
      print(`store:           ${status.store}`);
      print(`workspaces:      ${status.workspaces}`);
      print(`active sessions: ${status.activeSessions}`);
      if (status.cachedTokens !== null) print(`cached tokens:   ${status.cachedTokens}`);
      print('');
      print(table(
        ['WORKSPACE', 'SOURCE', 'STATE', 'CACHED', 'CALLS', 'FAILED', 'LAST SUCCESS', 'LAST ERROR'],
        status.sources.map((s) => [
          s.workspace,
          s.kind,
          s.kind === 'local' ? 'ok (embedded)' : (s.health?.state ?? 'not used yet'),
          String(s.cachedTokens ?? '-'),
          String(s.health?.upstreamCalls ?? '-'),
          String(s.health?.failedCalls ?? '-'),
          s.health?.lastSuccessAt ?? '-',
          s.health?.lastError ?? '-',
        ]),
      ));
      return 0;
    });
  },
};
