/**
 * The admin credential: created at first start in `<home>/admin-token` (mode 0600), read by the
 * CLI on the same machine; other machines pass it as WITS_ADMIN_TOKEN. The service keeps only its
 * hash in memory and compares in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const ADMIN_TOKEN_FILE = 'admin-token';

export function adminTokenPath(home: string): string {
  return join(home, ADMIN_TOKEN_FILE);
}

/** Reads the admin credential, creating it (0600) on first start. */
export function ensureAdminToken(home: string): string {
  const path = adminTokenPath(home);
  const existing = readAdminToken(home);
  if (existing !== undefined) return existing;
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const token = `witsadm.${randomBytes(32).toString('base64url')}`;
  try {
    // 'wx': never overwrite a credential another process created a moment ago.
    writeFileSync(path, token + '\n', { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return readAdminToken(home) as string;
  }
  chmodSync(path, 0o600);
  return token;
}

export function readAdminToken(home: string): string | undefined {
  try {
    const value = readFileSync(adminTokenPath(home), 'utf8').trim();
    return value === '' ? undefined : value;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export class AdminCredential {
  readonly #hash: Buffer;

  constructor(token: string) {
    this.#hash = createHash('sha256').update(token).digest();
  }

  matches(presented: string): boolean {
    const actual = createHash('sha256').update(presented).digest();
    return timingSafeEqual(this.#hash, actual);
  }
}
