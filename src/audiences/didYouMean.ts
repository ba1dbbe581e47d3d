/**
 * "Did you mean ...?" for mistyped aliases.
 *
 * Distance is Damerau-Levenshtein in its optimal-string-alignment form (insert, delete, substitute,
 * swap two adjacent letters, each costing 1), on lower-cased strings, so `stroage` is one edit from
 * `storage` and `Vualt` one edit from `Vault`. A suggestion is made only when the distance is at most
 * max(1, floor(length / 4)) capped at 3: close enough to be the same word, far enough to catch
 * real typos. Work is bounded (inputs over 64 characters get no suggestion) because this runs on
 * every rejected request.
 */

import { findAlias } from './registry.js';

/** Inputs longer than this are not compared at all (no alias is anywhere near that long). */
const MAX_INPUT_LENGTH = 64;
const MAX_DISTANCE = 3;

/** The largest distance accepted as a typo of an input of `length` characters. */
function allowedDistance(length: number): number {
  return Math.min(MAX_DISTANCE, Math.max(1, Math.floor(length / 4)));
}

// Three reusable rows (two back for the transposition step); sized for the longest compared string.
const ROW_SIZE = MAX_INPUT_LENGTH + 2;
let rowBeforePrevious = new Uint8Array(ROW_SIZE);
let previousRow = new Uint8Array(ROW_SIZE);
let currentRow = new Uint8Array(ROW_SIZE);

/**
 * Optimal-string-alignment distance between `a` and `b` (both at most 64 characters), or a number
 * above `limit` as soon as it is certain the distance exceeds `limit`.
 */
function osaDistance(a: string, b: string, limit: number): number {
  const n = a.length;
  const m = b.length;
  if (Math.abs(n - m) > limit) return limit + 1;
  for (let j = 0; j <= m; j++) previousRow[j] = j;
  for (let i = 1; i <= n; i++) {
    currentRow[0] = i;
    let rowMinimum = i;
    const ac = a.charCodeAt(i - 1);
    for (let j = 1; j <= m; j++) {
      const bc = b.charCodeAt(j - 1);
      const cost = ac === bc ? 0 : 1;
      let best = Math.min(
        (previousRow[j] ?? 0) + 1, // deletion
        (currentRow[j - 1] ?? 0) + 1, // insertion
        (previousRow[j - 1] ?? 0) + cost, // substitution
      );
      if (i > 1 && j > 1 && ac === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === bc) {
        best = Math.min(best, (rowBeforePrevious[j - 2] ?? 0) + 1); // adjacent transposition
      }
      currentRow[j] = best;
      if (best < rowMinimum) rowMinimum = best;
    }
    // Every later row is at least this row's minimum: stop once the limit is out of reach.
    if (rowMinimum > limit) return limit + 1;
    const recycled = rowBeforePrevious;
    rowBeforePrevious = previousRow;
    previousRow = currentRow;
    currentRow = recycled;
  }
  return previousRow[m] ?? limit + 1;
}

/**
 * The name in `names` closest to `input`, if it is close enough to be a typo, else undefined.
 * When the match is an alias synonym, the alias' canonical name is returned (suggest `CognitiveServices`,
 * not `AzureOpenAI`); a name that is not in the alias table is returned as is. On a tie the earlier
 * name in `names` wins.
 */
export function closestName(input: string, names: readonly string[]): string | undefined {
  if (input.length === 0 || input.length > MAX_INPUT_LENGTH) return undefined;
  // Lower-casing can lengthen a string (U+0130 becomes two code units): re-check the bound after.
  const needle = input.toLowerCase();
  if (needle.length > MAX_INPUT_LENGTH) return undefined;
  let bestDistance = allowedDistance(input.length);
  let bestName: string | undefined;
  for (const name of names) {
    const candidate = name.toLowerCase();
    if (candidate.length === 0 || candidate.length > MAX_INPUT_LENGTH) continue;
    const distance = osaDistance(needle, candidate, bestDistance);
    if (distance < bestDistance || (distance === bestDistance && bestName === undefined)) {
      bestDistance = distance;
      bestName = name;
      if (distance === 0) break;
    }
  }
  if (bestName === undefined) return undefined;
  return findAlias(bestName)?.name ?? bestName;
}
