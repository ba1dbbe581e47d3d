#!/usr/bin/env node
/**
 * The `wits` command line: dispatches to one file per command. Errors are one clear line on
 * stderr and a non-zero exit (2 for usage mistakes, 1 otherwise).
 */
import { readFileSync } from 'node:fs';
import { auditCommand } from './audit.js';
import { audiencesCommand } from './audiences.js';
import { UsageError, type Command } from './command.js';
import { execCommand } from './exec.js';
import { identityCommand } from './identity.js';
import { issuerCommand } from './issuer.js';
import { statusCommand } from './status.js';
import { serveCommand } from './serve.js';
import { sessionCommand } from './session.js';
import { tokenCommand } from './token.js';
import { workspaceCommand } from './workspace.js';
import { WitsError } from '../errors.js';

const COMMANDS: readonly Command[] = [
  serveCommand,
  execCommand,
  tokenCommand,
  audiencesCommand,
  workspaceCommand,
  identityCommand,
  sessionCommand,
  auditCommand,
  statusCommand,
  issuerCommand,
];

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `wits ${version()}: workspace identity token service

Secretless OAuth tokens for notebooks, Spark and jobs, over the standard managed-identity
protocols, so DefaultAzureCredential and the Azure SDKs work unmodified.

Usage: wits <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Quick start:
  wits serve                                   run the service on its embedded defaults
  wits exec -- python notebook_job.py          run a workload with a managed identity
  wits exec -- wits token CognitiveServices    print a token for Azure OpenAI

Run 'wits <command> --help' for a command's options.`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    process.stdout.write((topic?.help ?? mainHelp()) + '\n');
    return 0;
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    process.stdout.write(version() + '\n');
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    process.stderr.write(`wits: unknown command '${name}'. Run 'wits --help' for the list.\n`);
    return 2;
  }
  // --help anywhere before `--` (after it, the flags belong to the child of `wits exec`).
  const end = rest.indexOf('--');
  const own = end === -1 ? rest : rest.slice(0, end);
  if (own.includes('--help') || own.includes('-h')) {
    process.stdout.write(command.help + '\n');
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`wits ${command.name}: ${err.message} Run 'wits ${command.name} --help'.\n`);
      return 2;
    }
    if (err instanceof WitsError) {
      // `exposable` guards HTTP answers; on the local command line the full message is the user's.
      process.stderr.write(`wits ${command.name}: ${err.message} (${err.code})\n`);
      return 1;
    }
    process.stderr.write(`wits ${command.name}: ${(err as Error).message ?? String(err)}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
