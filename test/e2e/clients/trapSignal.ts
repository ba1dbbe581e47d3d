/**
 * Child program for signal forwarding: `node trapSignal.js MARKER_FILE`.
 * Prints `ready` once its SIGTERM handler is installed; on SIGTERM it writes the signal name to
 * MARKER_FILE and exits with code 7. Gives up (exit 9) after 20 s without a signal.
 */
import { writeFileSync } from 'node:fs';

const marker = process.argv[2];
if (marker === undefined) throw new Error('usage: trapSignal.js MARKER_FILE');

process.on('SIGTERM', () => {
  writeFileSync(marker, 'SIGTERM');
  process.exit(7);
});
setTimeout(() => process.exit(9), 20_000);
process.stdout.write('ready\n');
