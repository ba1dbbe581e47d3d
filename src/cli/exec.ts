import { spawn } from 'node:child_process';
import { userInfo } from 'node:os';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { constants } from 'node:os';
import type { AdminOps, CreatedSession } from '../admin/adminOps.js';
import { loadConfig } from '../config.js';
import { createLogger, type Logger } from '../logger.js';
import { startImdsEndpoint, type ImdsEndpoint } from '../protocols/imds.js';
import { APP_SERVICE_PATH } from '../protocols/appService.js';
import { startServer, type RunningServer } from '../server.js';
import { remoteAdmin, serverUrlOf } from './adminAccess.js';
import { parseDuration, parseFlags, parseLabels, UsageError, type Command } from './command.js';

/**
 * Variables that make official clients pick another managed-identity source (protocols.md
 * section 1). A workload under `wits exec` must see only the endpoint wits gives it.
 */
const COMPETING_VARIABLES = [
  // Workload identity (order 0) beats every managed-identity source, even with AZURE_CLIENT_ID kept.
  'AZURE_FEDERATED_TOKEN_FILE',
  'IDENTITY_ENDPOINT',
  'IDENTITY_HEADER',
  'IDENTITY_SERVER_THUMBPRINT',
  'IMDS_ENDPOINT',
  'MSI_ENDPOINT',
  'MSI_SECRET',
  'AZURE_POD_IDENTITY_AUTHORITY_HOST',
  'WITS_ADMIN_TOKEN',
] as const;

/**
 * Service-principal credentials in the environment: `DefaultAzureCredential` tries them first
 * (EnvironmentCredential), so a leftover secret would silently win over wits. The point of wits is
 * a workload without secrets: they are removed, with a notice naming them (never their values).
 */
const SECRET_VARIABLES = ['AZURE_CLIENT_SECRET', 'AZURE_CLIENT_CERTIFICATE_PATH', 'AZURE_CLIENT_CERTIFICATE_PASSWORD', 'AZURE_USERNAME', 'AZURE_PASSWORD'] as const;

const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

export const execCommand: Command = {
  name: 'exec',
  summary: 'Run a command with a wits session wired up',
  help: `Usage: wits exec [options] -- COMMAND [ARGS...]

Creates a session, runs COMMAND with a managed-identity endpoint for it, forwards signals, revokes
the session when COMMAND exits and exits with COMMAND's code. Official Azure SDKs
(DefaultAzureCredential, ManagedIdentityCredential, MSAL) and the wits SDK work unmodified inside.

By default COMMAND gets IDENTITY_ENDPOINT and IDENTITY_HEADER (App Service protocol). With --imds it
gets AZURE_POD_IDENTITY_AUTHORITY_HOST pointing at an IMDS endpoint on loopback bound to the session.

With --server URL (or WITS_URL) a running wits server is used; otherwise one is started in this
process on a free loopback port with its state in --home. It works in a fresh directory, no setup.

Options:
  --workspace NAME   workspace (default: default)
  --audience A       narrow the session to these audiences (repeatable)
  --ttl DUR          session lifetime, e.g. 30m, 12h (default 12h)
  --imds             serve the IMDS protocol instead of App Service
  --label k=v        a label recorded with the session (repeatable; user and command are added)
  --home DIR         state directory for the in-process server (env WITS_HOME, default ./.wits)
  --server URL       use a running wits server (env WITS_URL)
  --log-level LEVEL  log level of the in-process server (default warn)
  -h, --help         show this help`,
  async run(argv) {
    const { values, positionals } = parseFlags(() =>
      parseArgs({
        args: argv,
        allowPositionals: true,
        options: {
          workspace: { type: 'string' },
          audience: { type: 'string', multiple: true },
          ttl: { type: 'string' },
          imds: { type: 'boolean' },
          label: { type: 'string', multiple: true },
          home: { type: 'string' },
          server: { type: 'string' },
          'log-level': { type: 'string' },
        },
      }),
    );
    const [command, ...args] = positionals;
    if (command === undefined) throw new UsageError('Missing the command to run: wits exec [options] -- COMMAND [ARGS...]');
    const config = loadConfig({ flags: { home: values.home, host: '127.0.0.1', port: 0, logLevel: values['log-level'] ?? 'warn' } });
    const logger = createLogger(config.logLevel);
    const ttlSeconds = values.ttl === undefined ? undefined : parseDuration(values.ttl, '--ttl');
    const labels = { user: safeUser(), command: basename(command).slice(0, 256), ...parseLabels(values.label) };

    const remoteUrl = serverUrlOf(values);
    let server: RunningServer | undefined;
    let admin: AdminOps;
    let serverUrl: string;
    if (remoteUrl !== undefined) {
      admin = remoteAdmin(remoteUrl, config.home);
      serverUrl = remoteUrl;
    } else {
      server = await startServer(config, logger);
      admin = server.app.admin;
      serverUrl = server.url;
    }

    let session: CreatedSession | undefined;
    let imds: ImdsEndpoint | undefined;
    const cleanUp = async (): Promise<void> => {
      if (session !== undefined) {
        await admin.revokeSession(session.id).catch((err: unknown) => logger.warn('could not revoke the session', { session: session?.id, reason: (err as Error).message }));
      }
      await imds?.close();
      await server?.close();
    };
    try {
      session = await admin.createSession({ workspace: values.workspace ?? 'default', audiences: values.audience, ttlSeconds, labels });
      const env: NodeJS.ProcessEnv = { ...process.env };
      for (const name of COMPETING_VARIABLES) delete env[name];
      const removed = SECRET_VARIABLES.filter((name) => env[name] !== undefined);
      for (const name of removed) delete env[name];
      if (removed.length > 0) process.stderr.write(`wits exec: removed ${removed.join(', ')} from the command's environment: wits provides its identity.\n`);
      if (values.imds) {
        imds = await startImdsEndpoint({ serverUrl, secret: session.secret, logger });
        env.AZURE_POD_IDENTITY_AUTHORITY_HOST = imds.url;
      } else {
        env.IDENTITY_ENDPOINT = serverUrl + APP_SERVICE_PATH;
        env.IDENTITY_HEADER = session.secret;
      }
      logger.info('session created for command', { session: session.id, workspace: session.workspace, mode: values.imds ? 'imds' : 'appservice' });
      const code = await runChild(command, args, env, logger);
      await cleanUp();
      return code;
    } catch (err) {
      await cleanUp();
      throw err;
    }
  },
};

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

/** Runs the child with inherited stdio; resolves with its exit code (128 + signal number if killed). */
function runChild(command: string, args: string[], env: NodeJS.ProcessEnv, logger: Logger): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: 'inherit', env });
    const forward = (signal: NodeJS.Signals) => {
      child.kill(signal);
    };
    for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
    const detach = () => {
      for (const signal of FORWARDED_SIGNALS) process.off(signal, forward);
    };
    child.once('error', (err: NodeJS.ErrnoException) => {
      detach();
      if (err.code === 'ENOENT') reject(new UsageError(`Command not found: ${command}`));
      else reject(err);
    });
    child.once('exit', (code, signal) => {
      detach();
      if (signal !== null) {
        logger.info('command ended by signal', { signal });
        resolve(128 + (constants.signals[signal] ?? 0));
      } else resolve(code ?? 1);
    });
  });
}
