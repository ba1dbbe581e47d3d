import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { adminTokenPath } from '../auth/adminCredential.js';
import { startServer } from '../server.js';
import { noPositionals, parseFlags, print, printJson, type Command } from './command.js';

/**
 * The log's stderr writer for `wits serve`: the lines of one event-loop turn go out in one write at
 * the end of the turn. At the default level the access log writes a line per request, and a
 * write(2) per line to a pipe cost about a fifth of the cache-hit throughput (docs/benchmarks.md).
 * Whatever is pending is written synchronously on exit; a kill -9 can lose the current turn's lines.
 */
export function turnBufferedStderr(): (line: string) => void {
  let pending = '';
  const flush = (): void => {
    if (pending === '') return;
    const text = pending;
    pending = '';
    process.stderr.write(text);
  };
  process.once('exit', flush);
  return (line) => {
    if (pending === '') setImmediate(flush);
    pending += line;
  };
}

export const serveCommand: Command = {
  name: 'serve',
  summary: 'Run the wits service',
  help: `Usage: wits serve [--host 127.0.0.1] [--port 8339] [--home DIR] [options]

Runs the service on its embedded defaults: SQLite state in --home, the local issuer signing tokens,
a workspace 'default' with a system-assigned identity, an admin credential in <home>/admin-token.

Options:
  --host HOST           interface to listen on (env WITS_HOST, default 127.0.0.1)
  --port PORT           port, 0 for a free one (env WITS_PORT, default 8339)
  --home DIR            state directory (env WITS_HOME, default ./.wits)
  --public-url URL      URL clients use to reach the service (default http://HOST:PORT)
  --issuer URL          'iss' of signed tokens (env WITS_ISSUER, default the public URL)
  --signing-alg ALG     access-token signing: ES256 (default) or RS256
  --token-lifetime SEC  lifetime of signed tokens in seconds (default 3600)
  --log-level LEVEL     debug, info (default), warn, error, silent
  --json                print the start-up facts as one JSON line
  -h, --help            show this help

Configuration may also live in <home>/config.json (keys: host, port, publicUrl, issuer, signingAlg,
tokenLifetimeSeconds, sessionTtlSeconds, maxSessionTtlSeconds, logLevel, durability).`,
  async run(argv) {
    const { values, positionals } = parseFlags(() =>
      parseArgs({
        args: argv,
        allowPositionals: true,
        options: {
          host: { type: 'string' },
          port: { type: 'string' },
          home: { type: 'string' },
          'public-url': { type: 'string' },
          issuer: { type: 'string' },
          'signing-alg': { type: 'string' },
          'token-lifetime': { type: 'string' },
          'log-level': { type: 'string' },
          json: { type: 'boolean' },
        },
      }),
    );
    noPositionals(positionals);
    const config = loadConfig({
      flags: {
        host: values.host,
        port: values.port,
        home: values.home,
        publicUrl: values['public-url'],
        issuer: values.issuer,
        signingAlg: values['signing-alg'],
        tokenLifetimeSeconds: values['token-lifetime'],
        logLevel: values['log-level'],
      },
    });
    const logger = createLogger(config.logLevel, turnBufferedStderr());
    const server = await startServer(config, logger);
    const facts = {
      url: server.url,
      issuer: server.app.issuer.issuer,
      home: config.home,
      adminTokenFile: adminTokenPath(config.home),
      appServiceEndpoint: `${server.url}/msi/token`,
    };
    if (values.json) printJson(facts);
    else {
      print(`wits listening on ${server.url}`);
      print(`  issuer:           ${facts.issuer}`);
      print(`  state directory:  ${facts.home}`);
      print(`  admin credential: ${facts.adminTokenFile}`);
    }
    logger.info('wits started', { url: server.url, store: server.app.store.description });
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        logger.info('stopping', { signal });
        resolve();
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
    });
    await server.close();
    return 0;
  },
};
