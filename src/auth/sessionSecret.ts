/**
 * Session secrets: `wits.<session id>.<256-bit random, base64url>`.
 *
 * The session id part lets the service find the session without scanning; the random part is the
 * credential. Only SHA-256 of the random part is stored: the value has 256 bits of entropy, so a
 * fast hash is enough (no password stretching needed) and keeps the hot path cheap. Comparison is
 * constant-time. The `wits.` prefix makes leaked secrets easy to find for secret scanners.
 */
import * as crypto from 'node:crypto';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { newId } from '../ids.js';

/**
 * One-shot SHA-256 (crypto.hash, Node >= 20.12) when available: it skips the Hash object that
 * createHash allocates, about half the cost of hashing a 43-character secret on every request.
 */
const oneShotHash = (crypto as { hash?: (alg: string, data: string, encoding: 'buffer') => Buffer }).hash;
const sha256 = oneShotHash === undefined ? (data: string) => createHash('sha256').update(data).digest() : (data: string) => oneShotHash('sha256', data, 'buffer');

const PREFIX = 'wits.';
/** base64url of 16 bytes (id) and 32 bytes (secret). */
const SECRET_SHAPE = /^wits\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

export interface NewSessionSecret {
  readonly sessionId: string;
  /** Shown once to the caller, never stored. */
  readonly secret: string;
  readonly secretHash: string;
}

export function hashSecretPart(part: string): string {
  return createHash('sha256').update(part).digest('hex');
}

export function newSessionSecret(): NewSessionSecret {
  const sessionId = newId();
  const part = randomBytes(32).toString('base64url');
  return { sessionId, secret: `${PREFIX}${sessionId}.${part}`, secretHash: hashSecretPart(part) };
}

export interface ParsedSecret {
  readonly sessionId: string;
  readonly part: string;
}

/** Splits a presented secret; undefined when it does not have the shape of a wits session secret. */
export function parseSessionSecret(presented: string): ParsedSecret | undefined {
  const match = SECRET_SHAPE.exec(presented);
  if (match === null) return undefined;
  return { sessionId: match[1] as string, part: match[2] as string };
}

/** Constant-time check of a presented secret part against the stored hash. */
export function secretMatches(part: string, storedHash: string): boolean {
  const expected = Buffer.from(storedHash, 'hex');
  const actual = sha256(part);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
