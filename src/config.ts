/**
 * Service configuration: one schema with defaults, validated once at start, then frozen.
 *
 * Sources, later ones win: defaults < `<home>/config.json` (optional) < environment (WITS_*) <
 * command-line flags. Unknown keys in the file are rejected, so a typo cannot silently fall back
 * to a default (the fastify habit).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { WitsError } from './errors.js';
import { LOG_LEVELS, type LogLevel } from './logger.js';

export const SIGNING_ALGS = ['RS256', 'ES256'] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];

export interface WitsConfig {
  /** State directory: database, admin credential. */
  readonly home: string;
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Base URL clients use to reach the service; default `http://<host>:<port>` once listening. */
  readonly publicUrl: string | undefined;
  /** Issuer (`iss`) of locally signed tokens; default: the public URL. */
  readonly issuer: string | undefined;
  readonly signingAlg: SigningAlg;
  readonly tokenLifetimeSeconds: number;
  /** Default and maximum lifetime of sessions. */
  readonly sessionTtlSeconds: number;
  readonly maxSessionTtlSeconds: number;
  readonly logLevel: LogLevel;
  /** `full` fsyncs every commit (survives power loss); `normal` survives process crashes. */
  readonly durability: 'normal' | 'full';
  /** Upper bound of one upstream token call, retries included: then a 503 with Retry-After. */
  readonly upstreamTimeoutSeconds: number;
  /** How long a failing upstream source is left alone (circuit open) before one probe. */
  readonly breakerCooldownSeconds: number;
}

export const DEFAULT_PORT = 8339;

export const DEFAULTS: WitsConfig = Object.freeze({
  home: '.wits',
  host: '127.0.0.1',
  port: DEFAULT_PORT,
  publicUrl: undefined,
  issuer: undefined,
  signingAlg: 'ES256',
  tokenLifetimeSeconds: 3600,
  sessionTtlSeconds: 12 * 3600,
  maxSessionTtlSeconds: 30 * 24 * 3600,
  logLevel: 'info',
  durability: 'normal',
  upstreamTimeoutSeconds: 20,
  breakerCooldownSeconds: 15,
});

type Key = keyof WitsConfig;

/** Environment variable for each key (all optional). */
const ENV: Readonly<Record<Key, string>> = {
  home: 'WITS_HOME',
  host: 'WITS_HOST',
  port: 'WITS_PORT',
  publicUrl: 'WITS_PUBLIC_URL',
  issuer: 'WITS_ISSUER',
  signingAlg: 'WITS_SIGNING_ALG',
  tokenLifetimeSeconds: 'WITS_TOKEN_LIFETIME',
  sessionTtlSeconds: 'WITS_SESSION_TTL',
  maxSessionTtlSeconds: 'WITS_MAX_SESSION_TTL',
  logLevel: 'WITS_LOG_LEVEL',
  durability: 'WITS_DURABILITY',
  upstreamTimeoutSeconds: 'WITS_UPSTREAM_TIMEOUT',
  breakerCooldownSeconds: 'WITS_BREAKER_COOLDOWN',
};

function invalid(key: string, message: string): WitsError {
  return new WitsError('ERR_INVALID_CONFIG', `Invalid configuration '${key}': ${message}`);
}

function integer(key: string, value: unknown, min: number, max: number): number {
  const n = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw invalid(key, `expected an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return n;
}

function oneOf<T extends string>(key: string, value: unknown, choices: readonly T[]): T {
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    throw invalid(key, `expected one of ${choices.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as T;
}

function text(key: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') throw invalid(key, 'expected a non-empty string');
  return value.trim();
}

function baseUrl(key: string, value: unknown): string {
  const raw = text(key, value);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalid(key, `not a URL: ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid(key, 'must be an http(s) URL');
  if (url.search !== '' || url.hash !== '' || url.username !== '') throw invalid(key, 'must not have a query, fragment or user info');
  return raw.replace(/\/+$/, '');
}

const VALIDATORS: Readonly<Record<Key, (key: string, value: unknown) => unknown>> = {
  home: text,
  host: text,
  port: (k, v) => integer(k, v, 0, 65535),
  publicUrl: baseUrl,
  issuer: baseUrl,
  signingAlg: (k, v) => oneOf(k, v, SIGNING_ALGS),
  tokenLifetimeSeconds: (k, v) => integer(k, v, 300, 24 * 3600),
  sessionTtlSeconds: (k, v) => integer(k, v, 60, 366 * 24 * 3600),
  maxSessionTtlSeconds: (k, v) => integer(k, v, 60, 366 * 24 * 3600),
  logLevel: (k, v) => oneOf(k, v, LOG_LEVELS),
  durability: (k, v) => oneOf(k, v, ['normal', 'full'] as const),
  upstreamTimeoutSeconds: (k, v) => integer(k, v, 1, 300),
  breakerCooldownSeconds: (k, v) => integer(k, v, 1, 3600),
};

export type ConfigOverrides = { readonly [K in Key]?: unknown };

export interface LoadConfigOptions {
  /** Values from command-line flags (undefined entries are ignored). */
  readonly flags?: ConfigOverrides;
  readonly env?: NodeJS.ProcessEnv;
  /** Read `<home>/config.json` when present (default true). */
  readonly readFile?: boolean;
}

export function loadConfig(options: LoadConfigOptions = {}): WitsConfig {
  const env = options.env ?? process.env;
  const flags = options.flags ?? {};
  const fromEnv: Record<string, unknown> = {};
  for (const key of Object.keys(ENV) as Key[]) {
    const value = env[ENV[key]];
    if (value !== undefined && value !== '') fromEnv[key] = value;
  }
  const defined = (o: ConfigOverrides): Record<string, unknown> =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  const home = resolve(String(defined(flags).home ?? fromEnv.home ?? DEFAULTS.home));
  const fromFile = options.readFile === false ? {} : readConfigFile(home);
  const merged: Record<string, unknown> = { ...DEFAULTS, ...fromFile, ...fromEnv, ...defined(flags), home };
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(VALIDATORS) as Key[]) {
    const value = merged[key];
    out[key] = value === undefined ? undefined : VALIDATORS[key](key, value);
  }
  const config = out as unknown as WitsConfig;
  if (config.sessionTtlSeconds > config.maxSessionTtlSeconds) {
    throw invalid('sessionTtlSeconds', 'must not exceed maxSessionTtlSeconds');
  }
  return Object.freeze(config);
}

function readConfigFile(home: string): Record<string, unknown> {
  const path = join(home, 'config.json');
  if (!existsSync(path)) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new WitsError('ERR_INVALID_CONFIG', `Cannot read ${path}: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new WitsError('ERR_INVALID_CONFIG', `${path} must hold a JSON object.`);
  }
  for (const key of Object.keys(parsed)) {
    if (!(key in VALIDATORS) || key === 'home') {
      throw new WitsError('ERR_INVALID_CONFIG', `${path}: unknown key '${key}' (known: ${Object.keys(VALIDATORS).filter((k) => k !== 'home').join(', ')}).`);
    }
  }
  return parsed as Record<string, unknown>;
}
