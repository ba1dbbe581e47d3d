import { parseArgs } from 'node:util';
import { withAdmin } from './adminAccess.js';
import { COMMON_HELP, COMMON_OPTIONS, noPositionals, parseDuration, parseFlags, parseLabels, print, printJson, requireOne, table, UsageError, type Command } from './command.js';

export const sessionCommand: Command = {
  name: 'session',
  summary: 'Create, list and revoke sessions (workload credentials)',
  help: `Usage:
  wits session create [--workspace W] [--audience A]... [--ttl DUR] [--label k=v]...
  wits session list [--workspace W] [--all]
  wits session revoke ID

A session is a workload's credential for one workspace. Its secret is shown once, at creation;
wits stores only a hash. Revocation takes effect on the next request.

Options:
  --workspace W    workspace (default: default)
  --audience A     narrow the session to these audiences (repeatable; within the workspace policy)
  --ttl DUR        lifetime, e.g. 30m, 12h, 7d (default 12h)
  --label k=v      a label recorded with the session (repeatable)
  --all            include revoked and expired sessions
${COMMON_HELP}`,
  async run(argv) {
    const { values, positionals } = parseFlags(() =>
      parseArgs({
        args: argv,
        allowPositionals: true,
        options: {
          ...COMMON_OPTIONS,
          workspace: { type: 'string' },
          audience: { type: 'string', multiple: true },
          ttl: { type: 'string' },
          label: { type: 'string', multiple: true },
          all: { type: 'boolean' },
        },
      }),
    );
    const [action, ...rest] = positionals;
    return withAdmin(values, async (admin) => {
      switch (action) {
        case 'create': {
          noPositionals(rest);
          const created = await admin.createSession({
            workspace: values.workspace ?? 'default',
            audiences: values.audience,
            ttlSeconds: values.ttl === undefined ? undefined : parseDuration(values.ttl, '--ttl'),
            labels: parseLabels(values.label),
          });
          if (values.json) printJson(created);
          else {
            print(`session ${created.id} (workspace ${created.workspace}, expires ${created.expiresAt})`);
            print(`secret (shown once): ${created.secret}`);
          }
          return 0;
        }
        case 'list': {
          noPositionals(rest);
          const sessions = await admin.listSessions({ workspace: values.workspace, all: values.all });
          if (values.json) printJson(sessions);
          else {
            print(table(
              ['ID', 'WORKSPACE', 'STATUS', 'EXPIRES', 'AUDIENCES', 'LABELS'],
              sessions.map((s) => [
                s.id,
                s.workspace,
                s.status,
                s.expiresAt,
                s.audiences === null ? 'workspace policy' : s.audiences.join(','),
                Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).join(','),
              ]),
            ));
          }
          return 0;
        }
        case 'revoke': {
          const session = await admin.revokeSession(requireOne(rest, 'session id'));
          if (values.json) printJson(session);
          else print(`revoked session ${session.id}`);
          return 0;
        }
        default:
          throw new UsageError(action === undefined ? 'Missing action: create, list or revoke.' : `Unknown action '${action}': create, list or revoke.`);
      }
    });
  },
};
