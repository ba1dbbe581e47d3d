/** Random identifiers. All come from the CSPRNG (node:crypto). */
import { randomBytes, randomUUID } from 'node:crypto';

export function newGuid(): string {
  return randomUUID();
}

/** A 128-bit random id, base64url (22 chars): session ids. */
export function newId(): string {
  return randomBytes(16).toString('base64url');
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isGuid(value: string): boolean {
  return GUID.test(value);
}
