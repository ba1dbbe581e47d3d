/**
 * Caller authentication: a presented session secret -> the active session it belongs to.
 *
 * Every failure before the secret is verified gives the same ERR_UNAUTHENTICATED, so the answer
 * reveals nothing about which session ids exist. Revocation and expiry are read from the store on
 * every request, so they take effect on the very next request, in every process sharing the store.
 */
import { WitsError } from '../errors.js';
import type { SessionRecord, Store } from '../store/store.js';
import { parseSessionSecret, secretMatches } from './sessionSecret.js';

export class SessionAuthenticator {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  async authenticate(presented: string | undefined, now = Date.now()): Promise<SessionRecord> {
    if (presented === undefined || presented === '') {
      throw new WitsError('ERR_UNAUTHENTICATED', 'Missing session secret (X-IDENTITY-HEADER, or Authorization: Bearer for /v1/token). Run the workload under `wits exec`.');
    }
    const parsed = parseSessionSecret(presented);
    const session = parsed === undefined ? undefined : await this.#store.getSession(parsed.sessionId);
    if (parsed === undefined || session === undefined || !secretMatches(parsed.part, session.secretHash)) {
      throw new WitsError('ERR_UNAUTHENTICATED', 'Invalid session secret.');
    }
    if (session.revokedAt !== null) throw new WitsError('ERR_SESSION_REVOKED', `Session ${session.id} has been revoked.`);
    if (session.expiresAt <= now) throw new WitsError('ERR_SESSION_EXPIRED', `Session ${session.id} has expired.`);
    return session;
  }
}
