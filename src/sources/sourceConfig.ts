/**
 * Validation of a workspace's token source config, run when it is set (workspace create/update),
 * so a bad config never reaches the hot path. Options name where credentials live (a file or an
 * environment variable), never the credential itself; unknown options are rejected.
 */
import { existsSync } from 'node:fs';
import { WitsError } from '../errors.js';
import { isGuid } from '../ids.js';
import type { SourceConfig } from '../store/store.js';
import { loadCertificate } from './entraCertificateSource.js';
import { readMaterial } from './secretMaterial.js';

export const SOURCE_KINDS = ['local', 'managed-identity', 'entra-federated', 'entra-certificate', 'entra-secret'] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];

const ALLOWED_OPTIONS: Readonly<Record<SourceKind, readonly string[]>> = {
  local: [],
  'managed-identity': ['clientId', 'resourceId', 'objectId'],
  'entra-federated': ['tenantId', 'clientId', 'authority', 'subject', 'assertionFile'],
  'entra-certificate': ['tenantId', 'clientId', 'authority', 'certificateFile', 'certificateEnv'],
  'entra-secret': ['tenantId', 'clientId', 'authority', 'secretFile', 'secretEnv'],
};

function bad(kind: string, message: string): WitsError {
  return new WitsError('ERR_INVALID_ARGUMENT', `Invalid '${kind}' source: ${message}`);
}

function optionalString(kind: string, options: Record<string, unknown>, key: string): string | undefined {
  const v = options[key];
  if (v === undefined || v === null) return undefined;
  // eslint-disable-next-line no-control-regex
  if (typeof v !== 'string' || v.trim() === '' || v.length > 1024 || /[\u0000-\u001f]/.test(v)) {
    throw bad(kind, `'${key}' must be a non-empty single-line string.`);
  }
  return v.trim();
}

function guid(kind: string, options: Record<string, unknown>, key: string, required: boolean): string | undefined {
  const v = optionalString(kind, options, key);
  if (v === undefined) {
    if (required) throw bad(kind, `'${key}' is required (--${key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}).`);
    return undefined;
  }
  if (!isGuid(v)) throw bad(kind, `'${key}' must be a GUID.`);
  return v.toLowerCase();
}

function authority(kind: string, options: Record<string, unknown>): string | undefined {
  const v = optionalString(kind, options, 'authority');
  if (v === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw bad(kind, "'authority' must be a URL such as https://login.microsoftonline.com.");
  }
  // MSAL, like the Azure SDKs, refuses plain-http authorities (protocols.md section 1).
  if (url.protocol !== 'https:' || url.search !== '' || url.hash !== '' || url.username !== '') {
    throw bad(kind, "'authority' must be an https URL without query, fragment or user info.");
  }
  return v.replace(/\/+$/, '');
}

function exactlyOne(kind: string, options: Record<string, unknown>, fileKey: string, envKey: string): { file?: string; env?: string } {
  const file = optionalString(kind, options, fileKey);
  const env = optionalString(kind, options, envKey);
  if ((file === undefined) === (env === undefined)) throw bad(kind, `give exactly one of '${fileKey}' and '${envKey}'.`);
  return file !== undefined ? { file } : { env: env as string };
}

/** Returns the normalised config; throws ERR_INVALID_ARGUMENT with a clear message otherwise. */
export function validateSourceConfig(config: SourceConfig): SourceConfig {
  const kind = config.kind as SourceKind;
  if (!(SOURCE_KINDS as readonly string[]).includes(kind)) {
    throw new WitsError('ERR_INVALID_ARGUMENT', `Unknown token source '${config.kind}' (known: ${SOURCE_KINDS.join(', ')}).`);
  }
  const options = { ...config.options } as Record<string, unknown>;
  const unknown = Object.keys(options).filter((k) => !ALLOWED_OPTIONS[kind].includes(k));
  if (unknown.length > 0) {
    throw bad(kind, `unknown option(s) ${unknown.join(', ')} (allowed: ${ALLOWED_OPTIONS[kind].join(', ') || 'none'}).`);
  }
  const out: Record<string, string> = {};
  const put = (key: string, value: string | undefined) => {
    if (value !== undefined) out[key] = value;
  };
  switch (kind) {
    case 'local':
      break;
    case 'managed-identity': {
      put('clientId', guid(kind, options, 'clientId', false));
      put('objectId', guid(kind, options, 'objectId', false));
      put('resourceId', optionalString(kind, options, 'resourceId'));
      if (Object.keys(out).length > 1) throw bad(kind, 'give at most one of clientId, objectId and resourceId.');
      break;
    }
    case 'entra-federated': {
      put('tenantId', guid(kind, options, 'tenantId', true));
      put('clientId', guid(kind, options, 'clientId', true));
      put('authority', authority(kind, options));
      put('subject', optionalString(kind, options, 'subject'));
      const file = optionalString(kind, options, 'assertionFile');
      if (file !== undefined && !existsSync(file)) throw bad(kind, `the assertion file ${file} does not exist.`);
      put('assertionFile', file);
      break;
    }
    case 'entra-certificate': {
      put('tenantId', guid(kind, options, 'tenantId', true));
      put('clientId', guid(kind, options, 'clientId', true));
      put('authority', authority(kind, options));
      const where = exactlyOne(kind, options, 'certificateFile', 'certificateEnv');
      loadCertificate(readMaterial(where, 'certificate', 'ERR_INVALID_ARGUMENT'), 'ERR_INVALID_ARGUMENT');
      put('certificateFile', where.file);
      put('certificateEnv', where.env);
      break;
    }
    case 'entra-secret': {
      put('tenantId', guid(kind, options, 'tenantId', true));
      put('clientId', guid(kind, options, 'clientId', true));
      put('authority', authority(kind, options));
      const where = exactlyOne(kind, options, 'secretFile', 'secretEnv');
      readMaterial(where, 'client secret', 'ERR_INVALID_ARGUMENT');
      put('secretFile', where.file);
      put('secretEnv', where.env);
      break;
    }
  }
  return { kind, options: out };
}
