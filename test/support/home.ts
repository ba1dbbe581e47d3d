/** Temporary state directories for tests: one per server or store, removed in after() hooks. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh, empty directory under the OS temp dir. */
export function makeTempDir(prefix = 'wits-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Removes a directory made by makeTempDir; never throws (cleanup must not hide a test failure). */
export function removeTempDir(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  } catch {
    // best effort
  }
}
