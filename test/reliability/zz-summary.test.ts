/**
 * Prints the figures the reliability files recorded (test/reliability/support.ts recordFigures),
 * for docs/reliability.md. Runs last in `npm run test:reliability` (files run one at a time, in
 * name order); elsewhere it prints whatever has been recorded so far. It checks that no recorded
 * figure reports lost data or a secret found.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { figuresDir, readAllFigures } from './support.js';

test('reliability figures', (t) => {
  const all = readAllFigures();
  t.diagnostic(`figures in ${figuresDir()}: ${all.length} parts`);
  for (const figures of all) {
    t.diagnostic(JSON.stringify(figures));
    if ('dataLost' in figures) assert.equal(figures.dataLost, 0, `${String(figures.part)}: data lost`);
    const scan = figures.secretScan as { hits?: number } | undefined;
    if (scan !== undefined) assert.equal(scan.hits, 0, `${String(figures.part)}: secrets found`);
  }
});
