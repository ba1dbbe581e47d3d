/** The shape of a CLI command and the shared helpers for flags, help and output. */
import type { ParseArgsConfig } from 'node:util';
import { WitsError } from '../errors.js';

export type Options = NonNullable<ParseArgsConfig['options']>;

export interface Command {
  readonly name: string;
  readonly summary: string;
  /** Usage lines and option descriptions, shown by `--help`. */
  readonly help: string;
  run(argv: string[]): Promise<number>;
}

/** A mistake in how a command was called: printed with a pointer to --help, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const COMMON_OPTIONS = {
  home: { type: 'string' },
  server: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options;

export const COMMON_HELP = `Common options:
  --home DIR       state directory (env WITS_HOME, default ./.wits)
  --server URL     talk to a running wits server (env WITS_URL) instead of the state directory;
                   its admin credential comes from WITS_ADMIN_TOKEN or <home>/admin-token
  --json           machine-readable output
  -h, --help       show this help`;

/** Runs node's parseArgs, turning its errors into UsageErrors. */
export function parseFlags<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify a positional argument.*$/s, '.'));
  }
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** `90`, `90s`, `15m`, `12h`, `7d` -> seconds. */
export function parseDuration(text: string, flag: string): number {
  const match = /^(\d{1,9})([smhd]?)$/.exec(text.trim());
  if (match === null) throw new UsageError(`${flag} expects a duration such as 90s, 15m, 12h or 7d, got ${JSON.stringify(text)}.`);
  return Number(match[1]) * (UNITS[match[2] || 's'] as number);
}

/** `key=value` labels. */
export function parseLabels(values: readonly string[] | undefined): Record<string, string> | undefined {
  if (values === undefined || values.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const entry of values) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new UsageError(`--label expects key=value, got ${JSON.stringify(entry)}.`);
    out[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return out;
}

export function print(value: string): void {
  process.stdout.write(value.endsWith('\n') ? value : value + '\n');
}

export function printJson(value: unknown): void {
  print(JSON.stringify(value, null, 2));
}

/** A fixed-width table for humans; `--json` is the format for scripts. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i] as number)).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export function requireOne(positionals: string[], what: string): string {
  if (positionals.length !== 1) throw new UsageError(`Expected exactly one ${what}.`);
  return positionals[0] as string;
}

export function noPositionals(positionals: string[]): void {
  if (positionals.length > 0) throw new UsageError(`Unexpected argument ${JSON.stringify(positionals[0])}.`);
}

export function isWitsError(err: unknown): err is WitsError {
  return err instanceof WitsError;
}
