/**
 * The admin credential: created at first start in `<home>/admin-token` (mode 0600), read by the
 * CLI on the same machine; other machines pass it as WITS_ADMIN_TOKEN. The service keeps only its
 * hash in memory and compares in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WitsError } from '../errors.js';

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
    return awaitOtherWriter(path, home);
  }
  chmodSync(path, 0o600);
  return token;
}

/**
 * The process that created the file may not have written the value yet ('wx' creates, then
 * writes): wait briefly rather than return an empty credential (which made the server fail with an
 * obscure TypeError). A file that stays empty is reported clearly.
 */
function awaitOtherWriter(path: string, home: string): string {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let attempt = 0; attempt < 100; attempt++) {
    const winner = readAdminToken(home);
    if (winner !== undefined) return winner;
    Atomics.wait(pause, 0, 0, 20);
  }
  throw new WitsError('ERR_INVALID_CONFIG', `The admin credential file ${path} is empty; delete it so that wits creates a new one.`);
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
