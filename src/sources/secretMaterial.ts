/**
 * Reads a credential (client secret, certificate PEM) from the file or environment variable the
 * workspace config names. The value itself is never stored in the database and never logged; errors
 * name where it was looked for, not what was found.
 */
import { readFileSync } from 'node:fs';
import { WitsError } from '../errors.js';

export interface MaterialLocation {
  readonly file?: string | undefined;
  readonly env?: string | undefined;
}

export function readMaterial(location: MaterialLocation, what: string, code: 'ERR_INVALID_ARGUMENT' | 'ERR_UPSTREAM_REJECTED' = 'ERR_UPSTREAM_REJECTED'): string {
  if (location.file !== undefined) {
    try {
      const value = readFileSync(location.file, 'utf8').trim();
      if (value !== '') return value;
    } catch (err) {
      throw new WitsError(code, `Cannot read the ${what} file ${location.file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}.`);
    }
    throw new WitsError(code, `The ${what} file ${location.file} is empty.`);
  }
  if (location.env !== undefined) {
    const value = process.env[location.env];
    if (value !== undefined && value.trim() !== '') return value.trim();
    throw new WitsError(code, `The environment variable ${location.env} (${what}) is not set in the wits process.`);
  }
  throw new WitsError('ERR_INVALID_ARGUMENT', `Name a file or an environment variable for the ${what}.`);
}
