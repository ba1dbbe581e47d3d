/**
 * How admin commands reach the data: a running server's admin API when `--server`/WITS_URL is
 * given, else the state directory directly (SQLite allows the CLI and a running server to share it;
 * the server reads sessions per request, so revocations take effect at once either way).
 */
import type { AdminOps } from '../admin/adminOps.js';
import { openAdmin } from '../app.js';
import { readAdminToken } from '../auth/adminCredential.js';
import { loadConfig } from '../config.js';
import { RemoteAdmin } from './remoteAdmin.js';
import { UsageError } from './command.js';

export interface AccessFlags {
  readonly home?: string | undefined;
  readonly server?: string | undefined;
}

export function serverUrlOf(flags: AccessFlags): string | undefined {
  const url = flags.server ?? process.env.WITS_URL;
  return url === undefined || url === '' ? undefined : url.replace(/\/+$/, '');
}

export function remoteAdmin(url: string, home: string): RemoteAdmin {
  const token = process.env.WITS_ADMIN_TOKEN || readAdminToken(home);
  if (token === undefined) {
    throw new UsageError(`No admin credential for ${url}: set WITS_ADMIN_TOKEN or pass --home with the server's state directory.`);
  }
  return new RemoteAdmin(url, token);
}

export async function withAdmin<T>(flags: AccessFlags, work: (admin: AdminOps) => Promise<T>): Promise<T> {
  const config = loadConfig({ flags: { home: flags.home } });
  const url = serverUrlOf(flags);
  if (url !== undefined) return work(remoteAdmin(url, config.home));
  const { store, admin } = await openAdmin(config);
  try {
    return await work(admin);
  } finally {
    await store.close();
  }
}
