import { parseArgs } from 'node:util';
import { withAdmin } from './adminAccess.js';
import { COMMON_HELP, COMMON_OPTIONS, noPositionals, parseDuration, parseFlags, print, printJson, table, UsageError, type Command } from './command.js';

/** `--since` takes a duration back from now (`15m`) or an ISO time. */
function parseSince(text: string): number {
  if (/^\d+[smhd]?$/.test(text.trim())) return Date.now() - parseDuration(text, '--since') * 1000;
  const time = Date.parse(text);
  if (Number.isNaN(time)) throw new UsageError(`--since expects a duration (15m, 2h, 7d) or an ISO time, got ${JSON.stringify(text)}.`);
  return time;
}

export const auditCommand: Command = {
  name: 'audit',
  summary: 'Show who got a token for what, and every refusal',
  help: `Usage: wits audit [--since DUR|TIME] [--workspace W] [--limit N] [--json]

Every issuance and refusal, oldest first: time, protocol, outcome, workspace, session, identity,
audience, error code, token id and expiry. Tokens themselves are never recorded.

Options:
  --since DUR|TIME   only rows after this: a duration back from now (15m, 24h, 7d) or an ISO time
  --workspace W      only this workspace
  --limit N          at most N rows (default 1000)
${COMMON_HELP}`,
  async run(argv) {
    const { values, positionals } = parseFlags(() =>
      parseArgs({
        args: argv,
        allowPositionals: true,
        options: { ...COMMON_OPTIONS, since: { type: 'string' }, workspace: { type: 'string' }, limit: { type: 'string' } },
      }),
    );
    noPositionals(positionals);
    const limit = values.limit === undefined ? undefined : Number(values.limit);
    if (limit !== undefined && !Number.isInteger(limit)) throw new UsageError('--limit expects an integer.');
    return withAdmin(values, async (admin) => {
      const rows = await admin.listAudit({ since: values.since === undefined ? undefined : parseSince(values.since), workspace: values.workspace, limit });
      if (values.json) printJson(rows);
      else {
        print(table(
          ['TIME', 'PROTOCOL', 'OUTCOME', 'WORKSPACE', 'SESSION', 'AUDIENCE', 'CODE', 'TOKEN ID'],
          rows.map((r) => [r.time, r.protocol, r.outcome, r.workspace ?? '-', r.sessionId ?? '-', r.audience ?? '-', r.code ?? '', r.tokenId ?? '']),
        ));
      }
      return 0;
    });
  },
};
